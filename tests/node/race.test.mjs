// The single-signer race: two clients, each on its own keep-alive connection, send
// the two halves of RACE_PAIRS (default 1000) conflicting signing requests to ONE
// signer (`tee-signer serve`, soft TEE, fresh temporary data directory) at the same
// time. For every pair exactly one half must be signed and the other refused with
// -32010 naming the rule and the earlier (winning) payload hash; every signature
// must verify with @polkadot/util-crypto against the signer's public key.
//
// The pairs cycle through GRANDPA prevotes (ed25519), BABE headers (sr25519 over the
// pre-hash), BEEFY commitments (ecdsa over the keccak prehash) and parachain dispute
// statements (valid against invalid); every other GRANDPA and para pair goes
// through keystore_sign (the sp-keystore path) on one side.
//
//   npm ci --prefix tests/node
//   TS_CLI=build/cli/tee-signer RACE_PAIRS=1000 node --test tests/node/race.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

if (!existsSync(new URL('./node_modules/@polkadot/util-crypto/package.json', import.meta.url))) {
  throw new Error('@polkadot/util-crypto is not installed: run `npm ci --prefix tests/node`.');
}
if (!process.env.TS_CLI || !existsSync(process.env.TS_CLI)) {
  throw new Error('TS_CLI must name the built tee-signer executable ' +
                  `(got ${JSON.stringify(process.env.TS_CLI)}); run this test through ctest.`);
}

const { u8aToHex, hexToU8a, u8aConcat, stringToU8a, u8aEq } = await import('@polkadot/util');
const { cryptoWaitReady, blake2AsU8a, keccakAsU8a, ed25519Verify, sr25519Verify,
        secp256k1Recover } = await import('@polkadot/util-crypto');

const PAIRS = Number(process.env.RACE_PAIRS ?? 1000);
const WINDOW = 8;  // pairs in flight at once (the TA serialises them anyway)

// ---------------------------------------------------------------------------
// SCALE encoders for the four payloads (docs/protocol.md, core/payloads.hpp).

const u32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); return b; };
function compact (n) {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 16384) return u8aConcat(Uint8Array.of(((n << 2) | 1) & 0xff, (n << 2 | 1) >> 8));
  const v = (n << 2) | 2;
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
}
const bytesVec = (b) => u8aConcat(compact(b.length), b);

// SCALE((Message::Prevote{hash, number}, round, set_id))
const grandpaPrevote = (hash, number, round, setId) =>
  u8aConcat(Uint8Array.of(0), hash, u32(number), u64(round), u64(setId));

// Header without seal, one PreRuntime("BABE", PreDigest::SecondaryPlain{authority 0, slot}).
function babeHeader (slot, stateRoot) {
  const preDigest = u8aConcat(Uint8Array.of(2), u32(0), u64(slot));
  const item = u8aConcat(Uint8Array.of(6), stringToU8a('BABE'), bytesVec(preDigest));
  return u8aConcat(new Uint8Array(32).fill(1), compact(1000), stateRoot, new Uint8Array(32),
                   compact(1), item);
}

// Commitment { payload: [("mh", root)], block_number, validator_set_id }
const beefyCommitment = (root, block, setId) =>
  u8aConcat(compact(1), stringToU8a('mh'), bytesVec(root), u32(block), u64(setId));

// ("DISP", ExplicitDisputeStatement { valid }, candidate_hash, session)
const disputeStatement = (valid, candidate, session) =>
  u8aConcat(stringToU8a('DISP'), Uint8Array.of(valid ? 1 : 0), candidate, u32(session));

// ---------------------------------------------------------------------------
// The signer and two clients.

async function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

let proc, dir, port, log = '';

