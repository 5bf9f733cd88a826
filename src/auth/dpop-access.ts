import { AppError } from '../errors.js';
import type { PresentedToken } from './bearer.js';
import { DPOP_ALGS, type DpopVerifier, type ProofTarget } from './dpop.js';
import type { AccessClaims } from './verifier.js';

/**
 * Sender-constrained access tokens at a protected resource (RFC 9449 §7): a
 * token with `cnf.jkt` is taken only as `Authorization: DPoP <token>` with a
 * proof by that key naming the token in `ath`. Failures come with a DPoP
 * challenge and a 401, as §7.1 asks of a resource.
 */

/** The `WWW-Authenticate` challenge of a DPoP failure. */
export function dpopChallenge(error: string): string {
  return `DPoP error="${error}", algs="${DPOP_ALGS.join(' ')}"`;
}

/** The thumbprint an access token is bound to (`cnf.jkt`), if any. */
export function boundKeyOf(claims: AccessClaims): string | undefined {
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  return cnf && typeof cnf === 'object' && typeof cnf.jkt === 'string' ? cnf.jkt : undefined;
}

function challenged(err: AppError): AppError {
  const headers = { ...err.headers, 'www-authenticate': dpopChallenge(err.code) };
  // API.md: a bad proof is 400 everywhere (with the challenge on protected endpoints); a token problem or a nonce to use is 401 here.
  const status = err.code === 'invalid_dpop_proof' ? 400 : 401;
  return new AppError(err.code, { reason: err.reason, description: err.description, status, headers, cause: err });
}

export interface AccessBindingRules {
  /** Unbound (Bearer) tokens are refused too. */
  required: boolean;
}

/**
 * Checks that the presenter of verified `claims` holds the key they are bound to; throws a challenged AppError otherwise.
 * `target` is asked for only for a bound token: an unbound one (most requests) costs no URL building.
 */
export async function checkSenderConstraint(
  claims: AccessClaims,
  presented: PresentedToken,
  proof: unknown,
  target: () => Omit<ProofTarget, 'accessToken'>,
  dpop: DpopVerifier,
  rules: AccessBindingRules,
): Promise<void> {
  const jkt = boundKeyOf(claims);
  if (jkt === undefined) {
    if (presented.scheme === 'DPoP' || rules.required) throw challenged(new AppError('invalid_token', { reason: 'token not bound to a key' }));
    return;
  }
  if (presented.scheme !== 'DPoP') throw challenged(new AppError('invalid_token', { reason: 'bound token presented as bearer' }));
  let proved: string;
  try {
    proved = (await dpop.verify(proof, { ...target(), accessToken: presented.token })).jkt;
  } catch (err) {
    throw err instanceof AppError ? challenged(err) : err;
  }
  if (proved !== jkt) throw challenged(new AppError('invalid_dpop_proof', { reason: 'proof by another key' }));
}
