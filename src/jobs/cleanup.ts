import type { Config } from '../config/schema.js';
import type { CleanupInput } from '../storage/background.js';

/** The retention horizons cleanup runs with, from the token lifetimes. */
export function cleanupHorizons(config: Pick<Config, 'accessTokenTtl' | 'clockSkewSeconds' | 'refreshTokenTtl'>, now: number): CleanupInput {
  // Access tokens of a revoked session may be accepted until then; see delete-expired-sessions.sql.
  const accessLifetimeMs = (config.accessTokenTtl + 2 * config.clockSkewSeconds) * 1000;
  return { now, keepRevokedSince: now - accessLifetimeMs, keepForeignRevocationsSince: now - config.refreshTokenTtl * 1000 };
}
