/**
 * A resource server's verifier in a process of its own, for the SDK tests:
 * reads one access token per line on stdin and answers one JSON line per
 * token on stdout ({"ok":true,"sub"} or {"ok":false,"error"}).
 * Usage: node --import tsx test/verifier-process.ts <issuer> <audience>
 */
import { createInterface } from 'node:readline';
import { createVerifier, isAppError } from '../src/sdk/verify/index.js';

const [issuer, audience] = process.argv.slice(2) as [string, string];
const verifier = createVerifier({ issuer, audience });
await verifier.ready();
process.stdout.write('{"ready":true}\n');

for await (const token of createInterface({ input: process.stdin })) {
  try {
    const claims = await verifier.verify(token);
    process.stdout.write(`${JSON.stringify({ ok: true, sub: claims.sub })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: isAppError(err) ? err.code : String(err) })}\n`);
  }
}
verifier.close();
