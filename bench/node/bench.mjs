// Times the operations bench/bench_crypto.cpp measures, in the JavaScript
// implementations Polkadot tooling uses, with the same inputs (64-byte message
// 0x00..0x3f, seed 0x01..0x20, VRF context "substrate-bench-vrf", empty extra):
//
//   schnorrkel-wasm  @polkadot/wasm-crypto 7.5.4 (w3f/schnorrkel, ed25519-dalek,
//                    libsecp256k1 and blake2/keccak compiled to WebAssembly)
//   scure            @scure/sr25519 2.3.0 (TypeScript on @noble/curves)
//   util-crypto      @polkadot/util-crypto 14.0.3 as apps call it (sr25519 there is
//                    @scure/sr25519 0.2.0; ed25519 is @noble/curves; secp256k1 is wasm)
//   noble            @noble/curves 1.9.7 ristretto255 base multiplication (the JS baseline)
//
// Uses the packages installed for the cross-checks: npm ci --prefix tests/node
// Run: node bench/node/bench.mjs [--json] [--min-ms=1000] [--reps=5]
// Each figure is the median over `reps` runs of ns per operation, each run lasting
// at least `min-ms` milliseconds.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const nodeDir = new URL('../../tests/node/package.json', import.meta.url);
const require = createRequire(nodeDir);
let wasm, uc, scure, noble;
try {
  wasm = require('@polkadot/wasm-crypto');
  uc = require('@polkadot/util-crypto');
  scure = await import(pathToFileURL(require.resolve('@scure/sr25519')).href);
  noble = await import(pathToFileURL(require.resolve('@noble/curves/ed25519')).href);
} catch (e) {
  console.error(`bench.mjs: ${e.message}\nInstall the packages first: npm ci --prefix tests/node`);
  process.exit(2);
}

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v ?? true];
}));
const MIN_MS = Number(args['min-ms'] ?? 1000);
const REPS = Number(args.reps ?? 5);

await uc.cryptoWaitReady();
await wasm.waitReady();

const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const vrfCtx = new TextEncoder().encode('substrate-bench-vrf');
const noExtra = new Uint8Array();

// sr25519 key, in the 64-byte ed25519 layout both schnorrkel-wasm and scure take.
const srPair = wasm.sr25519KeypairFromSeed(seed);
const srSecret = srPair.slice(0, 64);
const srPublic = srPair.slice(64);
const srSigWasm = wasm.sr25519Sign(srPublic, srSecret, msg);
const srSigScure = scure.sign(srSecret, msg);
const vrfWasm = wasm.vrfSign(srSecret, vrfCtx, msg, noExtra);
const vrfScure = scure.vrf.sign(msg, srSecret, vrfCtx, noExtra);

const edPair = uc.ed25519PairFromSeed(seed);
const edSig = uc.ed25519Sign(msg, edPair);
const edWasmPair = wasm.ed25519KeypairFromSeed(seed); // secret (32) || public (32)
const edWasmSig = wasm.ed25519Sign(edWasmPair.slice(32), edWasmPair.slice(0, 32), msg);
const ecPair = uc.secp256k1PairFromSeed(seed);
const ecSig = uc.secp256k1Sign(msg, ecPair, 'blake2');

const scalar = noble.ed25519.CURVE.n - 12345678901234567890n; // any full-size scalar
const sink = [];
const keep = (x) => { if (sink.push(x) > 1024) sink.length = 0; };
const must = (ok, what) => { if (ok !== true) throw new Error(`bench setup: ${what} failed`); };
must(wasm.sr25519Verify(srSigWasm, msg, srPublic), 'wasm sr25519 verify');
must(scure.verify(msg, srSigScure, srPublic), 'scure verify');
must(wasm.vrfVerify(srPublic, vrfCtx, msg, noExtra, vrfWasm), 'wasm vrf verify');
must(scure.vrf.verify(msg, vrfScure, srPublic, vrfCtx, noExtra), 'scure vrf verify');
must(uc.ed25519Verify(msg, edSig, edPair.publicKey), 'ed25519 verify');
must(wasm.ed25519Verify(edWasmSig, msg, edWasmPair.slice(32)), 'wasm ed25519 verify');
must(uc.secp256k1Verify(msg, ecSig, ecPair.publicKey, 'blake2'), 'secp256k1 verify');

