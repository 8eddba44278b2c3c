// Key generation inside the soft TEE, end to end: the public keys that come out
// of the TA verify the signatures made through the TA, checked with
// @polkadot/util-crypto (signatureVerify, secp256k1Verify, sr25519VrfVerify),
// an implementation independent of ours. Uses the packages installed in
// tests/node (npm ci --prefix tests/node).
//   TS_SOFTTEE_E2E=build/tests_tee/ts_softtee_e2e node --test tests/tee/softtee_e2e.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(new URL('../node/package.json', import.meta.url));
const uc = require('@polkadot/util-crypto');
const { hexToU8a, u8aToHex } = require('@polkadot/util');

const tool = process.env.TS_SOFTTEE_E2E;
assert.ok(tool, 'TS_SOFTTEE_E2E must name the ts_softtee_e2e executable');

await uc.cryptoWaitReady();
const dir = mkdtempSync(join(tmpdir(), 'ts-softtee-e2e-'));
const run = spawnSync(tool, [join(dir, 'storage')], { encoding: 'utf8' });
rmSync(dir, { recursive: true, force: true });
assert.equal(run.status, 0, run.stderr);
const out = JSON.parse(run.stdout);

test('session keys are the concatenation of the six public keys', () => {
  const keys = hexToU8a(out.session_keys);
  assert.equal(keys.length, 5 * 32 + 33);
  const ordered = out.signatures.slice(0, 6);
  assert.deepEqual(ordered.map((s) => s.type), ['gran', 'babe', 'para', 'asgn', 'audi', 'beef']);
  let off = 0;
  for (const s of ordered) {
    const n = s.scheme === 'ecdsa' ? 33 : 32;
    assert.equal(u8aToHex(keys.subarray(off, off + n)), s.public);
    off += n;
  }
});

test('every TA signature verifies with @polkadot/util-crypto', () => {
  assert.equal(out.signatures.length, 9);
  for (const s of out.signatures) {
    const msg = hexToU8a(s.message);
    const sig = hexToU8a(s.signature);
    const pk = hexToU8a(s.public);
    let ok;
    if (s.scheme === 'sr25519') ok = uc.sr25519Verify(msg, sig, pk);
    else if (s.scheme === 'ed25519') ok = uc.ed25519Verify(msg, sig, pk);
    else ok = uc.secp256k1Verify(msg, sig, pk, 'blake2');
    assert.ok(ok, `${s.type} ${s.scheme} ${s.public}`);
    // signatureVerify identifies the scheme from the signature alone.
    const address = s.scheme === 'ecdsa' ? uc.blake2AsU8a(pk) : pk;
    const v = uc.signatureVerify(msg, sig, address);
    assert.ok(v.isValid, `signatureVerify ${s.type}`);
    assert.equal(v.crypto, s.scheme);
    // A different message must not verify.
    const other = new Uint8Array([...msg, 0]);
    if (s.scheme === 'sr25519') assert.ok(!uc.sr25519Verify(other, sig, pk));
  }
});

test('the BABE seal signs blake2_256 of the unsealed header', () => {
  const h = out.babe_header;
  assert.equal(u8aToHex(uc.blake2AsU8a(hexToU8a(h.header))), h.pre_hash);
  const babe = out.signatures[1];
  assert.equal(babe.type, 'babe');
  assert.equal(babe.message, h.pre_hash);
});

test('the BEEFY vote signs keccak_256 of the commitment and recovers the TA key', () => {
  const p = out.prehashed;
  assert.equal(u8aToHex(uc.keccakAsU8a(hexToU8a(p.commitment))), p.prehash);
  const sig = hexToU8a(p.signature);
  // secp256k1Recover takes the 32-byte hash as given (no further hashing).
  const recovered = uc.secp256k1Recover(hexToU8a(p.prehash), sig.subarray(0, 64), sig[64]);
  assert.equal(u8aToHex(uc.secp256k1Compress(recovered)), p.public);
  const tampered = hexToU8a(p.prehash);
  tampered[0] ^= 1;
  const wrong = uc.secp256k1Recover(tampered, sig.subarray(0, 64), sig[64]);
  assert.notEqual(u8aToHex(uc.secp256k1Compress(wrong)), p.public);
});

test('sr25519 VRF made in the TA verifies with @polkadot/util-crypto', () => {
  const v = out.vrf;
  assert.ok(uc.sr25519VrfVerify(hexToU8a(v.message), hexToU8a(v.output_and_proof),
                                hexToU8a(v.public), hexToU8a(v.context), hexToU8a(v.extra)));
  assert.ok(!uc.sr25519VrfVerify(hexToU8a(v.message), hexToU8a(v.output_and_proof),
                                 hexToU8a(v.public), hexToU8a(v.context), new Uint8Array([1])));
});
