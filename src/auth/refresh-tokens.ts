import { createHash, createHmac } from 'node:crypto';
import type { Random } from '../util/runtime.js';

/**
 * Refresh-token format: `<origin region>.<43 base64url chars>` (256 bits).
 * The region prefix tells any region where the family lives. Only the
 * SHA-256 of a token is stored: the token has full entropy, so a fast hash
 * is enough and lets a lookup be a plain index probe.
 *
 * A child is derived from its parent with an HMAC under a server secret,
 * never drawn at random. A retry of the parent inside the grace window can
 * then be answered with the very same child, recomputed, without the child
 * ever being stored in plain text; without the secret a parent says nothing
 * about its child.
 */

const FORMAT = /^([a-z][a-z0-9-]{0,31})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(region: string, random: Random): string {
  return `${region}.${random.bytes(32).toString('base64url')}`;
}

export function deriveChildToken(parent: string, region: string, rotationKey: Buffer): string {
  const secret = createHmac('sha256', rotationKey).update(parent).digest('base64url');
  return `${region}.${secret}`;
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The origin region of a well-formed token; undefined for anything else (checked before any lookup). */
export function refreshTokenRegion(token: string): string | undefined {
  return FORMAT.exec(token)?.[1];
}
