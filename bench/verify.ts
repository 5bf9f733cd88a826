/**
 * Access-token verification against raw node:crypto, in one process:
 * - raw: split the token, decode the signature, crypto.verify (the floor any verifier pays);
 * - first-seen: AccessTokenVerifier on tokens it has never seen (full checks, cache insert);
 * - repeated: AccessTokenVerifier on one token again and again (the verified-token cache).
 * Rounds alternate between the contenders so drift on a noisy machine hits both alike; each
 * ratio is the median of the ratios within a round (the first-seen rate against the raw rates
 * measured just before and after it). Prints one JSON line of ops/s and ratios.
 */
import { generateKeyPairSync, verify } from 'node:crypto';
import { signCompact } from '../src/auth/jws.js';
import { AccessTokenVerifier } from '../src/auth/verifier.js';
import { systemClock } from '../src/util/runtime.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const now = Math.floor(Date.now() / 1000);
const tokens = Array.from({ length: 4000 }, (_, i) =>
  signCompact(
    { typ: 'at+jwt', kid: 'k1' },
    { iss: 'https://bench', sub: `user-${i}`, aud: 'meridian', exp: now + 600, iat: now, jti: `j${i}`, sid: `s${i}`, region: 'local', username: `u${i}` },
    'ES256',
    privateKey,
  ),
);

const makeVerifier = () =>
  new AccessTokenVerifier({
    issuer: 'https://bench',
    audience: 'meridian',
    algorithms: ['ES256'],
    maxAgeSeconds: 600,
    clockSkewSeconds: 30,
    clock: systemClock,
    keys: (kid) => (kid === 'k1' ? { alg: 'ES256', key: publicKey } : undefined),
    isRevoked: () => false,
  });

function raw(token: string): boolean {
  const dot = token.lastIndexOf('.');
  return verify('sha256', Buffer.from(token.slice(0, dot)), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(token.slice(dot + 1), 'base64url'));
}

/** ops/s of `fn` over the token list for about `ms`. */
function rate(fn: (token: string, i: number) => unknown, ms: number): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++, n++) fn(tokens[n % tokens.length]!, n);
  }
  return n / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = { raw: [] as number[], firstSeen: [] as number[], repeated: [] as number[], firstSeenRatio: [] as number[], repeatedRatio: [] as number[] };
const one = tokens[0]!;
rate(raw, 300); // warm up
// Each round measures raw right before the contenders, and its ratios are taken within the round:
// the machine's drift is slower than a round, so it cancels in the ratio.
for (let round = 0; round < 11; round++) {
  const r = rate(raw, 300);
  // A fresh verifier per pass over the list: every token is seen for the first time.
  let v = makeVerifier();
  const first = rate((t, n) => {
    if (n % tokens.length === 0) v = makeVerifier();
    return v.verify(t);
  }, 300);
  const r2 = rate(raw, 300);
  const cached = makeVerifier();
  const repeated = rate(() => cached.verify(one), 300);
  results.raw.push(r, r2);
  results.firstSeen.push(first);
  results.repeated.push(repeated);
  results.firstSeenRatio.push((2 * first) / (r + r2));
  results.repeatedRatio.push(repeated / r2);
}
process.stdout.write(
  `${JSON.stringify({
    raw: median(results.raw),
    firstSeen: median(results.firstSeen),
    repeated: median(results.repeated),
    firstSeenRatio: median(results.firstSeenRatio),
    repeatedRatio: median(results.repeatedRatio),
  })}\n`,
);
