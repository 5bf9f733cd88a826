/** The verifier SDK's event-stream reader, and how the revocation follower reconnects with what a stream left. */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { RevocationFollower } from '../src/sdk/verify/revocation-follower.js';
import { readEvents, type ServerSentEvent, type StreamState } from '../src/sdk/verify/sse.js';
import { ManualClock } from '../src/util/runtime.js';

const bytes = (text: string) => new TextEncoder().encode(text);

function bodyOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function readAll(chunks: readonly Uint8Array[], state?: StreamState): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readEvents(bodyOf(chunks), state)) events.push(event);
  return events;
}

describe('readEvents', () => {
  it('keeps the last event id for the events after it until another id: field', async () => {
    const state: StreamState = {};
    const events = await readAll([bytes('id: 7\nevent: heartbeat\ndata: {}\n\nevent: revoked\ndata: a\n\nid: 8\ndata: b\n\nid\ndata: c\n\n')], state);
    assert.deepEqual(
      events.map((e) => [e.event, e.data, e.id]),
      [
        ['heartbeat', '{}', '7'],
        ['revoked', 'a', '7'],
        ['message', 'b', '8'],
        // An empty id: field sets the last event id to "" (WHATWG HTML §9.2.6).
        ['message', 'c', ''],
      ],
    );
    assert.equal(state.lastEventId, '');
  });

  it('records the reconnection time a retry: field asks for, and ignores a malformed one', async () => {
    const state: StreamState = {};
    await readAll([bytes('retry: 3000\n\nretry: soon\ndata: x\n\n')], state);
    assert.equal(state.retryMs, 3000);
  });

  it('reads a stream fed one byte at a time exactly as the same stream in one piece', async () => {
    const text =
      '\uFEFF: comment\r\nid: 1\r\nevent: revoked\r\ndata: {"sid":"é😀"}\r\n\r\nevent: heartbeat\rdata: line one\rdata: line two\r\rretry: 500\nunknown: field\ndata:no-space\n\n';
    const whole = bytes(text);
    const state: StreamState = {};
    const oneByOne = await readAll(
      [...whole].map((b) => Uint8Array.of(b)),
      state,
    );
    assert.deepEqual(oneByOne, await readAll([whole]));
    assert.deepEqual(
      oneByOne.map((e) => [e.event, e.data, e.id]),
      [
        ['revoked', '{"sid":"é😀"}', '1'],
        ['heartbeat', 'line one\nline two', '1'],
        ['message', 'no-space', '1'],
      ],
    );
    assert.equal(state.retryMs, 500);
  });

  it('reads a large stream of many events, in one chunk and in uneven chunks', async () => {
    const count = 50_000;
    const text = Array.from({ length: count }, (_, i) => `id: ${i}\nevent: revoked\ndata: {"sid":"s${i}","revoked_at":${i}}\n\n`).join('');
    const whole = bytes(text);
    const uneven: Uint8Array[] = [];
    for (let at = 0, size = 1; at < whole.length; at += size, size = (size * 7 + 3) % 4093) uneven.push(whole.subarray(at, at + size));
    for (const chunks of [[whole], uneven]) {
      const events = await readAll(chunks);
      assert.equal(events.length, count);
      assert.deepEqual(events[count - 1], { event: 'revoked', data: `{"sid":"s${count - 1}","revoked_at":${count - 1}}`, id: String(count - 1) });
    }
  });
});

describe('RevocationFollower reconnection', () => {
  /** Lets the follower run every step that waits on no timer (the fake fetch answers at once). */
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('waits the retry: time the stream asked for, then reconnects with Last-Event-ID', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const streams: Headers[] = [];
    const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (!String(input).includes('/stream')) return Response.json({ revocations: [], next_since: 41 });
      streams.push(new Headers(init?.headers));
      // Each stream says its piece and ends, as a server going away would.
      return new Response(
        bodyOf([bytes('retry: 3000\nid: 41\nevent: heartbeat\ndata: {"next_since":41}\n\nevent: revoked\ndata: {"sid":"s1","revoked_at":1}\n\n')]),
      );
    };
    const errors: unknown[] = [];
    const follower = new RevocationFollower({
      url: 'http://issuer.test/v1/revocations',
      fetch: fakeFetch as typeof fetch,
      clock: new ManualClock(1_000),
      mode: 'stream',
      pollIntervalMs: 5_000,
      retentionMs: 60_000,
      onError: (err) => errors.push(err),
    });
    try {
      await follower.start();
      await settle();
      assert.equal(streams.length, 1);
      assert.equal(streams[0]?.get('last-event-id'), null);
      assert.ok(follower.has('s1'));
      // The default wait (250 ms) and the backoff cap (5 s) are both passed over: only the server's 3 s counts.
      t.mock.timers.tick(2_999);
      await settle();
      assert.equal(streams.length, 1, 'reconnected before the retry: time');
      t.mock.timers.tick(1);
      await settle();
      assert.equal(streams.length, 2);
      // The id came with the heartbeat; the revoked event after it had none, and the id stayed.
      assert.equal(streams[1]?.get('last-event-id'), '41');
      assert.deepEqual(errors, []);
    } finally {
      follower.close();
      mock.timers.reset();
    }
  });
});
