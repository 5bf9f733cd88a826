import type { Logger } from 'pino';
import type { KeyRing, PublishedKey } from '../auth/keys.js';
import { type Repeating, repeat } from '../util/repeat.js';
import type { PeerClient } from './peer-client.js';
import type { Topology } from './topology.js';

/** What /internal/v1/keys answers: a region's own public keys. Times are epoch ms. */
export interface KeysBody {
  region: string;
  issuer: string;
  keys: { kid: string; alg: string; jwk: Record<string, unknown>; activates_at: number; retired_at: number | null }[];
}

export const toKeysBody = (region: string, issuer: string, keys: PublishedKey[]): KeysBody => ({
  region,
  issuer,
  keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, jwk: k.jwk, activates_at: k.activatesAt, retired_at: k.retiredAt })),
});

export interface KeySyncOptions {
  client: PeerClient;
  keys: KeyRing;
  topology: Topology;
  self: string;
  issuer: string;
  /** Seconds between rounds once every region has been reached. */
  intervalSeconds: number;
  logger: Logger;
}

// Until a region has been reached once (all regions starting together), ask it again this often.
const RETRY_UNSEEN_MS = 1000;

/**
 * Fetches every other region's public keys (all regions, not only the
 * peers: a token may come from anywhere) at start and then periodically, and
 * stores them in this region's key table. So every region's JWKS lists every
 * region's keys, and a region restarted while another is down still verifies
 * that region's tokens. A key rotated in somewhere is published for
 * MERIDIAN_KEY_PUBLISH_DELAY before it signs, longer than a round.
 */
export class KeySync {
  private readonly seen = new Set<string>();
  private loop: Repeating | undefined;

  constructor(private readonly o: KeySyncOptions) {}

  private get others(): string[] {
    return this.o.topology.regions.map((r) => r.id).filter((id) => id !== this.o.self);
  }

  /** One round over every other region; resolves with the regions that could not be reached. */
  async syncAll(): Promise<string[]> {
    const results = await Promise.allSettled(this.others.map((id) => this.syncRegion(id)));
    const failed: string[] = [];
    for (const [i, r] of results.entries()) {
      const region = this.others[i] as string;
      if (r.status === 'fulfilled') {
        this.seen.add(region);
        continue;
      }
      failed.push(region);
      this.o.logger.warn({ region, err: r.reason }, 'could not fetch the keys of a region; its known keys stay in use');
    }
    return failed;
  }

  private async syncRegion(region: string): Promise<void> {
    const res = await this.o.client.request<KeysBody>(region, '/internal/v1/keys', { operation: 'keys', internal: true });
    if (res.status !== 200) throw this.o.client.answerError(region, res);
    const body = res.body;
    if (body?.region !== region || !Array.isArray(body.keys)) throw new Error(`the URL of region ${region} answers as region ${String(body?.region)}`);
    if (body.issuer !== this.o.issuer) {
      this.o.logger.error({ region, issuer: body.issuer }, 'another region has a different MERIDIAN_ISSUER: its tokens will not verify here');
    }
    const keys = body.keys.map((k) => ({ kid: k.kid, alg: k.alg, jwk: k.jwk, activatesAt: k.activates_at, retiredAt: k.retired_at }));
    const refused = await this.o.keys.importForeign(region, keys);
    if (refused.length) this.o.logger.error({ region, kids: refused }, 'refused keys from another region that do not match their kid or algorithm');
  }

  /** Starts the rounds: the first now, then every interval (every second while a region was never reached). */
  start(): void {
    const allSeen = () => this.others.every((id) => this.seen.has(id));
    this.loop = repeat(
      async () => void (await this.syncAll()),
      () => (allSeen() ? this.o.intervalSeconds * 1000 : RETRY_UNSEEN_MS),
    );
  }

  stop(): void {
    this.loop?.stop();
  }
}
