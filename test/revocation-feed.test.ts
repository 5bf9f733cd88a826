/** The revocation feed: the in-memory set's log, the polled page and the event stream. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RevocationSet } from '../src/auth/revocations.js';
import { readEvents, type ServerSentEvent } from '../src/sdk/verify/sse.js';
import { ManualClock } from '../src/util/runtime.js';
import { bearer, claimsOf, createTestApp, json, login, post, startTestServer, type TestApp, type TestServer } from './helpers.js';

describe('RevocationSet log', () => {
  it('lists entries by when they were learned, once each, and notifies subscribers of new ones only', () => {
    const clock = new ManualClock(1_000_000);
    const set = new RevocationSet(clock, 600_000);
    const heard: string[] = [];
    set.add('a', 999_995);
    clock.advance(10);
    const stop = set.subscribe((r) => heard.push(r.sessionId));
    set.add('b');
    set.add('a'); // already known: no second entry, no notification
    stop();
    set.add('c');
    assert.deepEqual(heard, ['b']);
    assert.deepEqual(
      set.since(0).map((r) => r.sessionId),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      set.since(1_000_010).map((r) => r.sessionId),
      ['b', 'c'],
    );
    assert.equal(set.since(0)[0]?.revokedAt, 999_995);
  });

  it('forgets entries past the retention time', () => {
    const clock = new ManualClock(1_000_000);
    const set = new RevocationSet(clock, 60_000);
    set.add('old');
    clock.advance(120_000);
    set.add('new');
    assert.deepEqual(
      set.since(0).map((r) => r.sessionId),
      ['new'],
    );
    assert.equal(set.has('old'), false);
  });
});

describe('GET /v1/revocations', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite' });
  });
  after(() => t.close());

  it('pages revocations with a cursor that overlaps by the clock skew', async () => {
    const a = await login(t.app, 'feed-a');
    await post(t.app, '/v1/auth/logout', {}, bearer(a.access_token));
    const first = json<{ revocations: { sid: string; revoked_at: number }[]; next_since: number }>(await t.app.inject({ url: '/v1/revocations' }));
    assert.deepEqual(
      first.revocations.map((r) => r.sid),
      [claimsOf(a.access_token).sid],
    );
    assert.equal(first.revocations[0]?.revoked_at, t.clock.now());
    assert.equal(first.next_since, t.clock.now() - t.config.clockSkewSeconds * 1000);

    t.clock.advance((t.config.clockSkewSeconds + 1) * 1000);
    const cursor = json<{ next_since: number }>(await t.app.inject({ url: `/v1/revocations?since=${first.next_since}` })).next_since;
    const b = await login(t.app, 'feed-b');
    await post(t.app, '/v1/auth/logout', {}, bearer(b.access_token));
    const next = json<{ revocations: { sid: string }[] }>(await t.app.inject({ url: `/v1/revocations?since=${cursor}` }));
    assert.deepEqual(
      next.revocations.map((r) => r.sid),
      [claimsOf(b.access_token).sid],
    );
  });

  it('refuses a malformed cursor with invalid_request', async () => {
    for (const since of ['-1', 'abc', '1e5', '9999999999999999']) {
      const res = await t.app.inject({ url: `/v1/revocations?since=${since}` });
      assert.equal(res.statusCode, 400, since);
      assert.equal(json(res).error, 'invalid_request');
    }
  });
});

describe('GET /v1/revocations/stream', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ backend: 'pglite' });
  });
  after(() => t.close());

  async function open(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${t.url}${path}`, { headers: { accept: 'text/event-stream', ...headers } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    return readEvents(res.body as ReadableStream<Uint8Array>);
  }
  const next = async (events: AsyncGenerator<ServerSentEvent>): Promise<ServerSentEvent> => (await events.next()).value as ServerSentEvent;

  it('sends the backlog, a heartbeat with the cursor, then each revocation as it happens', async () => {
    const early = await login(t.app, 'stream-early');
    await post(t.app, '/v1/auth/logout', {}, bearer(early.access_token));
    const events = await open('/v1/revocations/stream?since=0');
    const backlog = await next(events);
    assert.equal(backlog.event, 'revoked');
    assert.equal(JSON.parse(backlog.data).sid, claimsOf(early.access_token).sid);
    const beat = await next(events);
    assert.equal(beat.event, 'heartbeat');
    assert.equal(JSON.parse(beat.data).next_since, Number(beat.id));

    const late = await login(t.app, 'stream-late');
    await post(t.app, '/oauth/revoke', { token: late.refresh_token });
    const pushed = await next(events);
    assert.equal(pushed.event, 'revoked');
    assert.equal(JSON.parse(pushed.data).sid, claimsOf(late.access_token).sid);
    await events.return(undefined);
  });

  it('resumes from Last-Event-ID the way an EventSource reconnects', async () => {
    const events = await open('/v1/revocations/stream', { 'last-event-id': String(t.clock.now() + 60_000) });
    // Nothing is that recent, so the first event is the heartbeat.
    assert.equal((await next(events)).event, 'heartbeat');
    await events.return(undefined);
  });

  it('is ended by server shutdown rather than holding it open', async () => {
    const other = await startTestServer({ backend: 'pglite' });
    const res = await fetch(`${other.url}/v1/revocations/stream`);
    const events = readEvents(res.body as ReadableStream<Uint8Array>);
    assert.equal((await next(events)).event, 'heartbeat');
    await other.close();
    assert.equal((await events.next()).done, true);
  });
});
