/**
 * Other spellings of a genuine ES256 token that a lenient verifier would take
 * for the same token: the ECDSA twin signature (r, n - s), and base64url
 * segments that decode to the same bytes. None may verify.
 */

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const hex32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');

/** The signature's s, as a number. */
export function sOf(token: string): bigint {
  const sig = Buffer.from(token.split('.')[2] ?? '', 'base64url');
  return BigInt(`0x${sig.subarray(32).toString('hex')}`);
}

export const isHighS = (token: string): boolean => sOf(token) > P256_N / 2n;

/** The same token with s replaced by n - s: the twin that verifies under plain ECDSA. */
export function flipS(token: string): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(sig, 'base64url');
  const flipped = Buffer.concat([bytes.subarray(0, 32), hex32(P256_N - sOf(token))]);
  return `${h}.${p}.${flipped.toString('base64url')}`;
}

const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** An Ed25519 token with S + L for S (little-endian, still 32 bytes): equal modulo the group order. */
export function addL(token: string): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(sig, 'base64url');
  const s = BigInt(`0x${Buffer.from(bytes.subarray(32)).reverse().toString('hex')}`) + ED25519_L;
  return `${h}.${p}.${Buffer.concat([bytes.subarray(0, 32), hex32(s).reverse()]).toString('base64url')}`;
}

/** The same token with its signature in the low half (jose, like OpenSSL, emits either). */
export const withLowS = (token: string): string => (isHighS(token) ? flipS(token) : token);

/** A segment whose last character differs only in bits the decoder drops; undefined when it has none. */
function dirtyLastChar(segment: string): string | undefined {
  const unused = { 2: 4, 3: 2 }[segment.length % 4];
  if (!unused) return undefined;
  const index = ALPHABET.indexOf(segment.at(-1) ?? '');
  return segment.slice(0, -1) + ALPHABET[index | 1];
}

/** Each non-canonical spelling of each segment, with a label saying what it is. */
export function nonCanonical(token: string): Array<[string, string]> {
  const segments = token.split('.');
  const out: Array<[string, string]> = [];
  segments.forEach((segment, i) => {
    const name = ['header', 'payload', 'signature'][i];
    const spell = (replacement: string) => segments.map((s, j) => (j === i ? replacement : s)).join('.');
    const dirty = dirtyLastChar(segment);
    if (dirty) out.push([`${name}: unused bits of the last character set`, spell(dirty)]);
    if (segment.length % 4) out.push([`${name}: padded`, spell(segment + '='.repeat(4 - (segment.length % 4)))]);
    out.push([`${name}: a stray character`, spell(`${segment.slice(0, 4)}!${segment.slice(4)}`)]);
    if (/[-_]/.test(segment)) out.push([`${name}: the standard alphabet`, spell(segment.replace(/-/g, '+').replace(/_/g, '/'))]);
  });
  return out;
}
