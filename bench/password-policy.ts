/**
 * Cost of the password policy (checkPassword, on the event loop) per check,
 * for 15- and 1024-character passwords, beside one argon2id hash with
 * Meridian's parameters measured in the same run. Prints one JSON line:
 * median wall-clock and mean CPU milliseconds per check for each input.
 */
import { createHash } from 'node:crypto';
import { Algorithm, hash } from '@node-rs/argon2';
import { ARGON2_PARAMS } from '../src/auth/passwords.js';
import { checkPassword } from '../src/auth/credentials.js';

const runs = Number(process.argv[2] ?? 30);
const policy = { minLength: 15, maxLength: 1024 };

function pseudoRandom(length: number): string {
  let out = '';
  for (let block = 'bench'; out.length < length; ) out += block = createHash('sha256').update(block).digest('base64url');
  return out.slice(0, length);
}

const digits = (n: number) => '1029384756'.repeat(Math.ceil(n / 10)).slice(0, n);
const inputs: Record<string, string> = {
  'random-15': pseudoRandom(15),
  'weak-15': 'password1234567',
  'passphrase-28': 'correct horse battery staple',
  'random-1024': pseudoRandom(1024),
  'digits-1024': digits(1024), // digits are l33t candidates: the dearest input found
  'repeat-1024': 'a'.repeat(1024),
};

function check(password: string): void {
  try {
    checkPassword(password, policy);
  } catch {
    // refused: the cost is what is measured
  }
}

async function measure(f: () => unknown): Promise<{ wallMs: number; cpuMs: number }> {
  for (let i = 0; i < 5; i++) await f();
  const walls: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    walls.push(performance.now() - start);
  }
  const used = process.cpuUsage(cpu);
  walls.sort((a, b) => a - b);
  return { wallMs: round(walls[Math.floor(runs / 2)]!), cpuMs: round((used.user + used.system) / 1000 / runs) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

const result: Record<string, unknown> = {};
for (const [name, password] of Object.entries(inputs)) result[name] = await measure(() => check(password));
result['argon2id-hash'] = await measure(() => hash('correct horse battery staple', { ...ARGON2_PARAMS, algorithm: Algorithm.Argon2id }));
process.stdout.write(`${JSON.stringify(result)}\n`);
