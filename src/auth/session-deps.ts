import type { Audit } from '../observability/audit.js';
import type { Clock, Random } from '../util/runtime.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import type { Accounts } from './accounts.js';
import type { RemoteRegions } from './regions.js';
import type { SessionStore } from './stores.js';

/** What the session services (SessionService, SessionEndings) are built on. */
export interface SessionSettings {
  region: string;
  refreshTtlSeconds: number;
  refreshIdleSeconds: number;
  graceSeconds: number;
  /** The key of refresh-token MACs (see refresh-tokens.ts); the same in every region of a topology. */
  rotationKey: Buffer;
  /** Every login and refresh must carry a DPoP proof (RFC 9449). */
  requireDpop: boolean;
}

/** Where revoked session ids go so that their access tokens die at once. */
export interface RevocationSink {
  add(sessionId: string, revokedAt?: number): void;
  /** Whether this process knows the session was ended (here, or by a region that told it). */
  has(sessionId: string): boolean;
}

export interface SessionDeps {
  settings: SessionSettings;
  sessions: SessionStore;
  accounts: Accounts;
  access: AccessTokenIssuer;
  revocations: RevocationSink;
  clock: Clock;
  random: Random;
  audit: Audit;
  /** Other regions, for users and tokens whose state lives there; absent for a region on its own. */
  remote?: RemoteRegions;
}
