/**
 * The peer for the refresh benchmark: node-oidc-provider's refresh_token
 * grant, rotating refresh tokens and ES256 JWT access tokens, on a loopback
 * port. Storage is its in-memory adapter, or with a PostgreSQL URL as the
 * first argument the durable adapter of bench/oidc-pg-adapter.ts (its table
 * created in that database; the second argument is the pool size, default 20). `POST /bench/mint` returns a fresh
 * refresh token (a grant made directly through the provider's models, the
 * way its own tests do), so both servers start the load from equal ground.
 * Prints `{"port": N}` on stdout when listening.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import { createPool, createTables, postgresAdapter } from './oidc-pg-adapter.js';

const RESOURCE = 'urn:meridian:bench';
const [pgUrl, poolSize = '20'] = process.argv.slice(2);
const pool = pgUrl ? createPool(pgUrl, Number(poolSize)) : undefined;
if (pool) await createTables(pool);
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench' };

const provider = new Provider('http://127.0.0.1', {
  ...(pool ? { adapter: postgresAdapter(pool) } : {}),
  clients: [
    {
      client_id: 'bench',
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
      grant_types: ['refresh_token', 'authorization_code'],
      redirect_uris: ['https://client.test/cb'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [jwk] },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  rotateRefreshToken: true,
  scopes: ['offline_access', 'api'],
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience: RESOURCE, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  ttl: { RefreshToken: 30 * 86400, AccessToken: 600, Grant: 30 * 86400 },
} as never);
provider.proxy = true;

let accounts = 0;
async function mint(): Promise<string> {
  const client = await provider.Client.find('bench');
  const accountId = `user-${++accounts}`;
  const grant = new provider.Grant({ accountId, clientId: 'bench' });
  grant.addOIDCScope('offline_access');
  grant.addResourceScope(RESOURCE, 'api');
  const grantId = await grant.save();
  const token = new provider.RefreshToken({ client, accountId, grantId, scope: 'offline_access', resource: RESOURCE, gty: 'authorization_code' } as never);
  return token.save();
}

const handler = provider.callback();
const server = (await import('node:http')).createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.method === 'POST' && req.url === '/bench/mint') {
    mint().then(
      (refresh_token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ refresh_token })),
      (err: Error) => res.writeHead(500).end(err.message),
    );
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
