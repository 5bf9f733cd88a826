/**
 * PollLoop's pauses, on node:test's mock timers (virtual time: nothing here
 * waits or measures the wall clock).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { SENDER_POLL } from '../src/regions/replication.js';
import { PollLoop, type PollLoopOptions } from '../src/util/poll-loop.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs a loop whose every step fails for `ms` of virtual time; returns the virtual times of its attempts. */
async function failingAttempts(o: Pick<PollLoopOptions, 'idleMs' | 'maxErrorPauseMs' | 'batch'>, ms: number): Promise<number[]> {
  let now = 0;
  const attempts: number[] = [];
  const loop = new PollLoop(
    async () => {
      attempts.push(now);
      throw new Error('region unreachable');
    },
    { ...o, onFailing: () => {}, onRecovered: () => {} },
  );
  loop.start();
  await settle();
  for (; now < ms; ) {
    now += 10;
    mock.timers.tick(10);
    await settle();
  }
  await loop.stop();
  return attempts;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] as number));

describe('PollLoop', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('doubles its pause while the step fails, up to maxErrorPauseMs and never beyond', async () => {
    const times = await failingAttempts({ idleMs: 100, maxErrorPauseMs: 1000, batch: 10 }, 6000);
    assert.deepEqual(gaps(times).slice(0, 6), [200, 400, 800, 1000, 1000, 1000]);
    assert.ok(gaps(times).every((g) => g <= 1000));
  });

  it('a replication sender tries a region that does not answer often enough for a healed link to get a revocation within 1 s', async () => {
    const times = await failingAttempts(SENDER_POLL, 10_000);
    const longest = Math.max(...gaps(times));
    // The pause is all a healed link waits before its backlog moves; the call and the apply need the rest of the second.
    assert.ok(longest <= 500, `longest pause between attempts: ${longest} ms`);
    assert.ok(times.length > 20, 'it kept trying');
  });
});