// [operation (same names as docs/PERFORMANCE.md rows), implementation, fn]
const cases = [
  ['ristretto255 base mult', 'noble', () => keep(noble.RistrettoPoint.BASE.multiply(scalar).toRawBytes())],
  ['sr25519 sign', 'schnorrkel-wasm', () => keep(wasm.sr25519Sign(srPublic, srSecret, msg))],
  ['sr25519 sign', 'scure', () => keep(scure.sign(srSecret, msg))],
  ['sr25519 sign', 'util-crypto', () => keep(uc.sr25519Sign(msg, { publicKey: srPublic, secretKey: srSecret }))],
  ['sr25519 verify', 'schnorrkel-wasm', () => keep(wasm.sr25519Verify(srSigWasm, msg, srPublic))],
  ['sr25519 verify', 'scure', () => keep(scure.verify(msg, srSigScure, srPublic))],
  ['sr25519 VRF sign', 'schnorrkel-wasm', () => keep(wasm.vrfSign(srSecret, vrfCtx, msg, noExtra))],
  ['sr25519 VRF sign', 'scure', () => keep(scure.vrf.sign(msg, srSecret, vrfCtx, noExtra))],
  ['sr25519 VRF verify', 'schnorrkel-wasm', () => keep(wasm.vrfVerify(srPublic, vrfCtx, msg, noExtra, vrfWasm))],
  ['sr25519 VRF verify', 'scure', () => keep(scure.vrf.verify(msg, vrfScure, srPublic, vrfCtx, noExtra))],
  ['ed25519 sign', 'wasm (ed25519-dalek)', () => keep(wasm.ed25519Sign(edWasmPair.slice(32), edWasmPair.slice(0, 32), msg))],
  ['ed25519 sign', 'util-crypto (noble)', () => keep(uc.ed25519Sign(msg, edPair))],
  ['ed25519 verify', 'wasm (ed25519-dalek)', () => keep(wasm.ed25519Verify(edWasmSig, msg, edWasmPair.slice(32)))],
  ['ed25519 verify', 'util-crypto (noble)', () => keep(uc.ed25519Verify(msg, edSig, edPair.publicKey))],
  ['ecdsa sign', 'util-crypto (wasm libsecp256k1)', () => keep(uc.secp256k1Sign(msg, ecPair, 'blake2'))],
  ['ecdsa verify', 'util-crypto (wasm libsecp256k1)', () => keep(uc.secp256k1Verify(msg, ecSig, ecPair.publicKey, 'blake2'))],
  ['blake2b-256 (64 B)', 'wasm', () => keep(wasm.blake2b(msg, new Uint8Array(), 32))],
  ['blake2b-256 (64 B)', 'util-crypto', () => keep(uc.blake2AsU8a(msg))],
  ['keccak-256 (64 B)', 'wasm', () => keep(wasm.keccak256(msg))],
  ['keccak-256 (64 B)', 'util-crypto', () => keep(uc.keccakAsU8a(msg))],
  ['Merlin signing context', 'scure', () => {
    const t = new scure.__tests.SigningContext('SigningContext');
    t.label(new TextEncoder().encode('substrate'));
    keep(t.bytes(msg));
  }]
];

function timeOnce (fn) {
  let iters = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MIN_MS) * 1000000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 16; i++) fn();
    iters += 16;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / iters;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

const results = [];
for (const [op, impl, fn] of cases) {
  for (let i = 0; i < 50; i++) fn(); // warm up (JIT, wasm tiering)
  const runs = Array.from({ length: REPS }, () => timeOnce(fn));
  const ns = median(runs);
  results.push({ op, impl, ns, min: Math.min(...runs), max: Math.max(...runs) });
  if (!args.json) console.log(`${op.padEnd(24)} ${impl.padEnd(32)} ${ns.toFixed(0).padStart(10)} ns`);
}

const base = results.find((r) => r.op === 'ristretto255 base mult').ns;
for (const impl of ['schnorrkel-wasm', 'scure']) {
  const sign = results.find((r) => r.op === 'sr25519 sign' && r.impl === impl).ns;
  if (!args.json) console.log(`ratio sr25519 sign (${impl}) / noble ristretto255 base mult = ${(sign / base).toFixed(2)}`);
}
if (args.json) console.log(JSON.stringify({ node: process.version, results }, null, 2));
