/**
 * The history model's reading of a double spend (two regions accepting one
 * token outside the grace window), without a cluster: what it then expects of
 * the family depends on how far the first branch had rotated past the
 * successor both minted, because that is how far replication's check sees
 * (docs/multi-region.md, "Double spend").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Answer, HistoryModel, type Session } from './history-model.js';

const GRACE_MS = 10_000;

function history() {
  const clock = { t: 0, now: () => clock.t };
  const model = new HistoryModel(GRACE_MS, clock);
  const answer = (token: string, servedBy: string): Answer => ({
    status: 200,
    servedBy,
    refreshToken: token,
    accessToken: 'at',
    expiresIn: 900,
    ms: 1,
  });
  const s = model.openSession('traveller-0', answer('T0', 'eu-west'));
  /** The client's own refreshes at eu-west, one a second: T0 -> T1 -> ... -> T`n`. */
  const rotate = (n: number) => {
    for (let g = 0; g < n; g++) {
      clock.t += 1000;
      model.recordAccepted(s, `T${g}`, answer(`T${g + 1}`, 'eu-west'));
      s.current = `T${g + 1}`;
    }
  };
  /** T0 presented again at us-east, whose stale copy mints T1 again, well outside the window. */
  const replayAtUsEast = (): Session => {
    clock.t += GRACE_MS + 5000;
    model.recordAccepted(s, 'T0', answer('T1', 'us-east'));
    return s;
  };
  return { model, rotate, replayAtUsEast };
}

describe('the history model on a double spend', () => {
  it('expects the family ended once replication meets, when the first branch rotated past the successor once', () => {
    const h = history();
    h.rotate(2);
    const s = h.replayAtUsEast();
    assert.equal(s.ended?.rule, 'double-spend-survived');
    assert.equal(s.ended?.spentCopy, undefined);
  });

  it('expects reuse of the spent copy to end it, when the first branch rotated past twice or more', () => {
    const h = history();
    h.rotate(3);
    const s = h.replayAtUsEast();
    assert.equal(s.ended?.rule, 'double-spend-reuse-not-revoked');
    assert.deepEqual(s.ended?.spentCopy, { token: 'T1', region: 'us-east' });
    assert.match(s.ended?.why ?? '', /2 rotations past the check/);
  });
});
