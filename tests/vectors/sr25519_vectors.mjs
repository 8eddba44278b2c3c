// Regenerates the sr25519 vectors embedded in tests/unit/test_sr25519.cpp from
// independent implementations:
//   - @polkadot/wasm-crypto 7.x: w3f/schnorrkel (Rust) compiled to wasm, the same
//     code polkadot-sdk's sp-core runs;
//   - @scure/sr25519 2.x: an independent TypeScript implementation, which accepts
//     caller-chosen randomness, so its signatures, VRF proofs and soft-derived
//     nonces can be compared byte for byte;
//   - @polkadot/keyring / @polkadot/util-crypto for secret-URI junction chain codes.
//
// Usage: node tests/vectors/sr25519_vectors.mjs
// Packages are loaded from $TS_NODE_MODULES, else tests/node/node_modules (run
// `npm ci` in tests/node first). Signatures from wasm-crypto are randomised, so
// those lines differ on every run; every other line is deterministic.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = process.env.TS_NODE_MODULES || path.resolve(here, '../node/node_modules');
const load = (file) => import(pathToFileURL(path.join(nm, file)).href);

const scure = await load('@scure/sr25519/index.js');
const wasm = await load('@polkadot/wasm-crypto/index.js');
const utilCrypto = await load('@polkadot/util-crypto/index.js');
const { Keyring } = await load('@polkadot/keyring/index.js');
// @scure/sr25519 may carry its own (newer) @noble/curves; use the same copy it uses.
const { ristretto255_hasher } = await load('@scure/sr25519/node_modules/@noble/curves/ed25519.js')
  .catch(() => load('@noble/curves/ed25519.js'));
await wasm.waitReady();
await utilCrypto.cryptoWaitReady();

const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (h) => Uint8Array.from(Buffer.from(h, 'hex'));
const utf8 = (s) => new TextEncoder().encode(s);
const pattern = (n, f) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
const print = (kind, obj) => console.log(kind, JSON.stringify(obj));

const DEV_SEED = 'fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e';
const seeds = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  DEV_SEED,
  '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  hex(utf8('12345678901234567890123456789012')),
  hex(pattern(32, (i) => i + 1)),
  hex(pattern(32, () => 0xff)),
];

// 1. Mini secret -> keypair. wasm returns (scalar*8 || nonce || public).
for (const seed of seeds) {
  const pair = wasm.sr25519KeypairFromSeed(unhex(seed));
  const secret = scure.secretFromSeed(unhex(seed));
  assert.equal(hex(secret), hex(pair.subarray(0, 64)));
  assert.equal(hex(scure.getPublicKey(secret)), hex(pair.subarray(64)));
  print('seed', { seed, ed25519_secret: hex(pair.subarray(0, 64)), public: hex(pair.subarray(64)) });
}

// 2. Exact signatures (context "substrate") from @scure with fixed randomness.
const messages = ['', hex(utf8('hello sr25519')), hex(pattern(200, (i) => i * 7 + 3))];
for (const [i, msg] of messages.entries()) {
  const secret = scure.secretFromSeed(unhex(seeds[1 + (i % 3)]));
  const random = pattern(32, (j) => j * 13 + i);
  const sig = scure.sign(secret, unhex(msg), random);
  const pub = scure.getPublicKey(secret);
  assert.ok(wasm.sr25519Verify(sig, unhex(msg), pub));
  print('sign_exact', { seed: seeds[1 + (i % 3)], msg, random: hex(random), sig: hex(sig) });
}

// 3. Randomised signatures from schnorrkel (wasm): we must verify them.
for (const [i, msg] of messages.entries()) {
  const pair = wasm.sr25519KeypairFromSeed(unhex(seeds[i]));
  const sig = wasm.sr25519Sign(pair.subarray(64), pair.subarray(0, 64), unhex(msg));
  print('sign_wasm', { public: hex(pair.subarray(64)), msg, sig: hex(sig) });
}

// 4. Junction chain codes as @polkadot/util-crypto computes them.
for (const suri of ['//Alice', '//Alice//stash', '/Alice', '//Alice/soft/1', '//42/0x1234']) {
  const { path: junctions } = utilCrypto.keyExtractPath(suri);
  print('path', {
    suri,
    junctions: junctions.map((j) => ({ hard: j.isHard, cc: hex(j.chainCode) })),
  });
}

