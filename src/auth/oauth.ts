import { AppError } from '../errors.js';
import type { RequestContext } from '../observability/audit.js';
import { boundKeyOf } from './dpop-access.js';
import { checkRevocationProof } from './dpop-binding.js';
import { DPOP_ALGS } from './dpop.js';
import { refreshTokenRegion } from './refresh-tokens.js';
import type { Served } from './regions.js';
import type { SessionService, TokenResponse } from './sessions.js';
import type { AccessClaims, AccessTokenVerifier } from './verifier.js';

/**
 * The standard OAuth 2.0 face of the session service: the token endpoint
 * (RFC 6749 §4.3 and §6), revocation (RFC 7009), introspection (RFC 7662)
 * and server metadata (RFC 8414). Every operation is a short dispatch onto
 * SessionService and AccessTokenVerifier; no token rule lives here.
 */

export interface OAuthSettings {
  issuer: string;
  /** The one public client: the `client_id` of every access token. */
  clientId: string;
  /**
   * Whether `grant_type=password` is taken. The grant hands the client the
   * user's password, so it is for first-party apps only (RFC 9700 §2.4);
   * off, /oauth/token refuses it and the metadata no longer lists it.
   */
  passwordGrant: boolean;
}

/** Token endpoint parameters, as decoded from a form or a JSON body. */
export interface TokenRequest {
  grant_type: string;
  username?: string;
  password?: string;
  refresh_token?: string;
  scope?: string;
  client_id?: string;
}

/** Revocation and introspection parameters. */
export interface TokenLookup {
  token: string;
  /** RFC 7009 §2.1: only a hint; the token's shape decides. */
  token_type_hint?: string;
  client_id?: string;
}

export type Introspection = { active: false } | ActiveToken;

export interface ActiveToken {
  active: true;
  token_type: 'Bearer' | 'DPoP' | 'refresh_token';
  client_id: string;
  username: string | undefined;
  sub: string;
  iss: string;
  aud?: string | string[];
  exp: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  sid: string;
  region: string;
  /** RFC 9449 §6.2: the key a DPoP-bound access token is bound to. */
  cnf?: { jkt: string };
}

const INACTIVE: Introspection = Object.freeze({ active: false });

export const GRANT_TYPES = ['password', 'refresh_token'] as const;

/** The grants this deployment takes, in the order of GRANT_TYPES. */
export function grantTypes(settings: OAuthSettings): string[] {
  return GRANT_TYPES.filter((g) => g !== 'password' || settings.passwordGrant);
}

function required(req: TokenRequest, name: 'username' | 'password' | 'refresh_token'): string {
  const value = req[name];
  if (value === undefined || value === '') {
    throw new AppError('invalid_request', { description: `${name} is required for grant_type=${req.grant_type}`, reason: `missing ${name}` });
  }
  return value;
}

export class OAuthService {
  constructor(
    private readonly settings: OAuthSettings,
    private readonly sessions: SessionService,
    private readonly verifier: AccessTokenVerifier,
  ) {}

  /** RFC 6749 token endpoint: the password (unless turned off) and refresh_token grants. */
  /** `jkt`: the key of the request's verified DPoP proof (RFC 9449 §5), if it had one. */
  async token(req: TokenRequest, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    this.checkClient(req.client_id);
    if (req.grant_type === 'password' && this.settings.passwordGrant) {
      this.checkScope(req.scope);
      return this.sessions.login(required(req, 'username'), required(req, 'password'), ctx, jkt);
    }
    if (req.grant_type === 'refresh_token') {
      this.checkScope(req.scope);
      return this.sessions.refresh(required(req, 'refresh_token'), ctx, jkt);
    }
    // RFC 6749 §5.2: a grant this server does not take, whether unknown or turned off.
    throw new AppError('unsupported_grant_type', {
      description: `grant_type must be one of: ${grantTypes(this.settings).join(', ')}`,
      reason: 'unsupported grant',
    });
  }

  /** RFC 8414 metadata for these settings. */
  metadata(): Record<string, unknown> {
    return authorizationServerMetadata(this.settings);
  }

  /**
   * RFC 7009: ends the session of either of its tokens. Unknown, invalid or
   * already revoked tokens are not an error, so the caller learns nothing. A
   * DPoP-bound token is revoked only with a proof by its key.
   */
  async revoke(req: TokenLookup, ctx: RequestContext, jkt?: string): Promise<Served<void> | undefined> {
    this.checkClient(req.client_id);
    if (refreshTokenRegion(req.token)) return this.sessions.revokeRefreshToken(req.token, ctx, jkt);
    const claims = this.verifyQuietly(req.token);
    if (!claims) return undefined;
    checkRevocationProof(boundKeyOf(claims) ?? null, jkt);
    return this.sessions.revokeSession({ sessionId: claims.sid, userId: claims.sub }, ctx);
  }

  /** RFC 7662: what a live token is; exactly `{active:false}` for anything else. */
  async introspect(req: TokenLookup): Promise<Introspection> {
    if (refreshTokenRegion(req.token)) {
      const live = await this.sessions.liveRefreshToken(req.token);
      if (!live) return INACTIVE;
      const s = live.state;
      return {
        active: true,
        token_type: 'refresh_token',
        client_id: this.settings.clientId,
        username: s.username,
        sub: s.userId,
        iss: this.settings.issuer,
        exp: Math.floor(live.expiresAt / 1000),
        sid: s.sessionId,
        region: s.region,
      };
    }
    const c = this.verifyQuietly(req.token);
    if (!c) return INACTIVE;
    const jkt = boundKeyOf(c);
    return {
      active: true,
      token_type: jkt ? 'DPoP' : 'Bearer',
      client_id: c.client_id ?? this.settings.clientId,
      username: c.username,
      sub: c.sub,
      iss: c.iss,
      aud: c.aud,
      exp: c.exp,
      iat: c.iat,
      nbf: typeof c.nbf === 'number' ? c.nbf : undefined,
      jti: c.jti,
      sid: c.sid,
      region: c.region,
      ...(jkt ? { cnf: { jkt } } : {}),
    };
  }

  /** A public client may name itself (RFC 6749 §3.2.1); naming another client is refused. */
  private checkClient(clientId: string | undefined): void {
    if (clientId !== undefined && clientId !== this.settings.clientId) {
      throw new AppError('invalid_client', { description: 'Unknown client_id.', reason: 'unknown client' });
    }
  }

  private checkScope(scope: string | undefined): void {
    if (scope !== undefined && scope.trim() !== '') throw new AppError('invalid_scope', { reason: 'scope requested' });
  }

  /** The claims of a currently acceptable access token, or null. */
  private verifyQuietly(token: string): AccessClaims | null {
    try {
      return this.verifier.verify(token);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_token') return null;
      throw err;
    }
  }
}

/** RFC 8414 authorization server metadata. */
export function authorizationServerMetadata(settings: OAuthSettings): Record<string, unknown> {
  const base = settings.issuer.replace(/\/+$/, '');
  return {
    issuer: settings.issuer,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: grantTypes(settings),
    // No authorization endpoint: sessions start with the password grant or /v1/auth/login.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    service_documentation: `${base}/docs`,
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
  };
}
