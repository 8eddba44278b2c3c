// Merge bench_crypto's Google Benchmark JSON and bench.mjs --json into the
// Markdown table of docs/PERFORMANCE.md.
//   node bench/node/report.mjs bench_crypto.json bench_node.json
import { readFileSync } from 'node:fs';

const [cppFile, nodeFile] = process.argv.slice(2);
if (!cppFile || !nodeFile) {
  console.error('usage: report.mjs bench_crypto.json bench_node.json');
  process.exit(2);
}
const cpp = JSON.parse(readFileSync(cppFile, 'utf8'));
const js = JSON.parse(readFileSync(nodeFile, 'utf8'));

// Google Benchmark reports *_median / *_mean / *_stddev / *_cv (and our *_min)
// aggregates; the table uses the median CPU time, the ratios also the minimum.
const ns = (unit, t) => t * ({ ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[unit]);
const ours = {};
const oursMin = {};
for (const b of cpp.benchmarks) {
  if (b.aggregate_name === 'median' || (b.run_type === 'iteration' && !(b.run_name in ours))) {
    ours[b.run_name] = ns(b.time_unit, b.cpu_time);
  }
  if (b.aggregate_name === 'min') oursMin[b.run_name] = ns(b.time_unit, b.cpu_time);
}

const rows = [
  ['ristretto255 base mult', 'BM_ristretto255_scalarmult_base', 'libsodium crypto_scalarmult_ristretto255_base'],
  ['ristretto255 variable-base mult', 'BM_ristretto255_scalarmult', 'libsodium crypto_scalarmult_ristretto255'],
  ['Merlin signing context', 'BM_merlin_signing_context', 'Transcript "SigningContext" + context + 64 B message'],
  ['sr25519 sign', 'BM_sr25519_sign', ''],
  ['sr25519 sign (KeyPair API)', 'BM_sr25519_sign_keypair_api', 'through core::KeyPair::sign'],
  ['sr25519 sign, given randomness', 'BM_sr25519_sign_given_randomness', 'sign_with_randomness: no random source call'],
  ['random source, 32 B', 'BM_random_source_32B', 'libsodium randombytes_buf (getrandom)'],
  ['sr25519 verify', 'BM_sr25519_verify', ''],
  ['sr25519 VRF sign', 'BM_sr25519_vrf_sign', ''],
  ['sr25519 VRF verify', 'BM_sr25519_vrf_verify', ''],
  ['ed25519 sign', 'BM_ed25519_sign', ''],
  ['ed25519 verify', 'BM_ed25519_verify', ''],
  ['ecdsa sign', 'BM_ecdsa_sign', 'blake2_256 + recoverable sign'],
  ['ecdsa verify', 'BM_ecdsa_verify', 'blake2_256 + recover + compare'],
  ['blake2b-256 (64 B)', 'BM_blake2b_256_64B', ''],
  ['keccak-256 (64 B)', 'BM_keccak_256_64B', '']
];
const fmt = (x) => x === undefined ? '–' : x >= 1e5 ? `${(x / 1e3).toFixed(0)} µs` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} µs` : `${x.toFixed(0)} ns`;
const impls = [...new Set(js.results.map((r) => r.impl))];
const jsFor = (op) => js.results.filter((r) => r.op === op);

console.log('| operation | tee-signer (C++) | JavaScript / wasm (same inputs) | note |');
console.log('|---|---:|---|---|');
for (const [op, bm, note] of rows) {
  const others = jsFor(op).map((r) => `${r.impl}: ${fmt(r.ns)}`).join('<br>') || '–';
  console.log(`| ${op} | ${fmt(ours[bm])} | ${others} | ${note} |`);
}
const ratio = (table, bm) => (table[bm] / table.BM_ristretto255_scalarmult_base).toFixed(2);
console.log();
console.log('| ratio to ristretto255 base mult | median | fastest repetition |');
console.log('|---|---:|---:|');
for (const [label, bm] of [['sr25519 sign', 'BM_sr25519_sign'],
  ['sr25519 sign, given randomness', 'BM_sr25519_sign_given_randomness'],
  ['sr25519 sign (KeyPair API)', 'BM_sr25519_sign_keypair_api'],
  ['sr25519 VRF sign', 'BM_sr25519_vrf_sign'],
  ['ed25519 sign', 'BM_ed25519_sign']]) {
  if (ours[bm] === undefined) continue;
  console.log(`| ${label} | ${ratio(ours, bm)}x | ${oursMin[bm] === undefined ? '–' : ratio(oursMin, bm) + 'x'} |`);
}
const jsBase = js.results.find((r) => r.op === 'ristretto255 base mult');
for (const impl of ['schnorrkel-wasm', 'scure']) {
  const r = js.results.find((x) => x.op === 'sr25519 sign' && x.impl === impl);
  if (r && jsBase) console.log(`| JS: sr25519 sign (${impl}) / noble base mult | ${(r.ns / jsBase.ns).toFixed(2)}x | ${(r.min / jsBase.min).toFixed(2)}x |`);
}
console.log();
console.log(`Node ${js.node}; JS implementations: ${impls.join(', ')}`);