// 5. Hard derivation (deterministic): wasm pair and scure secretHard agree.
const ccAlice = utilCrypto.keyExtractPath('//Alice').path[0].chainCode;
const ccNum = pattern(32, (i) => (i === 0 ? 42 : 0));
for (const [seed, cc] of [[DEV_SEED, ccAlice], [seeds[2], ccNum]]) {
  const pair = wasm.sr25519KeypairFromSeed(unhex(seed));
  const child = wasm.sr25519DeriveKeypairHard(pair, cc);
  const s = scure.HDKD.secretHard(pair.subarray(0, 64), cc);
  assert.equal(hex(s), hex(child.subarray(0, 64)));
  print('hard', { seed, cc: hex(cc), ed25519_secret: hex(child.subarray(0, 64)), public: hex(child.subarray(64)) });
}

// 6. Soft derivation. Public keys from wasm (keypair and public-only paths agree);
//    the full secret (with its randomised nonce) from scure with fixed randomness.
for (const [seed, cc] of [[DEV_SEED, ccAlice], [seeds[2], ccNum]]) {
  const pair = wasm.sr25519KeypairFromSeed(unhex(seed));
  const child = wasm.sr25519DeriveKeypairSoft(pair, cc);
  const pub = wasm.sr25519DerivePublicSoft(pair.subarray(64), cc);
  assert.equal(hex(pub), hex(child.subarray(64)));
  const random = pattern(32, (i) => 0xa0 + i);
  const s = scure.HDKD.secretSoft(pair.subarray(0, 64), cc, random);
  assert.equal(hex(scure.getPublicKey(s)), hex(pub));
  print('soft', { seed, cc: hex(cc), random: hex(random), ed25519_secret: hex(s), public: hex(pub) });
}

// 7. Keyring: well-known URIs on the dev phrase.
//    (polkadot-js only prepends the dev phrase to URIs starting with "//".)
const DEV_PHRASE = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const keyring = new Keyring({ type: 'sr25519' });
for (const suri of ['//Alice', '//Alice//stash', '/Alice', '//Alice/soft/1']) {
  const full = suri.startsWith('//') ? suri : DEV_PHRASE + suri;
  print('keyring', { suri, public: hex(keyring.createFromUri(full).publicKey) });
}

// 8. VRF over signing_context(ctx).bytes(msg) with the "VRF" extra transcript.
//    scure: exact (fixed randomness). wasm (schnorrkel): randomised proof, but the
//    pre-output is deterministic and must equal scure's.
const vrfCases = [
  { seed: seeds[1], ctx: '', msg: hex(utf8('vrf message')), extra: '' },
  { seed: seeds[3], ctx: hex(utf8('substrate-babe-vrf')), msg: hex(pattern(40, (i) => i)), extra: hex(utf8('extra data')) },
];
for (const [i, c] of vrfCases.entries()) {
  const secret = scure.secretFromSeed(unhex(c.seed));
  const random = pattern(32, (j) => 0x30 + j + i);
  const out = scure.vrf.sign(unhex(c.msg), secret, unhex(c.ctx), unhex(c.extra), random);
  const w = wasm.vrfSign(secret, unhex(c.ctx), unhex(c.msg), unhex(c.extra));
  assert.equal(hex(out.subarray(0, 32)), hex(w.subarray(0, 32)));
  assert.ok(wasm.vrfVerify(scure.getPublicKey(secret), unhex(c.ctx), unhex(c.msg), unhex(c.extra), out));
  print('vrf_exact', { ...c, random: hex(random), out: hex(out) });
  print('vrf_wasm', { ...c, out: hex(w) });
}

// 9. VRFInOut::make_bytes, composed from @scure's Merlin and @noble's
//    hash-to-ristretto255 (neither library exposes make_bytes itself):
//    input = hash_to_point(challenge "VRFHash" after "vrf-nm-pk"), then
//    Transcript "VRFResult": "" = context, "vrf-in", "vrf-out", challenge "".
{
  const { SigningContext, Merlin } = scure.__tests;
  const c = vrfCases[1];
  const secret = scure.secretFromSeed(unhex(c.seed));
  const pub = scure.getPublicKey(secret);
  const t = new SigningContext('SigningContext');
  t.label(unhex(c.ctx));
  t.bytes(unhex(c.msg));
  t.appendMessage('vrf-nm-pk', pub);
  const input = ristretto255_hasher.deriveToCurve(t.challengeBytes('VRFHash', 64)).toBytes();
  const output = scure.vrf.sign(unhex(c.msg), secret, unhex(c.ctx), unhex(c.extra)).subarray(0, 32);
  for (const [context, len] of [[hex(utf8('substrate-babe-vrf')), 32], ['', 16]]) {
    const r = new Merlin('VRFResult');
    r.appendMessage('', unhex(context));
    r.appendMessage('vrf-in', input);
    r.appendMessage('vrf-out', output);
    print('make_bytes', { input: hex(input), output: hex(output), context, bytes: hex(r.challengeBytes('', len)) });
  }
}
