import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { normalizeUsername } from '../src/auth/usernames.js';
import { type MoveReport, openSlotMover, openStorage, parseShards } from '../src/storage/storage.js';
import { SLOTS, slotDigits, slotOfName } from '../src/util/slots.js';
import { slotsToAdd } from '../src/cli/shards.js';
import { childEnv } from '../src/config/load.js';
import { execFile } from 'node:child_process';
import { createDatabase, createTestApp, json, PASSWORD, post, refresh, register, type TestApp } from './helpers.js';

/**
 * Moving slots to a shard added to a serving region, under a refresh and
 * login load on two servers: no session lost, no token accepted twice, only
 * 503s with Retry-After while a slot is frozen, and the moved sessions
 * refresh on the new shard.
 */
describe('moving slots to a new shard under load', () => {
  const dbs: { url: string; drop: () => Promise<void> }[] = [];
  const servers: TestApp[] = [];
  let shardsEnv = '';
  const MOVED = { from: 0, to: 15 };

  before(async () => {
    for (let i = 0; i < 3; i++) dbs.push(await createDatabase('meridian_move'));
    const env = (shards: string) => ({ MERIDIAN_SHARDS: shards, MERIDIAN_REFRESH_GRACE_SECONDS: '0' });
    // The region begins on main and s1 ...
    const first = await createTestApp({ databaseUrl: dbs[0]!.url, env: env(`s1=${dbs[1]!.url}`), services: { openStorage: undefined } });
    await first.close();
    // ... and s2 is added to every server's configuration: it holds no slot until slots are moved.
    shardsEnv = `s1=${dbs[1]!.url} s2=${dbs[2]!.url}`;
    for (let i = 0; i < 2; i++) servers.push(await createTestApp({ databaseUrl: dbs[0]!.url, env: env(shardsEnv), services: { openStorage: undefined } }));
  });

  after(async () => {
    for (const s of servers) await s.close();
    for (const d of dbs) await d.drop();
  });

  const count = async (db: number, sql: string, params: unknown[]): Promise<number> => {
    const c = new pg.Client({ connectionString: dbs[db]!.url });
    await c.connect();
    try {
      return ((await c.query<{ n: number }>(sql, params)).rows[0] as { n: number }).n;
    } finally {
      await c.end();
    }
  };

  it('keeps every session and refuses every replayed token', async () => {
    const names: string[] = [];
    for (let i = 0; names.length < 8; i++) {
      const slot = slotOfName(normalizeUsername(`mover-${i}`));
      if (slot >= MOVED.from && slot <= MOVED.to) names.push(`mover-${i}`);
    }
    for (const n of names) assert.equal((await register(servers[0]!.app, n)).statusCode, 201);

    const statuses = new Map<number, number>();
    let logins = 0;
    const unexplained: string[] = [];
    let stop = false;
    const client = async (username: string, k: number) => {
      const tokens: string[] = [];
      for (let i = 0; !stop || tokens.length === 0; i++) {
        const app = servers[(k + i) % 2]!.app;
        // Every seventh request (and the first) is a login: new sessions are made in the moving slots too.
        const isLogin = tokens.length === 0 || i % 7 === 6;
        const res = isLogin
          ? await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username, password: PASSWORD } })
          : await refresh(app, tokens.at(-1)!);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        // The client goes on with the newest session: a login lost in a move would show at its next refresh.
        if (res.statusCode === 200) tokens.push(json<{ refresh_token: string }>(res).refresh_token);
        if (res.statusCode === 200 && isLogin) logins++;
        else if (res.statusCode === 503) {
          if (!res.headers['retry-after']) unexplained.push(`503 without Retry-After: ${res.body}`);
          await new Promise((r) => setTimeout(r, 10));
        } else if (res.statusCode !== 200) unexplained.push(`${isLogin ? 'login' : 'refresh'} ${res.statusCode}: ${res.body}`);
      }
      return tokens;
    };
    const load = names.map((n, k) => client(n, k));
    await new Promise((r) => setTimeout(r, 300));

    const reports: MoveReport[] = [];
    let tokens: string[][];
    try {
      const { mover, close } = await openSlotMover(
        { databaseUrl: dbs[0]!.url, dataDir: '.', poolSize: 2 },
        [
          { name: 's1', url: dbs[1]!.url },
          { name: 's2', url: dbs[2]!.url },
        ],
        { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: () => Date.now(), onMoved: (r) => reports.push(r) },
      );
      try {
        const slots = Array.from({ length: MOVED.to - MOVED.from + 1 }, (_, i) => MOVED.from + i);
        await mover.move(slots, 's2');
        const map = await mover.map();
        assert.ok(slots.every((s) => map[s] === 's2'));
      } finally {
        await close();
      }
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      stop = true;
      tokens = await Promise.all(load);
    }

    assert.deepEqual(unexplained, [], 'only 200s, and 503s with Retry-After');
    assert.equal(reports.length, 16);
    assert.ok(reports.reduce((a, r) => a + r.sessions, 0) >= names.length, 'the sessions went with their slots');
    // The moved rows are on s2 alone, and the sessions go on refreshing there, on either server.
    const userIds = (await Promise.all(names.map(async (n) => servers[0]!.services.storage.users.findByUsername(normalizeUsername(n))))).map((u) => u!.id);
    assert.equal(await count(0, 'SELECT count(*)::int AS n FROM sessions WHERE user_id = ANY($1)', [userIds]), 0, 'deleted behind on main');
    assert.equal(await count(0, 'SELECT count(*)::int AS n FROM users WHERE id = ANY($1)', [userIds]), 0);
    assert.equal(
      await count(2, 'SELECT count(*)::int AS n FROM sessions WHERE user_id = ANY($1)', [userIds]),
      logins,
      'every session made before, during and after the move is on s2',
    );
    const before = await count(2, 'SELECT coalesce(sum(generation), 0)::int AS n FROM sessions WHERE user_id = ANY($1)', [userIds]);
    for (const [k, list] of tokens.entries()) {
      const res = await refresh(servers[k % 2]!.app, list.at(-1)!);
      assert.equal(res.statusCode, 200, `${names[k]}'s session after the move: ${res.body}`);
      list.push(json<{ refresh_token: string }>(res).refresh_token);
    }
    const afterGen = await count(2, 'SELECT coalesce(sum(generation), 0)::int AS n FROM sessions WHERE user_id = ANY($1)', [userIds]);
    assert.equal(afterGen - before, names.length, 'each refresh rotated its session on s2');
    // No token is accepted twice: every rotated-away token of every client is refused (past any grace window:
    // the servers' clocks stand still otherwise).
    for (const s of servers) s.clock.advance(60_000);
    for (const [k, list] of tokens.entries()) {
      // Earlier sessions were left alive by the client's later logins; the last session's rotated tokens are spent.
      const session = list.at(-1)!.split('.')[0];
      const spent = list.slice(0, -1).filter((t) => t.startsWith(`${session}.`));
      assert.ok(spent.length > 0);
      for (const old of spent.slice(-3)) {
        const res = await refresh(servers[(k + 1) % 2]!.app, old);
        assert.equal(res.statusCode, 400, `a replayed token of ${names[k]}`);
      }
    }
    assert.ok((statuses.get(200) ?? 0) > 50, `requests served during the move: ${JSON.stringify([...statuses])}`);
  });

  it('lists the map with `meridian shards list`, and `shards add` plans an even share', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'shards', 'list'],
        { env: childEnv({ DATABASE_URL: dbs[0]!.url, MERIDIAN_SHARDS: shardsEnv, LOG_LEVEL: 'warn' }) },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    assert.deepEqual(out.trim().split('\n'), ['main\t496 slots\t16-511', 's1\t512 slots\t512-1023', 's2\t16 slots\t0-15']);
    const map = Array.from({ length: SLOTS }, (_, s) => (s < 512 ? 'main' : 's1'));
    const plan = slotsToAdd(map, 's2', ['main', 's1', 's2']);
    assert.equal(plan.length, Math.floor(SLOTS / 3));
    const left = map.map((m, s) => (plan.includes(s) ? 's2' : m));
    assert.deepEqual(
      ['main', 's1', 's2'].map((n) => left.filter((m) => m === n).length),
      [341, 342, 341],
    );
  });

  it('refuses a slot holding a user from before slot placement (`shards move` exits 1), moves the others and deletes behind them', async () => {
    const named = (slot: number): string => {
      for (let i = 0; ; i++) if (slotOfName(normalizeUsername(`slot${slot}-user-${i}`)) === slot) return `slot${slot}-user-${i}`;
    };
    const app = servers[0]!.app;
    const moving = named(17);
    assert.equal((await register(app, moving)).statusCode, 201);
    // A user whose id says slot 16 but whose name hashes to 20, as a release before slots made them.
    const legacy = json<{ id: string }>(await register(app, named(20))).id;
    const at = legacy.indexOf('_') + 11;
    const legacyId = `${legacy.slice(0, at)}${slotDigits(16)}${legacy.slice(at + 2)}`;
    assert.equal(await count(0, 'WITH u AS (UPDATE users SET id = $1 WHERE id = $2 RETURNING 1) SELECT count(*)::int AS n FROM u', [legacyId, legacy]), 1);

    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'shards', 'move', '16-17', 's2'],
        { env: childEnv({ DATABASE_URL: dbs[0]!.url, MERIDIAN_SHARDS: shardsEnv, LOG_LEVEL: 'warn' }) },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /slot 17: main -> s2 \(1 users, 0 sessions/);
    assert.match(run.stderr, /slot 16 is not moved: it holds 1 user\(s\) from before slot placement/);

    const byName = 'SELECT count(*)::int AS n FROM users WHERE username_normalized = $1';
    assert.deepEqual(
      [await count(0, byName, [normalizeUsername(moving)]), await count(2, byName, [normalizeUsername(moving)])],
      [0, 1],
      'moved, and deleted behind',
    );
    assert.equal(await count(0, 'SELECT count(*)::int AS n FROM users WHERE id = $1', [legacyId]), 1, 'the refused slot keeps its rows');
    assert.equal(await count(0, 'SELECT count(*)::int AS n FROM slot_guard WHERE slot = 16', []), 0, 'and is open for writes');
    const login = await post(app, '/v1/auth/login', { username: moving, password: PASSWORD });
    assert.equal(login.statusCode, 200, 'the moved user logs in on s2');
  });

  it('flushes a write-behind rotation to the shard its slot moved to, from a process whose map is stale', async () => {
    // A session of slot 17, which the test above moved to s2.
    const username = 'stale-flush';
    const app = servers[0]!.app;
    let name = username;
    for (let i = 0; slotOfName(normalizeUsername(name)) !== 17; i++) name = `${username}-${i}`;
    assert.equal((await register(app, name)).statusCode, 201);
    const tokens = json<{ refresh_token: string }>(await post(app, '/v1/auth/login', { username: name, password: PASSWORD }));
    const sessionId = tokens.refresh_token.split('.')[0]!;
    const bySession = 'SELECT generation FROM sessions WHERE id = $1';
    const generationOn = async (db: number) => {
      const c = new pg.Client({ connectionString: dbs[db]!.url });
      await c.connect();
      try {
        return (await c.query<{ generation: number }>(bySession, [sessionId])).rows[0]?.generation;
      } finally {
        await c.end();
      }
    };
    assert.deepEqual([await generationOn(0), await generationOn(2)], [undefined, 0]);

    // Never migrated, so it has not read the map: it sends every slot to main, as a process that missed the move would.
    const stale = await openStorage({ databaseUrl: dbs[0]!.url, dataDir: '.', poolSize: 2 }, { replicate: false }, parseShards(shardsEnv));
    try {
      const rotation = { sessionId, generation: 3, rotatedAt: Date.now(), token: `3:${Date.now()}` };
      const result = await stale.rotations.apply([rotation]);
      assert.deepEqual(result.written, [rotation], 'written, once the map is read again');
      assert.equal(result.guarded, undefined);
      assert.equal(await generationOn(2), 3, 'on the shard that holds the slot now');
    } finally {
      await stale.close();
    }
  });
});
