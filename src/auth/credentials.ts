import { AppError } from '../errors.js';
import { findWeakness, type Weakness } from './password-strength.js';
import { normalizeUsername } from './usernames.js';

/**
 * Password rules from API.md (usernames: see usernames.ts). Passwords are
 * NFKC-normalized (so the same password typed on another keyboard matches),
 * counted in characters, never truncated, with no composition rules; common,
 * repetitive and sequential passwords, keyboard patterns, dictionary words
 * and context words (the username, the service name) are refused
 * (password-strength.ts), each with its own description.
 */

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
  if (username !== undefined && normalizeUsername(normalized) === normalizeUsername(username)) {
    throw new AppError('weak_password', { description: 'password is built from the username', reason: 'username' });
  }
  // No separate blocklist: the estimator's dictionaries hold the common passwords.
  const weakness = findWeakness(normalized, username === undefined ? undefined : normalizeUsername(username));
  if (weakness) throw new AppError('weak_password', { description: WEAKNESS[weakness], reason: weakness });
  return normalized;
}

// Public descriptions: they name the rule and never quote the password.
const WEAKNESS: Record<Weakness, string> = {
  username: 'password is built from the username',
  service: 'password is built from the service name',
  dictionary: 'password is built from common passwords or dictionary words',
  keyboard: 'password is a keyboard pattern',
  sequential: 'password is a sequence of letters or digits',
  repetitive: 'password is repetitive',
  date: 'password is built from dates or years',
};
