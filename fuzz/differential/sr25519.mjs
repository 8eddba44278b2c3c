// Differential check of sr25519 verification: every verdict our verify gave
// while fuzz_sr25519_verify ran (lines "pk sig msg verdict" in hex, written
// with TS_FUZZ_DIFF_OUT) is recomputed by two independent implementations,
// @polkadot/util-crypto (schnorrkel compiled to wasm) and @scure/sr25519, and
// must agree with both. Usage: node fuzz/differential/sr25519.mjs FILE
// (fuzz/differential/run.sh does the whole thing).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const modules = path.join(repo, 'tests/node/node_modules');
const require = createRequire(path.join(repo, 'tests/node/package.json'));
const uc = require('@polkadot/util-crypto');
const scure = await import(pathToFileURL(path.join(modules, '@scure/sr25519/index.js')).href);
await uc.cryptoWaitReady();

const file = process.argv[2];
if (!file) {
  console.error('usage: sr25519.mjs VERDICTS_FILE');
  process.exit(2);
}
const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const safe = (f) => { try { return f() === true; } catch { return false; } };

// Rechecking is slow (@scure/sr25519 is plain JS): at most TS_DIFF_MAX_ACCEPTED
// (default 5000) inputs we accepted and TS_DIFF_MAX_REJECTED (default 20000)
// we rejected, in the order the fuzzer produced them.
const maxAccepted = Number(process.env.TS_DIFF_MAX_ACCEPTED ?? 5000);
const maxRejected = Number(process.env.TS_DIFF_MAX_REJECTED ?? 20000);
let acceptedSkipped = 0, rejectedChecked = 0, rejectedSkipped = 0;
const seen = new Set();
let total = 0, accepted = 0, mismatches = 0;
const rl = readline.createInterface({ input: fs.createReadStream(file) });
for await (const line of rl) {
  if (!line || seen.has(line)) continue;
  seen.add(line);
  const [pkHex, sigHex, msgHex = '', verdict] = line.split(' ');
  const pk = hex(pkHex), sig = hex(sigHex), msg = hex(msgHex);
  const ours = verdict === '1';
  if (ours && accepted >= maxAccepted) {
    acceptedSkipped++;
    continue;
  }
  if (!ours) {
    if (rejectedChecked >= maxRejected) {
      rejectedSkipped++;
      continue;
    }
    rejectedChecked++;
  }
  const wasm = safe(() => uc.sr25519Verify(msg, sig, pk));
  const noble = safe(() => scure.verify(msg, sig, pk));
  total++;
  if (ours) accepted++;
  if (ours !== wasm || ours !== noble) {
    mismatches++;
    if (mismatches <= 20)
      console.log(`MISMATCH ours=${ours} util-crypto=${wasm} @scure=${noble}: ${line}`);
  }
}
console.log(`sr25519 differential: ${total} distinct inputs rechecked (${accepted} accepted by us, ` +
            `${rejectedChecked} rejected), not rechecked: ${acceptedSkipped} accepted, ` +
            `${rejectedSkipped} rejected; ${mismatches} mismatches`);
process.exit(mismatches === 0 ? 0 : 1);
