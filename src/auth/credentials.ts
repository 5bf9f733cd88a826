import { readFileSync } from 'node:fs';
import { AppError } from '../errors.js';

/**
 * Username and password rules from API.md. Usernames are compared after NFKC
 * and lower-casing, so look-alike and case variants are one name. Passwords
 * are NFKC-normalized too (so the same password typed on another keyboard
 * matches), counted in characters, never truncated, with no composition
 * rules; common passwords are refused.
 */

const USERNAME = /^[\p{L}\p{N}._-]{3,64}$/u;

export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

export function checkUsername(username: string): void {
  if (!USERNAME.test(username) || !USERNAME.test(normalizeUsername(username))) {
    throw new AppError('invalid_request', {
      description: 'username must be 3 to 64 characters of letters, digits, ".", "_" or "-"',
      reason: 'bad username format',
    });
  }
}

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
  if (username !== undefined && lower === normalizeUsername(username)) {
    throw new AppError('weak_password', { description: 'password must not be the username', reason: 'equals username' });
  }
  return normalized;
}
