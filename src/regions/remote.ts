import type { RemoteLogout, RemotePasswordChange, RemoteRegions, Served } from '../auth/regions.js';
import type { SessionSummary } from '../auth/stores.js';
import type { TokenResponse } from '../auth/sessions.js';
import { AppError, unavailable } from '../errors.js';
import type { RequestContext } from '../observability/audit.js';
import type { PeerClient, PeerRequest } from './peer-client.js';

/** A session as the home region lists it (the public body of GET /v1/auth/sessions). */
interface WireSession {
  id: string;
  region: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
}

/**
 * Logins and refreshes served by the region that holds their state. A
 * refresh goes to the origin region's public /v1/auth/refresh; a login goes
 * to the home region's /internal/v1/login, which takes the client's address
 * from the (authenticated) proxying region, so the home region's per-client
 * throttling counts the client and not the region in between. A logout goes
 * to /internal/v1/logout: the region secret vouches that this region verified
 * the caller's access token. Whatever the other region answers is the
 * answer; when it cannot be reached, 503.
 */
export class PeerRegions implements RemoteRegions {
  constructor(private readonly client: PeerClient) {}

  login(region: string, username: string, password: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    const body = { username, password, ...(ctx.ip ? { client_ip: ctx.ip } : {}), ...(jkt ? { dpop_jkt: jkt } : {}) };
    return this.tokens(region, '/internal/v1/login', { operation: 'login', body, internal: true, requestId: ctx.requestId });
  }

  refresh(region: string, refreshToken: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    // A token naming a region that does not exist is unknown everywhere.
    if (!this.client.knows(region)) throw new AppError('invalid_grant', { reason: `origin region ${region} is not in the topology` });
    // A DPoP proof names this region's URL: the origin takes the key this region checked, on the region secret's word.
    if (jkt)
      return this.tokens(region, '/internal/v1/refresh', {
        operation: 'refresh',
        body: { refresh_token: refreshToken, dpop_jkt: jkt },
        internal: true,
        requestId: ctx.requestId,
      });
    return this.tokens(region, '/v1/auth/refresh', { operation: 'refresh', body: { refresh_token: refreshToken }, requestId: ctx.requestId });
  }

  async logout(region: string, r: RemoteLogout, ctx: RequestContext): Promise<Served<string[]>> {
    const body = { user_id: r.userId, session_id: r.sessionId, refresh_token: r.refreshToken, all_sessions: r.allSessions };
    const res = await this.client.request<{ ended: string[] }>(region, '/internal/v1/logout', {
      operation: 'logout',
      body,
      internal: true,
      requestId: ctx.requestId,
    });
    if (res.status !== 200 || !Array.isArray(res.body?.ended)) throw this.client.answerError(region, res);
    return { value: res.body.ended, servedBy: region };
  }

  async revoke(region: string, refreshToken: string, ctx: RequestContext, jkt?: string): Promise<Served<void>> {
    if (!this.client.knows(region)) return { value: undefined, servedBy: this.client.self }; // unknown everywhere: nothing to end
    // As for a refresh: the key this region checked goes on the region secret's word.
    const res = jkt
      ? await this.client.request(region, '/internal/v1/revoke', {
          operation: 'revoke',
          body: { token: refreshToken, dpop_jkt: jkt },
          internal: true,
          requestId: ctx.requestId,
        })
      : await this.client.request(region, '/oauth/revoke', {
          operation: 'revoke',
          body: { token: refreshToken, token_type_hint: 'refresh_token' },
          requestId: ctx.requestId,
        });
    if (res.status !== 200) throw this.client.answerError(region, res);
    return { value: undefined, servedBy: region };
  }

  async sessions(region: string, userId: string, ctx: RequestContext): Promise<Served<SessionSummary[]>> {
    const res = await this.client.request<{ sessions: WireSession[] }>(region, '/internal/v1/sessions', {
      operation: 'sessions',
      body: { user_id: userId },
      internal: true,
      requestId: ctx.requestId,
    });
    if (res.status !== 200 || !Array.isArray(res.body?.sessions)) throw this.client.answerError(region, res);
    const value = res.body.sessions.map((s) => ({
      id: s.id,
      region: s.region,
      createdAt: Date.parse(s.created_at),
      lastUsedAt: Date.parse(s.last_used_at),
      userAgent: s.user_agent,
      ip: s.ip,
    }));
    return { value, servedBy: region };
  }

  async changePassword(region: string, r: RemotePasswordChange, ctx: RequestContext): Promise<Served<void>> {
    const body = {
      user_id: r.userId,
      session_id: r.sessionId,
      current_password: r.currentPassword,
      new_password: r.newPassword,
      ...(ctx.ip ? { client_ip: ctx.ip } : {}),
    };
    const res = await this.client.request(region, '/internal/v1/password', { operation: 'password', body, internal: true, requestId: ctx.requestId });
    if (res.status !== 204) throw this.client.answerError(region, res);
    return { value: undefined, servedBy: region };
  }

  private async tokens(region: string, path: string, req: PeerRequest): Promise<Served<TokenResponse>> {
    const res = await this.client.request<TokenResponse>(region, path, req);
    if (res.status !== 200) throw this.client.answerError(region, res);
    if (!isTokenResponse(res.body)) throw unavailable(`region ${region}`, new Error(`${req.operation} answered 200 without a token response`));
    return { value: res.body, servedBy: region };
  }
}

function isTokenResponse(b: unknown): b is TokenResponse {
  const t = b as Partial<TokenResponse> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.access_token === 'string' &&
    typeof t.refresh_token === 'string' &&
    (t.token_type === 'Bearer' || t.token_type === 'DPoP') &&
    Number.isInteger(t.expires_in) &&
    Number.isInteger(t.refresh_expires_in)
  );
}
