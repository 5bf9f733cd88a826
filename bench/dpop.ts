/**
 * Refresh with DPoP against refresh without it, in one run on the same
 * server: one session bound to a key, one not, rotated in alternation so
 * neither gets a warmer machine. The proofs are signed before the clock
 * starts (signing is the client's cost); what is timed is the server's
 * work, whose extra is one signature check and one replay-store write.
 * Without Redis, and with it (the replay store is then the region's).
 *
 *   node --import tsx bench/dpop.ts [iterations]
 */
import { DpopKey } from '../test/dpop-keys.js';
import { createTestApp, json, PASSWORD, post, REDIS_URL, register, type TestApp, type Tokens } from '../test/helpers.js';
import { testPrefix } from '../test/redis-server.js';

const N = Number(process.argv[2] ?? 400);

interface Result {
  label: string;
  bearerMs: number;
  dpopMs: number;
  statementsBearer: number;
  statementsDpop: number;
}

async function scenario(label: string, env: Record<string, string>): Promise<Result> {
  const t: TestApp = await createTestApp({ env: { MERIDIAN_KEY_RELOAD_INTERVAL: '3600', LOG_LEVEL: 'warn', ...env } });
  try {
    const key = new DpopKey(t.clock);
    const login = async (name: string, proof?: string) => {
      await register(t.app, name);
      const res = await post(t.app, '/v1/auth/login', { username: name, password: PASSWORD }, proof ? { dpop: proof } : {});
      return json<Tokens>(res).refresh_token;
    };
    let plain = await login(`bench-plain-${label}`);
    let bound = await login(`bench-bound-${label}`, key.proof('POST', '/v1/auth/login'));
    const rotate = async (token: string, proof?: string): Promise<{ ms: number; statements: number; next: string }> => {
      t.queries.clear();
      const started = performance.now();
      const res = await post(t.app, '/v1/auth/refresh', { refresh_token: token }, proof ? { dpop: proof } : {});
      const ms = performance.now() - started;
      if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.body}`);
      return { ms, statements: [...t.queries.values()].reduce((a, b) => a + b, 0), next: json<Tokens>(res).refresh_token };
    };
    const totals = { bearerMs: 0, dpopMs: 0, statementsBearer: 0, statementsDpop: 0 };
    for (let i = 0; i < N + 20; i++) {
      const a = await rotate(plain);
      const proof = key.proof('POST', '/v1/auth/refresh');
      const b = await rotate(bound, proof);
      plain = a.next;
      bound = b.next;
      if (i < 20) continue; // warm-up
      totals.bearerMs += a.ms;
      totals.dpopMs += b.ms;
      totals.statementsBearer += a.statements;
      totals.statementsDpop += b.statements;
    }
    return {
      label,
      bearerMs: totals.bearerMs / N,
      dpopMs: totals.dpopMs / N,
      statementsBearer: totals.statementsBearer / N,
      statementsDpop: totals.statementsDpop / N,
    };
  } finally {
    await t.close();
  }
}

const results = [await scenario('memory', {}), await scenario('redis', { REDIS_URL, MERIDIAN_REDIS_PREFIX: testPrefix('bench-dpop') })];
console.log(`${N} sequential refreshes each, alternating, PostgreSQL on loopback, in-process HTTP (inject)`);
for (const r of results) {
  console.log(
    `${r.label.padEnd(7)} without DPoP ${r.bearerMs.toFixed(3)} ms/req (${r.statementsBearer.toFixed(2)} DB statements), ` +
      `with DPoP ${r.dpopMs.toFixed(3)} ms/req (${r.statementsDpop.toFixed(2)}): x${(r.bearerMs / r.dpopMs).toFixed(2)} of the throughput`,
  );
}
console.log(JSON.stringify({ dpop: results.map((r) => ({ ...r, ratio: r.bearerMs / r.dpopMs })) }));