before(async () => {
  await cryptoWaitReady();
  dir = mkdtempSync(join(tmpdir(), 'ts-race-'));
  port = await freePort();
  proc = spawn(process.env.TS_CLI, ['serve', '--data-dir', join(dir, 'data'),
                                    '--rpc-port', String(port)],
               { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signer not ready in 60 s:\n${log}`)), 60_000);
    const onData = (chunk) => {
      log += chunk.toString();
      if (log.includes('tee-signer ready')) { clearTimeout(timer); resolve(); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`signer exited early (${code ?? signal}):\n${log}`));
    });
  });
});

after(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One client = one keep-alive connection.
class Client {
  constructor () {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.id = 0;
  }

  call (method, params) {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params });
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent: this.agent,
                                 headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { text += c; });
        res.on('end', () => {
          try { resolve(JSON.parse(text)); } catch (e) { reject(new Error(`bad answer ${text}`)); }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close () { this.agent.destroy(); }
}

// ---------------------------------------------------------------------------

test(`${PAIRS} pairs of conflicting requests: exactly one of each signed, every signature verifies`,
  { timeout: 600_000 }, async () => {
    const a = new Client();
    const b = new Client();
    const rotated = await a.call('author_rotateKeys', []);
    assert.equal(rotated.error, undefined, JSON.stringify(rotated.error));
    const blob = hexToU8a(rotated.result);
    assert.equal(blob.length, 193);
    const keys = { gran: blob.subarray(0, 32), babe: blob.subarray(32, 64),
                   para: blob.subarray(64, 96), beef: blob.subarray(160, 193) };
    const hex = u8aToHex;

    // Both halves of pair i: [method, params, what the signature covers, verify, payloadHash].
    function pair (i) {
      const kind = ['grandpa', 'babe', 'beefy', 'para'][i % 4];
      const viaKeystore = Math.floor(i / 4) % 2 === 1;  // one side takes the sp-keystore path
      const n = Math.floor(i / 4);
      const half = (side) => {
        const x = randomBytes(32);
        switch (kind) {
          case 'grandpa': {
            const payload = grandpaPrevote(x, 5000 + n, 100 + n, 3);
            const hash = blake2AsU8a(payload, 256);
            const verify = (sig) => ed25519Verify(payload, sig, keys.gran);
            return side === 'B' && viaKeystore
              ? { method: 'keystore_sign', params: ['gran', 'ed25519', hex(keys.gran), hex(payload)], hash, verify }
              : { method: 'signer_signGrandpaVote', params: ['gran', hex(keys.gran), hex(payload)], hash, verify };
          }
          case 'babe': {
            const header = babeHeader(700_000 + n, x);
            const hash = blake2AsU8a(header, 256);
            return { method: 'signer_signBabeHeader', params: ['babe', hex(keys.babe), hex(header)], hash,
                     verify: (sig) => sr25519Verify(hash, sig, keys.babe) };
          }
          case 'beefy': {
            const commitment = beefyCommitment(x, 90_000 + n, 11);
            const hash = keccakAsU8a(commitment, 256);
            return { method: 'signer_signBeefyCommitment', params: ['beef', hex(keys.beef), hex(commitment)], hash,
                     verify: (sig) => sig.length === 65 &&
                       u8aEq(secp256k1Recover(hash, sig.subarray(0, 64), sig[64]), keys.beef) };
          }
          default: {
            // One candidate per pair; A says valid, B says invalid.
            const candidate = blake2AsU8a(u8aConcat(stringToU8a('candidate'), u32(i)), 256);
            const payload = disputeStatement(side === 'A', candidate, 77);
            const hash = blake2AsU8a(payload, 256);
            const verify = (sig) => sr25519Verify(payload, sig, keys.para);
            return side === 'B' && viaKeystore
              ? { method: 'keystore_sign', params: ['para', 'sr25519', hex(keys.para), hex(payload)], hash, verify }
              : { method: 'signer_signParaStatement', params: ['para', hex(keys.para), hex(payload)], hash, verify };
          }
        }
      };
      return { kind, A: half('A'), B: half('B') };
    }
    const CODES = { grandpa: 'grandpa_prevote_equivocation', babe: 'babe_equivocation',
                    beefy: 'beefy_equivocation', para: 'para_valid_invalid' };

    const wins = { A: 0, B: 0 };
    const perKind = {};
    const failures = [];
    const started = Date.now();
    async function runPair (i) {
      const p = pair(i);
      const [ra, rb] = await Promise.all([a.call(p.A.method, p.A.params), b.call(p.B.method, p.B.params)]);
      const signedA = ra.error === undefined;
      const signedB = rb.error === undefined;
      if (signedA === signedB) {
        failures.push(`pair ${i} (${p.kind}): ${signedA ? 'both signed' : 'both refused'}: ` +
                      `${JSON.stringify(ra.error ?? ra.result)} / ${JSON.stringify(rb.error ?? rb.result)}`);
        return;
      }
      const [winner, loser, wr, lr, side] = signedA ? [p.A, p.B, ra, rb, 'A'] : [p.B, p.A, rb, ra, 'B'];
      wins[side]++;
      perKind[p.kind] = (perKind[p.kind] ?? 0) + 1;
      const sig = hexToU8a(typeof wr.result === 'string' ? wr.result : wr.result.signature);
      if (!winner.verify(sig)) failures.push(`pair ${i} (${p.kind}): signature does not verify`);
      if (typeof wr.result === 'object' && wr.result.payloadHash !== hex(winner.hash)) {
        failures.push(`pair ${i} (${p.kind}): payloadHash ${wr.result.payloadHash}, expected ${hex(winner.hash)}`);
      }
      const e = lr.error;
      if (e.code !== -32010 || e.data?.code !== CODES[p.kind] || e.data?.reason !== 'conflict' ||
          e.data?.rule !== p.kind) {
        failures.push(`pair ${i} (${p.kind}): loser got ${JSON.stringify(e)}`);
      } else if (e.data.earlier?.payloadHash !== hex(winner.hash)) {
        // The refusal names what was signed first: the winner's payload.
        failures.push(`pair ${i} (${p.kind}): refusal names earlier ${e.data.earlier?.payloadHash}, ` +
                      `winner signed ${hex(winner.hash)}`);
      }
      void loser;
    }
    let next = 0;
    await Promise.all(Array.from({ length: WINDOW }, async () => {
      while (next < PAIRS) await runPair(next++);
    }));
    const seconds = (Date.now() - started) / 1000;
    a.close();
    b.close();
    console.log(`# ${PAIRS} pairs in ${seconds.toFixed(1)} s (${(seconds * 1000 / PAIRS).toFixed(1)} ms/pair); ` +
                `client A won ${wins.A}, client B won ${wins.B}; per kind ${JSON.stringify(perKind)}`);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures`);
    assert.equal(wins.A + wins.B, PAIRS);
  });
