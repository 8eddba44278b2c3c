// Two signer instances sharing one PostgreSQL protection database (issue 5):
// two `tee-signer serve` processes, each with its own data directory and soft
// TEE, both holding the same //Alice dev keys (gran, babe, beef, para). Two
// clients, one per instance, race 1,000 pairs of conflicting requests:
//
//   GRANDPA prevotes for one round with two targets  keystore_sign (a stock node's path)
//   BABE headers for one slot with two parents       signer_signBabeHeader
//   BEEFY commitments for one block, two payloads    signer_signBeefyCommitment
//   para dispute votes valid / invalid               keystore_sign
//
// Exactly one side of every pair must be signed and the other refused with
// -32010 naming the rule and the earlier payload hash; every signature must
// verify (@polkadot/util-crypto); /metrics counts every refusal.
//
// Run by ctest through scripts/with-postgres.sh, which sets TS_TEST_POSTGRES_URL;
// TS_CLI names tee-signer and TS_SOFTTEE_TEST_TA the soft-TEE TA build with
// development commands (dev seeds).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const nodeModules = fileURLToPath(new URL('../node/node_modules/', import.meta.url));
const load = (pkg) => import(pathToFileURL(join(nodeModules, pkg, 'index.js')).href);
for (const pkg of ['@polkadot/util', '@polkadot/util-crypto']) {
  if (!existsSync(join(nodeModules, pkg, 'package.json'))) {
    throw new Error(`${pkg} is missing: run npm ci --prefix tests/node`);
  }
}
for (const v of ['TS_CLI', 'TS_SOFTTEE_TEST_TA', 'TS_TEST_POSTGRES_URL']) {
  if (!process.env[v]) throw new Error(`${v} is not set: run this test through ctest`);
}

const { u8aToHex, hexToU8a, u8aConcat } = await load('@polkadot/util');
const { cryptoWaitReady, signatureVerify, blake2AsU8a, keccakAsU8a, secp256k1Recover } =
  await load('@polkadot/util-crypto');

// BEEFY: ecdsa over keccak_256(commitment); the key recovered from the
// signature must be the signer's (compressed) public key.
const beefyVerify = (commitment, sig, publicHex) =>
  u8aToHex(secp256k1Recover(keccakAsU8a(commitment), sig.subarray(0, 64), sig[64])) === publicHex;

const PAIRS = { grandpa: 700, babe: 100, beefy: 100, para: 100 };
const IN_FLIGHT = 8;  // concurrent requests per client

// ---- SCALE helpers ------------------------------------------------------------------------

const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return b; };
const hash = (...tag) => { const b = new Uint8Array(32); tag.forEach((t, i) => { b[i] = t & 0xff; }); b[31] = 0x77; return b; };
const compact = (n) => {  // small values only
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 16384) return Uint8Array.of(((n << 2) | 1) & 0xff, n >> 6);
  return u8aConcat(Uint8Array.of(2 | ((n & 0x3f) << 2)), Uint8Array.of((n >> 6) & 0xff, (n >> 14) & 0xff, (n >> 22) & 0xff));
};
const vec = (bytes) => u8aConcat(compact(bytes.length), bytes);

// SCALE((Prevote{target_hash, target_number}, round, set_id))
const prevote = (target, round) =>
  u8aConcat(Uint8Array.of(0), hash(target, round, round >> 8), u32(1000 + round), u64(round), u64(3));
// Unsealed header with a BABE SecondaryPlain pre-digest {authority_index, slot}.
const babeHeader = (slot, parent) => u8aConcat(
  hash(parent, slot, slot >> 8), compact(500 + slot), hash(0xee), hash(0xdd),
  compact(1), Uint8Array.of(6), new TextEncoder().encode('BABE'),
  vec(u8aConcat(Uint8Array.of(2), u32(0), u64(slot))));
// Commitment{payload: [("mh", root)], block_number, validator_set_id}
const beefyCommitment = (block, root) => u8aConcat(
  compact(1), new TextEncoder().encode('mh'), vec(hash(root, block, block >> 8)), u32(block), u64(9));
