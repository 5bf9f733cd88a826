import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../util/runtime.js';

/**
 * The master key and what is derived from it. One 32-byte secret (from
 * MERIDIAN_MASTER_KEY, or generated once into the data directory for the
 * embedded default) is split by HKDF into independent keys per purpose, so
 * the key that encrypts signing keys never also keys token derivation.
 */

export type KeyPurpose = 'signing-key-encryption' | 'refresh-rotation' | 'dpop-nonce';

export function deriveKey(master: Buffer, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `meridian/${purpose}`, 32));
}

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from, for the start-up log (never the key itself). */
  origin: 'config' | 'generated' | 'data-dir';
}

/** The file in the data directory that holds a generated master key. */
export const MASTER_KEY_FILE = 'master.key';

/** The configured master key, else the data directory's, else a new one written there (mode 0600). */
export function resolveMasterKey(configured: string | undefined, dataDir: string, random: Random): MasterKeySource {
  if (configured) return { key: Buffer.from(configured, configured.includes('+') || configured.includes('/') ? 'base64' : 'base64url'), origin: 'config' };
  const file = join(dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) return { key: readKeyFile(file), origin: 'data-dir' };
  mkdirSync(dataDir, { recursive: true });
  const key = random.bytes(32);
  // Written aside, then linked into place: processes starting together (an API server and its
  // worker) never see a half-written file, and the one that links second takes the first one's key.
  const aside = `${file}.${process.pid}.${key.subarray(0, 4).toString('hex')}`;
  writeFileSync(aside, `${key.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(aside, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { key: readKeyFile(file), origin: 'data-dir' };
  } finally {
    unlinkSync(aside);
  }
  chmodSync(file, 0o600);
  return { key, origin: 'generated' };
}

function readKeyFile(file: string): Buffer {
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
  return key;
}

/** AES-256-GCM; `aad` binds the ciphertext to its row (the kid), so rows cannot be swapped. */
export function seal(key: Buffer, plaintext: string, aad: string, random: Random): string {
  const iv = random.bytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function open(key: Buffer, sealed: string, aad: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
