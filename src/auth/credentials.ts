import { readFileSync } from 'node:fs';
import { AppError } from '../errors.js';
import { normalizeUsername } from './usernames.js';

/**
 * Password rules from API.md (usernames: see usernames.ts). Passwords are
 * NFKC-normalized (so the same password typed on another keyboard matches),
 * counted in characters, never truncated, with no composition rules; common
 * passwords are refused.
 */

const COMMON: ReadonlySet<string> = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#')),
);

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Throws weak_password (policy) or invalid_request (format); returns the normalized password. */
export function checkPassword(password: string, policy: PasswordPolicy, username?: string): string {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length > policy.maxLength) {
    throw new AppError('invalid_request', { description: `password must be at most ${policy.maxLength} characters`, reason: 'password too long' });
  }
  if (length < policy.minLength) {
    throw new AppError('weak_password', { description: `password must be at least ${policy.minLength} characters`, reason: 'too short' });
  }
  const lower = normalized.toLowerCase();
  if (COMMON.has(lower)) {
    throw new AppError('weak_password', { description: 'password is too common', reason: 'common password' });
  }
  if (username !== undefined && normalizeUsername(normalized) === normalizeUsername(username)) {
    throw new AppError('weak_password', { description: 'password must not be the username', reason: 'equals username' });
  }
  return normalized;
}