// ("DISP", ExplicitDisputeStatement{valid, candidate_hash, session})
const dispute = (valid, candidate, session) => u8aConcat(
  new TextEncoder().encode('DISP'), Uint8Array.of(valid ? 1 : 0), hash(0xca, candidate, candidate >> 8), u32(session));

// ---- The two signers ---------------------------------------------------------------------------

async function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

class Signer {
  constructor (name) { this.name = name; }
  async start () {
    this.dir = mkdtempSync(join(tmpdir(), `ts-race-${this.name}-`));
    this.port = await freePort();
    const config = join(this.dir, 'signer.toml');
    writeFileSync(config, [
      '[softtee]', `ta = "${process.env.TS_SOFTTEE_TEST_TA}"`,
      '[rpc]', 'workers = 8',
      '[protection]', 'database = "postgres"', '',
    ].join('\n'));
    this.log = '';
    this.proc = spawn(process.env.TS_CLI, [
      'serve', '--config', config, '--data-dir', join(this.dir, 'data'),
      '--rpc-port', String(this.port), '--allow-dev-seeds', '--log-level', 'warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'],
         // The URL travels in the environment, never in argv.
         env: { ...process.env, TS_POSTGRES_URL: process.env.TS_TEST_POSTGRES_URL } });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    const collect = (chunk) => { this.log += chunk.toString(); };
    this.proc.stdout.on('data', collect);
    this.proc.stderr.on('data', collect);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`${this.name} exited:\n${this.log}`);
      try {
        const r = await this.rpc('signer_health', []);
        if (r.result && r.result.status === 'ok') return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready in 60 s:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  async rpc (method, params) {
    const res = await fetch(`http://127.0.0.1:${this.port}/`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return res.json();
  }
  async metrics () {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }
  async stop () {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await this.exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

const signers = [new Signer('a'), new Signer('b')];
const keys = {};

before(async () => {
  await cryptoWaitReady();
  await Promise.all(signers.map((s) => s.start()));
  for (const [type, scheme] of [['gran', 'ed25519'], ['babe', 'sr25519'], ['beef', 'ecdsa'], ['para', 'sr25519']]) {
    const got = [];
    for (const s of signers) {
      const r = await s.rpc('keystore_generateNew', [type, scheme, '//Alice']);
      assert.ok(r.result, `${s.name} ${type}: ${JSON.stringify(r)}`);
      got.push(r.result);
    }
    assert.equal(got[0], got[1], `both signers hold the same ${type} key`);
    keys[type] = got[0];
  }
});

after(async () => {
  await Promise.all(signers.map((s) => s.stop()));
});

// Pair i: two conflicting requests; side 0 goes to one signer, side 1 to the other.
function pairs () {
  const out = [];
  let n = 0;
  for (let i = 0; i < PAIRS.grandpa; ++i, ++n) {
    const round = 100 + i;
    out.push({ rule: 'grandpa', code: 'grandpa_prevote_equivocation', sides: [1, 2].map((t) => {
      const msg = prevote(t, round);
      return { method: 'keystore_sign', params: ['gran', 'ed25519', keys.gran, u8aToHex(msg)],
               verify: (sig) => signatureVerify(msg, sig, keys.gran).isValid, payloadHash: blake2AsU8a(msg) };
    }) });
  }
  for (let i = 0; i < PAIRS.babe; ++i, ++n) {
    const slot = 1000 + i;
    out.push({ rule: 'babe', code: 'babe_equivocation', sides: [1, 2].map((p) => {
      const header = babeHeader(slot, p);
      const preHash = blake2AsU8a(header);
      return { method: 'signer_signBabeHeader', params: ['babe', keys.babe, u8aToHex(header)],
               verify: (sig) => signatureVerify(preHash, sig, keys.babe).isValid, payloadHash: preHash };
    }) });
  }
  for (let i = 0; i < PAIRS.beefy; ++i, ++n) {
    const block = 5000 + i;
    out.push({ rule: 'beefy', code: 'beefy_equivocation', sides: [1, 2].map((root) => {
      const c = beefyCommitment(block, root);
      return { method: 'signer_signBeefyCommitment', params: ['beef', keys.beef, u8aToHex(c)],
               verify: (sig) => beefyVerify(c, sig, keys.beef), payloadHash: keccakAsU8a(c) };
    }) });
  }
  for (let i = 0; i < PAIRS.para; ++i, ++n) {
    out.push({ rule: 'para', code: 'para_valid_invalid', sides: [true, false].map((valid) => {
      const msg = dispute(valid, i, 40);
      return { method: 'keystore_sign', params: ['para', 'sr25519', keys.para, u8aToHex(msg)],
               verify: (sig) => signatureVerify(msg, sig, keys.para).isValid, payloadHash: blake2AsU8a(msg) };
    }) });
  }
  // Which signer gets which side varies, so neither is always first.
  out.forEach((p, i) => { if ((i * 7919) % 3 === 0) p.sides.reverse(); });
  return out;
}

// Each client sends its side of the pairs in [from, to), IN_FLIGHT at a time.
async function runClient (signer, requests, results, from, to) {
  let next = from;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= to) return;
      const { method, params } = requests[i];
      results[i] = await signer.rpc(method, params);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

// Both clients race through the pairs batch by batch: within a batch they
// compete freely; between batches they wait for each other, so neither runs
// more than BATCH rounds ahead (beyond the 128 GRANDPA rounds a key keeps, a
// laggard would meet the watermark instead of the conflicting vote).
const BATCH = 50;
async function race (all) {
  const ra = new Array(all.length), rb = new Array(all.length);
  const sidesA = all.map((p) => p.sides[0]), sidesB = all.map((p) => p.sides[1]);
  for (let from = 0; from < all.length; from += BATCH) {
    const to = Math.min(all.length, from + BATCH);
    await Promise.all([runClient(signers[0], sidesA, ra, from, to),
                       runClient(signers[1], sidesB, rb, from, to)]);
  }
  return [ra, rb];
}

test('1,000 conflicting pairs raced at two signers sharing PostgreSQL: exactly one side signed', async () => {
  const all = pairs();
  assert.equal(all.length, 1000);
  const started = Date.now();
  const [ra, rb] = await race(all);
  const seconds = (Date.now() - started) / 1000;

  const refusedBy = {};
  let signedA = 0, signedB = 0;
  for (let i = 0; i < all.length; ++i) {
    const pair = all[i];
    const answers = [ra[i], rb[i]];
    const ok = answers.map((r) => r.result !== undefined);
    assert.equal(ok.filter(Boolean).length, 1,
                 `pair ${i} (${pair.rule}): exactly one side signed, got ${JSON.stringify(answers)}`);
    const w = ok[0] ? 0 : 1;
    if (w === 0) ++signedA; else ++signedB;
    const winner = answers[w].result;
    const sig = typeof winner === 'string' ? winner : winner.signature;
    assert.ok(pair.sides[w].verify(hexToU8a(sig)), `pair ${i} (${pair.rule}): the signature verifies`);
    const loser = answers[1 - w];
    assert.equal(loser.error.code, -32010, `pair ${i}: ${JSON.stringify(loser)}`);
    assert.equal(loser.error.data.code, pair.code);
    assert.equal(loser.error.data.rule, pair.rule);
    assert.equal(loser.error.data.earlier.payloadHash, u8aToHex(pair.sides[w].payloadHash),
                 `pair ${i}: the refusal names the signed payload`);
    if (typeof winner === 'object') assert.equal(winner.payloadHash, u8aToHex(pair.sides[w].payloadHash));
    refusedBy[pair.code] = (refusedBy[pair.code] || 0) + 1;
  }
  console.log(`# ${all.length} pairs in ${seconds.toFixed(1)} s: signer a signed ${signedA}, b ${signedB}`);
  // Both instances won some: the race was real.
  assert.ok(signedA > 0 && signedB > 0, `a ${signedA}, b ${signedB}`);

  // Every refusal is counted in teesigner_refusals_total by its rule.
  const counted = {};
  for (const s of signers) {
    for (const line of (await s.metrics()).split('\n')) {
      const m = line.match(/^teesigner_refusals_total\{rule="([a-z_]+)"\} ([0-9.e+]+)$/);
      if (m) counted[m[1]] = (counted[m[1]] || 0) + Number(m[2]);
    }
  }
  for (const [code, n] of Object.entries(refusedBy)) {
    assert.equal(counted[code], n, `refusals of ${code} in /metrics`);
  }
});
