import { AppError } from '../errors.js';

/**
 * The DPoP binding rules of sessions (RFC 9449 §5), each a guard clause. They
 * run before any other refresh decision: a bound token presented without its
 * key tells the service nothing about its owner, so it must neither rotate
 * nor count as reuse (which would revoke the victim's session).
 */

function refuse(reason: string): never {
  throw new AppError('invalid_dpop_proof', { reason });
}

/** A login needs a proof only where DPoP is required for every session. */
export function checkLoginProof(proved: string | undefined, required: boolean): void {
  if (required && proved === undefined) refuse('proof required');
}

/** A bound session is refreshed only with a proof by its own key; with DPoP required, an unbound one only with a proof (which binds it). */
export function checkRefreshBinding(bound: string | null, proved: string | undefined, required: boolean): void {
  if (bound !== null && proved === undefined) refuse('bound session refreshed without proof');
  if (bound !== null && proved !== bound) refuse('proof by another key');
  if (required && proved === undefined) refuse('proof required');
}

/**
 * Revoking a bound session's token (RFC 7009) also needs its key: else a
 * stolen token, useless for refreshing, would still log its victim out.
 */
export function checkRevocationProof(bound: string | null, proved: string | undefined): void {
  if (bound !== null && proved !== bound) refuse(proved === undefined ? 'bound token revoked without proof' : 'proof by another key');
}
