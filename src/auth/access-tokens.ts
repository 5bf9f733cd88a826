import type { Clock, Random } from '../util/runtime.js';
import { signCompact } from './jws.js';
import type { KeyRing } from './keys.js';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  clientId: string;
  region: string;
  ttlSeconds: number;
}

export interface AccessSubject {
  userId: string;
  username: string;
  sessionId: string;
  /** The DPoP key thumbprint the session is bound to: the token carries it as `cnf.jkt` (RFC 9449 §6). */
  jkt?: string | null;
}

/** Signs RFC 9068 access tokens with the region's current key. */
export class AccessTokenIssuer {
  constructor(
    private readonly settings: AccessTokenSettings,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  issue(subject: AccessSubject): string {
    const s = this.settings;
    const key = this.keys.signingKey();
    const iat = Math.floor(this.clock.now() / 1000);
    const payload = {
      iss: s.issuer,
      sub: subject.userId,
      aud: s.audience,
      exp: iat + s.ttlSeconds,
      iat,
      jti: this.random.bytes(16).toString('base64url'),
      sid: subject.sessionId,
      client_id: s.clientId,
      username: subject.username,
      region: s.region,
      ...(subject.jkt ? { cnf: { jkt: subject.jkt } } : {}),
    };
    return signCompact({ typ: 'at+jwt', kid: key.kid }, payload, key.alg, key.key);
  }
}
