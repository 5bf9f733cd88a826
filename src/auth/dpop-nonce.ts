import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../util/runtime.js';

/**
 * Server-provided DPoP nonces (RFC 9449 §8) without storage: a nonce names a
 * period of time and carries a MAC of it under a key every server of the
 * service derives alike, so any process (and, with the shared region secret,
 * any region) accepts what another handed out. A nonce is accepted during
 * its own period and the next, so one handed out just before a period ends
 * still works for a retry.
 */
export class DpopNonces {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
    private readonly periodSeconds: number,
  ) {}

  /** The nonce to hand out now. */
  current(): string {
    return this.nonceFor(this.period());
  }

  accepts(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const now = this.period();
    return [now, now - 1].some((p) => equal(nonce, this.nonceFor(p)));
  }

  private period(): number {
    return Math.floor(this.clock.now() / 1000 / this.periodSeconds);
  }

  private nonceFor(period: number): string {
    const mac = createHmac('sha256', this.key).update(`dpop-nonce:${period}`).digest().subarray(0, 16);
    return `${period.toString(36)}.${mac.toString('base64url')}`;
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
