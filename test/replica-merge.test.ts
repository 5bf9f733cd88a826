/**
 * Merging a replicated rotation one generation ahead of the copy here, from
 * a sender that does not know when the generation before it was minted (its
 * own copy skipped that generation): the copy here knows, and keeps it, so a
 * third region's copy of that generation minted at another time is still
 * found as a double spend (replication-apply.ts, "the one before where
 * either side has rotated past it once").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DoubleSpendRule } from '../src/storage/background.js';
import type { ReplicatedFamily } from '../src/storage/replication-records.js';
import { createTestApp, json, login, refresh, type TestApp, type Tokens } from './helpers.js';

describe('a replicated rotation that skipped a generation', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'postgres' });
  });
  after(() => t.close());

  const row = async (id: string) =>
    (
      await t.db.query<{ generation: number; last_used_at: Date; previous_rotated_at: Date | null }>(
        'SELECT generation, last_used_at, previous_rotated_at FROM sessions WHERE id = $1',
        [id],
      )
    ).rows[0]!;

  it('keeps the minting of the generation held here as the one before', async () => {
    const tokens = await login(t.app, 'merge-skipped');
    t.clock.advance(60_000);
    const rotated = json<Tokens>(await refresh(t.app, tokens.refresh_token));
    const id = rotated.refresh_token.split('.')[0]!;
    const here = await row(id);
    assert.equal(here.generation, 1);

    // Generation 2 from a region whose copy went from 0 to 2 at once: it cannot say when 1 was minted.
    t.clock.advance(60_000);
    const userId = (await t.db.query<{ user_id: string }>('SELECT user_id FROM sessions WHERE id = $1', [id])).rows[0]!.user_id;
    const family = (generation: number, lastUsedAt: number, previousRotatedAt: number | null): ReplicatedFamily => ({
      id,
      userId,
      region: t.config.region,
      generation,
      createdAt: t.clock.now() - 120_000,
      expiresAt: t.clock.now() + 86_400_000,
      lastUsedAt,
      previousRotatedAt,
      revokedAt: null,
      revokedReason: null,
    });
    const seen: Parameters<DoubleSpendRule>[] = [];
    const rule: DoubleSpendRule = (there, held) => {
      seen.push([there, held]);
      return false;
    };
    const event = (f: ReplicatedFamily) => ({ id: '1', kind: 'rotated' as const, at: t.clock.now(), family: f, tokens: [] });
    await t.services.storage.replicas.apply(event(family(2, t.clock.now(), null)), rule, t.clock.now());
    const merged = await row(id);
    assert.equal(merged.generation, 2);
    assert.equal(merged.previous_rotated_at?.getTime(), here.last_used_at.getTime(), 'generation 1 as minted here');

    // A third region's generation 1, minted a minute after this one: the check is given both mintings.
    const elsewhere = here.last_used_at.getTime() + 60_000;
    await t.services.storage.replicas.apply(event(family(1, elsewhere, null)), rule, t.clock.now());
    const [there, held] = seen.at(-1)!;
    assert.deepEqual([there.generation, there.lastUsedAt, held.generation, held.previousRotatedAt], [1, elsewhere, 2, here.last_used_at.getTime()]);
  });
});
