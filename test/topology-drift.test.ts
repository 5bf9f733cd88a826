import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type SessionDeps, SessionService } from '../src/auth/sessions.js';
import { isAppError } from '../src/errors.js';
import { bearer, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startRegions, syncKeys } from './regions-harness.js';

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; try again later.' };

/**
 * Regions whose topology files disagree: the directory still names a user's
 * home region that the serving region's file no longer lists. Nothing can
 * serve that user until an operator fixes it, and the answer says so (503)
 * instead of a 500 or a guessed invalid_grant.
 */
describe('a home region missing from the topology', () => {
  let set: RegionSet;
  let tokens: Tokens;

  before(async () => {
    // Region a keeps the username directory and serves; region b is the home region that goes away.
    set = await startRegions([
      { id: 'a', lat: 50.1, lon: 8.7 },
      { id: 'b', lat: 1.35, lon: 103.8 },
    ]);
    await syncKeys(set);
    const b = set.nodes.b!.t.app;
    assert.equal((await register(b, 'Castaway')).statusCode, 201);
    const res = await post(b, '/v1/auth/login', { username: 'castaway', password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    tokens = json<Tokens>(res);

    const doc = JSON.parse(readFileSync(set.topologyFile, 'utf8')) as { regions: { id: string; peers: string[] }[] };
    doc.regions = doc.regions.filter((r) => r.id !== 'b').map((r) => ({ ...r, peers: r.peers.filter((p) => p !== 'b') }));
    writeFileSync(set.topologyFile, JSON.stringify(doc));
    await set.nodes.a!.restart();
  });
  after(() => set.close());

  it('a login is 503 temporarily_unavailable with Retry-After, never invalid_grant or 500', async () => {
    const res = await post(set.nodes.a!.t.app, '/v1/auth/login', { username: 'castaway', password: PASSWORD });
    assert.equal(res.statusCode, 503, res.body);
    assert.deepEqual(json(res), UNAVAILABLE);
    assert.equal(res.headers['retry-after'], '60');
    const logged = set.nodes.a!.t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed');
    assert.match(logged?.reason ?? '', /region b is not in the topology/, 'the cause is in the log, not on the wire');
  });

  it("a logout of that region's session is 503 too", async () => {
    const res = await post(set.nodes.a!.t.app, '/v1/auth/logout', undefined, bearer(tokens.access_token));
    assert.equal(res.statusCode, 503, res.body);
    assert.deepEqual(json(res), UNAVAILABLE);
    assert.equal(res.headers['retry-after'], '60');
  });
});

describe('a user placed in another region with no other region configured', () => {
  it('a login is a 503 AppError, not a plain Error', async () => {
    // Wiring the directory without the other regions (createServices never does) leaves nowhere to send the login.
    const deps = { accounts: { authenticate: async () => ({ homeRegion: 'elsewhere' }) } } as unknown as SessionDeps;
    await assert.rejects(
      new SessionService(deps).login('castaway', PASSWORD, {}),
      (err) => isAppError(err, 'temporarily_unavailable') && err.retryAfter === 60,
    );
  });
});
