// The signing service (`tee-signer serve`) driven by clients we did not write:
//
//   @polkadot/rpc-provider 16.5.6   WsProvider and HttpProvider (what polkadot-js apps use)
//   @polkadot/types 16.5.6          SCALE decoding with the Kusama runtime metadata shipped in
//   @polkadot/types-support 16.5.6  (metadata/static-kusama: spec 1003000, metadata v14)
//   @polkadot/util-crypto 14.0.3    signatureVerify for sr25519, ed25519 and ecdsa
//
// plus raw HTTP (fetch, node:http over the Unix socket, node:net for half-open and slow
// connections) for the inputs no well-behaved client sends, and `tee-signer session-keys`
// (our CLI client), whose printed call data must decode as Kusama's and Polkadot's
// session.setKeys with the shipped metadata. The service runs with the soft
// TEE in a fresh temporary data directory. Run from ctest (test node_service) or by hand:
//   npm ci --prefix tests/node
//   TS_CLI=build/cli/tee-signer node --test tests/node/service.test.mjs
// Against a signer that is already running elsewhere (scripts/optee-qemu-test.sh: OP-TEE in
// QEMU, over TLS with a bearer token), set TS_SERVICE_URL=https://127.0.0.1:PORT/,
// TS_SERVICE_TOKEN_FILE and TS_SERVICE_CA (also as NODE_EXTRA_CA_CERTS); the tests that need
// the service's own process, Unix socket or configured limits are then skipped.
// TS_SERVICE_TIMEOUT_MS (default 60000, polkadot-js' own) bounds each request of the
// WsProvider and of `tee-signer session-keys`: raise it for a slow signer (emulation).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
for (const pkg of ['@polkadot/rpc-provider', '@polkadot/types', '@polkadot/types-support',
                   '@polkadot/util-crypto']) {
  if (!existsSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))) {
    throw new Error(`${pkg} is not installed in ${here}node_modules: ` +
                    'run `npm ci --prefix tests/node` from the repository root.');
  }
}
if (!process.env.TS_CLI || !existsSync(process.env.TS_CLI)) {
  throw new Error('TS_CLI must name the built tee-signer executable ' +
                  `(got ${JSON.stringify(process.env.TS_CLI)}); run this test through ctest.`);
}

// A signer running elsewhere (see the top of this file), or null: the test starts its own.
const remote = process.env.TS_SERVICE_URL
  ? {
      url: process.env.TS_SERVICE_URL.replace(/\/?$/, '/'),
      token: process.env.TS_SERVICE_TOKEN_FILE
        ? readFileSync(process.env.TS_SERVICE_TOKEN_FILE, 'utf8').split('\n')[0].trim()
        : '',
      ca: process.env.TS_SERVICE_CA ?? '',
    }
  : null;
const authHeaders = remote?.token ? { Authorization: `Bearer ${remote.token}` } : {};
const requestTimeoutMs = process.env.TS_SERVICE_TIMEOUT_MS
  ? Number(process.env.TS_SERVICE_TIMEOUT_MS)
  : 60_000;
const localOnly = remote ? { skip: 'needs the service process, its Unix socket or its limits' } : {};

const { WsProvider, HttpProvider } = await import('@polkadot/rpc-provider');
const { TypeRegistry, Metadata } = await import('@polkadot/types');
const { default: kusamaMetadata } = await import('@polkadot/types-support/metadata/static-kusama');
const { default: polkadotMetadata } =
  await import('@polkadot/types-support/metadata/static-polkadot');
const { u8aToHex, hexToU8a, stringToU8a } = await import('@polkadot/util');
const { cryptoWaitReady, signatureVerify, sr25519VrfVerify } = await import('@polkadot/util-crypto');
const { __tests: scureTests } = await import('@scure/sr25519');

// SessionKeys in runtime order (docs/protocol.md, author_rotateKeys): field name in the
// Kusama metadata, key type, scheme, public key length.
const SESSION_KEYS = [
  ['grandpa', 'gran', 'ed25519', 32],
  ['babe', 'babe', 'sr25519', 32],
  ['paraValidator', 'para', 'sr25519', 32],
  ['paraAssignment', 'asgn', 'sr25519', 32],
  ['authorityDiscovery', 'audi', 'sr25519', 32],
  ['beefy', 'beef', 'ecdsa', 33],
];
const BLOB_LEN = SESSION_KEYS.reduce((n, k) => n + k[3], 0);  // 193

function splitBlob (blobHex) {
  const bytes = hexToU8a(blobHex);
  const out = [];
  let at = 0;
  for (const [field, keyType, scheme, len] of SESSION_KEYS) {
    out.push({ field, keyType, scheme, public: u8aToHex(bytes.subarray(at, at + len)) });
    at += len;
  }
  return out;
}

const randomHex = (n) => u8aToHex(randomBytes(n));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// The service under test.

async function freePort () {
  // --rpc-port 0 disables TCP, so ask the OS for a free port and hand it over.
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

class Service {
  async start () {
    if (remote) {
      this.url = remote.url;
      this.port = Number(new URL(remote.url).port);
      this.wsUrl = remote.url.replace(/^http/, 'ws');
      return;
    }
    this.dir = mkdtempSync(join(tmpdir(), 'ts-service-'));
    this.socket = join(this.dir, 'rpc.sock');
    this.port = await freePort();
    // Small limits so that the oversized-body and slow-client cases are quick.
    this.maxBody = 65536;
    this.headerTimeoutMs = 1500;
    const config = join(this.dir, 'signer.toml');
    writeFileSync(config, [
      '[limits]',
      `max_body_bytes = ${this.maxBody}`,
      `header_timeout_ms = ${this.headerTimeoutMs}`,
      'body_timeout_ms = 3000',
      '',
    ].join('\n'));
    this.log = '';
    this.proc = spawn(process.env.TS_CLI, [
      'serve', '--config', config, '--data-dir', join(this.dir, 'data'),
      '--rpc-port', String(this.port), '--unix-socket', this.socket,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service not ready in 60 s:\n${this.log}`)),
                               60_000);
      const onData = (chunk) => {
        this.log += chunk.toString();
        if (this.log.includes('tee-signer ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.proc.stdout.on('data', onData);
      this.proc.stderr.on('data', onData);
      this.proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`service exited early (${code ?? signal}):\n${this.log}`));
      });
    });
    assert.match(this.log, new RegExp(`listening on 127\\.0\\.0\\.1:${this.port}\\b`));
    this.url = `http://127.0.0.1:${this.port}/`;
    this.wsUrl = `ws://127.0.0.1:${this.port}`;
  }

  async stop () {
    if (!this.proc) return null;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    const result = await this.exit;
    clearTimeout(timer);
    result.socketLeft = existsSync(this.socket);
    rmSync(this.dir, { recursive: true, force: true });
    this.proc = null;
    return result;
  }
}

// A raw JSON-RPC POST; returns {status, body (parsed when JSON), text}.
async function post (url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, body: parsed, text };
}

function rpc (method, params = [], id = 1) {
  return { jsonrpc: '2.0', method, params, id };
}

function postUnix (socketPath, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      socketPath, method: 'POST', path: '/',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

// Resolves when the server closes the socket (or rejects after ms).
function closedWithin (sock, ms) {
  return new Promise((resolve, reject) => {
    if (sock.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    sock.once('close', () => { clearTimeout(timer); resolve(); });
  });
}

// ---------------------------------------------------------------------------

const service = new Service();
let ws;
let httpProvider;
let registry;
let keysType;

before(async () => {
  await cryptoWaitReady();
  registry = new TypeRegistry();
  const metadata = new Metadata(registry, kusamaMetadata);
  registry.setMetadata(metadata);
  // The type of Session.setKeys' `keys` argument (StagingKusamaRuntimeSessionKeys).
  keysType = registry.findMetaCall(callIndexOfSetKeys()).meta.args[0].type.toString();

  await service.start();
  ws = new WsProvider(service.wsUrl, 1000, authHeaders, requestTimeoutMs);
  let timer;
  await Promise.race([ws.isReady, new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('WsProvider did not connect in 20 s')), 20_000);
  })]).finally(() => clearTimeout(timer));
  assert.ok(ws.isConnected);
  httpProvider = new HttpProvider(service.url, authHeaders);
});

after(async () => {
  if (ws) await ws.disconnect().catch(() => {});
  await service.stop();
});

function callIndexOfSetKeys () {
  const pallet = registry.metadata.pallets.find((p) => p.name.toString() === 'Session');
  assert.ok(pallet, 'the Kusama metadata has a Session pallet');
  return new Uint8Array([pallet.index.toNumber(), 0]);
}

describe('session keys with WsProvider and HttpProvider', () => {
  for (const [name, provider] of [['WsProvider', () => ws], ['HttpProvider', () => httpProvider]]) {
    test(`${name}: author_rotateKeys, author_hasSessionKeys, author_hasKey`, async () => {
      const p = provider();
      const blob = await p.send('author_rotateKeys', []);
      assert.match(blob, /^0x[0-9a-f]+$/);
      assert.equal(hexToU8a(blob).length, BLOB_LEN);

      assert.equal(await p.send('author_hasSessionKeys', [blob]), true);
      assert.equal(await p.send('author_hasSessionKeys', [randomHex(BLOB_LEN)]), false);

      const keys = splitBlob(blob);
      for (const k of keys) {
        assert.equal(await p.send('author_hasKey', [k.public, k.keyType]), true,
                     `${k.field} ${k.public} under ${k.keyType}`);
        // The same public key under every other key type of the set: not held.
        for (const other of SESSION_KEYS) {
          if (other[1] === k.keyType) continue;
          assert.equal(await p.send('author_hasKey', [k.public, other[1]]), false,
                       `${k.field} ${k.public} under ${other[1]}`);
        }
      }
      assert.equal(await p.send('author_hasKey', [randomHex(32), 'babe']), false);
      assert.equal(await p.send('author_hasKey', [randomHex(33), 'beef']), false);

      // A second rotation gives fresh keys; both sets stay held.
      const blob2 = await p.send('author_rotateKeys', []);
      assert.notEqual(blob2, blob);
      assert.equal(await p.send('author_hasSessionKeys', [blob]), true);
      assert.equal(await p.send('author_hasSessionKeys', [blob2]), true);
    });
  }

  test('the blob decodes as Kusama SessionKeys and session.setKeys round-trips', async () => {
    const blob = await ws.send('author_rotateKeys', []);
    const expected = splitBlob(blob);
    const decoded = registry.createType(keysType, hexToU8a(blob));
    assert.equal(decoded.encodedLength, BLOB_LEN);
    assert.deepEqual(Object.keys(decoded.toJSON()), SESSION_KEYS.map((k) => k[0]),
                     'six keys in runtime order');
    for (const k of expected) assert.equal(decoded.get(k.field).toHex(), k.public, k.field);
    assert.equal(u8aToHex(decoded.toU8a()), blob);

    // session.setKeys(keys, proof) built from the metadata, encoded, decoded again.
    const setKeys = registry.findMetaCall(callIndexOfSetKeys());
    assert.equal(`${setKeys.section}.${setKeys.method}`, 'session.setKeys');
    const call = setKeys(decoded, '0x');
    const encoded = call.toU8a();
    const back = registry.createType('Call', encoded);
    assert.equal(back.section, 'session');
    assert.equal(back.method, 'setKeys');
    assert.equal(u8aToHex(back.args[0].toU8a()), blob);
    assert.equal(back.args[1].toHex(), '0x');
    for (const k of expected) assert.equal(back.args[0].get(k.field).toHex(), k.public, k.field);
    // Call data = call index ++ SessionKeys ++ compact(0) (empty proof).
    assert.equal(u8aToHex(encoded), u8aToHex(callIndexOfSetKeys()) + blob.slice(2) + '00');
  });

  test('the Unix socket serves the same keystore', localOnly, async () => {
    const blob = await httpProvider.send('author_rotateKeys', []);
    const res = await postUnix(service.socket, rpc('author_hasSessionKeys', [blob]));
    assert.equal(res.status, 200);
    assert.equal(res.body.result, true);
  });
});

describe('tee-signer session-keys (the CLI client of the service)', () => {
  function sessionKeys (...args) {
    const remoteArgs = remote
      ? ['--ca-file', remote.ca, '--token-file', process.env.TS_SERVICE_TOKEN_FILE]
      : [];
    if (process.env.TS_SERVICE_TIMEOUT_MS) {
      remoteArgs.push('--timeout', String(Math.ceil(requestTimeoutMs / 1000)));
    }
    const r = spawnSync(process.env.TS_CLI, ['session-keys', '--rpc', service.url, ...remoteArgs,
                                             ...args],
                        { encoding: 'utf8', timeout: Math.max(60_000, requestTimeoutMs + 30_000) });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  for (const [network, metadataHex] of [['kusama', () => kusamaMetadata],
                                        ['polkadot', () => polkadotMetadata]]) {
    test(`--network ${network}: the printed call data decodes as session.setKeys`, async () => {
      const reg = new TypeRegistry();
      reg.setMetadata(new Metadata(reg, metadataHex()));
      for (const format of ['text', 'json']) {
        const r = sessionKeys('--network', network, '--output-type', format);
        assert.equal(r.code, 0, r.stderr);
        let callData;
        let blob;
        if (format === 'json') {
          const out = JSON.parse(r.stdout);
          callData = out.setKeysCallData;
          blob = out.sessionKeys;
          assert.deepEqual(out.keys.map((k) => k.keyType), SESSION_KEYS.map((k) => k[1]));
          const expected = splitBlob(blob);
          out.keys.forEach((k, i) => assert.equal(k.public, expected[i].public));
        } else {
          callData = r.stdout.match(/^Call data:\s+(0x[0-9a-f]+)$/m)?.[1];
          blob = r.stdout.match(/^Session keys:\s+(0x[0-9a-f]+)$/m)?.[1];
          assert.ok(callData && blob, r.stdout);
          // Each key printed on its own line with its key type and scheme.
          for (const k of splitBlob(blob)) {
            assert.match(r.stdout, new RegExp(`${k.keyType} ${k.scheme}\\s+${k.public}$`, 'm'));
          }
        }
        const call = reg.createType('Call', hexToU8a(callData));
        assert.equal(`${call.section}.${call.method}`, 'session.setKeys', network);
        assert.equal(u8aToHex(call.args[0].toU8a()), blob);
        assert.equal(call.args[1].toHex(), '0x');
        assert.equal(u8aToHex(call.toU8a()), callData, 'no trailing bytes');
        // The keys were rotated in the running signer.
        assert.equal(await httpProvider.send('author_hasSessionKeys', [blob]), true);
      }
    });
  }

  test('bad network or unreachable signer: one error line, exit 2', async () => {
    let r = sessionKeys('--network', 'westend');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*network/);
    r = spawnSync(process.env.TS_CLI, ['session-keys', '--rpc', `http://127.0.0.1:${await freePort()}/`],
                  { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: cannot connect/);
  });
});

describe('keystore_sign verifies with @polkadot/util-crypto', () => {
  const messages = [new Uint8Array(0), stringToU8a('tee-signer service test'), randomBytes(300)];

  test('sr25519 (audi key of a session-key set)', async () => {
    const blob = await ws.send('author_rotateKeys', []);
    const audi = splitBlob(blob).find((k) => k.keyType === 'audi');
    for (const msg of messages) {
      const sig = await ws.send('keystore_sign', ['audi', 'sr25519', audi.public, u8aToHex(msg)]);
      assert.equal(hexToU8a(sig).length, 64);
      const v = signatureVerify(msg, sig, audi.public);
      assert.ok(v.isValid, `sr25519 signature ${sig} by ${audi.public}`);
      assert.equal(v.crypto, 'sr25519');
      // Over another message it does not verify.
      assert.equal(signatureVerify(u8aConcat1(msg), sig, audi.public).isValid, false);
    }
  });

  // Key type "tsig" is not in the default protection policy, so opaque signing is allowed.
  for (const [scheme, pubLen, sigLen] of [['ed25519', 32, 64], ['ecdsa', 33, 65]]) {
    test(`${scheme} (generated key, key type tsig)`, async () => {
      for (const p of [ws, httpProvider]) {
        const pub = await p.send('keystore_generateNew', ['tsig', scheme]);
        assert.equal(hexToU8a(pub).length, pubLen);
        const listed = await p.send('keystore_publicKeys', ['tsig', scheme]);
        assert.ok(listed.includes(pub));
        for (const msg of messages) {
          const sig = await p.send('keystore_sign', ['tsig', scheme, pub, u8aToHex(msg)]);
          assert.equal(hexToU8a(sig).length, sigLen);
          const v = signatureVerify(msg, sig, pub);
          assert.ok(v.isValid, `${scheme} signature ${sig} by ${pub}`);
          assert.equal(v.crypto, scheme);
          assert.equal(signatureVerify(u8aConcat1(msg), sig, pub).isValid, false);
        }
      }
    });
  }

  test('opaque bytes for a gran key are refused with -32011 (default policy)', async () => {
    const blob = await ws.send('author_rotateKeys', []);
    const gran = splitBlob(blob)[0];
    const res = await post(service.url, rpc('keystore_sign',
                                            ['gran', 'ed25519', gran.public, '0x0102']));
    assert.equal(res.body.error.code, -32011);
  });
});

// keystore_sr25519VrfSign with the input as its 64-byte hash (docs/protocol.md §4), what a
// node-side forwarder holding sp-core 43's finished transcript sends. The JS libraries verify
// a schnorrkel VRF only for the transcript signing_context(ctx).bytes(msg), i.e.
// Transcript("SigningContext"), append_message("", ctx), append_message("sign-bytes", msg),
// with the extra transcript Transcript("VRF") + append_message("", extra) when extra is
// non-empty. So that transcript is what the test hashes: with @scure/sr25519's own Merlin
// (exported for tests as __tests.Merlin), then verified with @polkadot/util-crypto's
// sr25519VrfVerify (which is @scure/sr25519's vrf.verify).
describe('keystore_sr25519VrfSign with inputHash verifies with @polkadot/util-crypto', () => {
  const ctx = stringToU8a('substrate-test-vrf');
  const enc = (t) => (typeof t === 'string' ? stringToU8a(t) : t);
  function inputHash (publicKey, msg) {
    const t = new scureTests.Merlin('SigningContext');
    t.appendMessage(enc(''), ctx);
    t.appendMessage(enc('sign-bytes'), msg);
    t.appendMessage(enc('vrf-nm-pk'), hexToU8a(publicKey));
    return t.challengeBytes(enc('VRFHash'), 64);
  }
  const listed = (msg) => ({
    label: u8aToHex(stringToU8a('SigningContext')),
    items: [['0x', u8aToHex(ctx)], [u8aToHex(stringToU8a('sign-bytes')), u8aToHex(msg)]],
  });

  test('hashed and listed inputs: the VRF verifies against the transcript', async () => {
    const blob = await ws.send('author_rotateKeys', []);
    const babe = splitBlob(blob).find((k) => k.keyType === 'babe');
    for (const msg of [new Uint8Array(0), stringToU8a('slot 1234'), randomBytes(200)]) {
      const hashed = await ws.send('keystore_sr25519VrfSign',
                                   ['babe', babe.public, { inputHash: u8aToHex(inputHash(babe.public, msg)) }]);
      assert.equal(hexToU8a(hashed.signature).length, 96);
      assert.ok(sr25519VrfVerify(msg, hashed.signature, babe.public, ctx), 'hashed input');
      assert.equal(sr25519VrfVerify(u8aConcat1(msg), hashed.signature, babe.public, ctx), false);
      // The listed form of the same transcript: same pre-output, also verifies.
      const plain = await httpProvider.send('keystore_sr25519VrfSign', ['babe', babe.public, listed(msg)]);
      assert.equal(plain.preOutput, hashed.preOutput);
      assert.ok(sr25519VrfVerify(msg, plain.signature, babe.public, ctx), 'listed input');
      // With extra bytes: the extra transcript Transcript("VRF") + ("", extra).
      const extra = stringToU8a('extra data');
      const withExtra = await ws.send('keystore_sr25519VrfSign', ['babe', babe.public, {
        inputHash: u8aToHex(inputHash(babe.public, msg)),
        extra: { label: u8aToHex(stringToU8a('VRF')), items: [['0x', u8aToHex(extra)]] },
      }]);
      assert.equal(withExtra.preOutput, hashed.preOutput);
      assert.ok(sr25519VrfVerify(msg, withExtra.signature, babe.public, ctx, extra), 'extra');
      assert.equal(sr25519VrfVerify(msg, withExtra.signature, babe.public, ctx), false);
    }
  });

  test('bad inputs: -32602 naming the member', async () => {
    const blob = await ws.send('author_rotateKeys', []);
    const babe = splitBlob(blob).find((k) => k.keyType === 'babe');
    const msg = stringToU8a('m');
    const h = u8aToHex(inputHash(babe.public, msg));
    const cases = [
      [{ inputHash: randomHex(63) }, 'transcript.inputHash: expected 64 bytes, got 63'],
      [{ inputHash: randomHex(65) }, 'transcript.inputHash: expected 64 bytes, got 65'],
      [{ inputHash: h, ...listed(msg) }, 'transcript: give either label and items or inputHash, not both'],
      [{}, 'transcript: missing label and items, or inputHash'],
      [{ extra: null }, 'transcript: missing label and items, or inputHash'],
      [{ inputHash: h, extra: { inputHash: h } },
        'transcript.extra: the extra transcript must be {label, items}, not a hash'],
    ];
    for (const [transcript, message] of cases) {
      const res = await post(service.url, rpc('keystore_sr25519VrfSign', ['babe', babe.public, transcript]));
      assert.equal(res.body.error?.code, -32602, res.text);
      assert.equal(res.body.error.message, message);
    }
  });
});

function u8aConcat1 (msg) {
  const out = new Uint8Array(msg.length + 1);
  out.set(msg);
  out[msg.length] = 1;
  return out;
}

describe('bad input gets a JSON-RPC error or a closed connection; the service keeps serving', () => {
  async function stillServing () {
    const res = await post(service.url, rpc('rpc_methods'));
    assert.equal(res.status, 200);
    assert.ok(res.body.result.methods.includes('author_rotateKeys'));
    assert.ok((await ws.send('rpc_methods', [])).methods.includes('keystore_sign'));
  }

  async function expectError (body, code, status = 200) {
    const res = await post(service.url, body);
    assert.equal(res.status, status, res.text);
    assert.equal(res.body?.jsonrpc, '2.0', res.text);
    assert.equal(res.body.error?.code, code, res.text);
    assert.equal(typeof res.body.error.message, 'string');
    await stillServing();
    return res.body.error;
  }

  test('malformed JSON: -32700', async () => {
    for (const text of ['{"jsonrpc":"2.0","method":', 'not json', '{"a":1}}', '\u0000']) {
      await expectError(text, -32700);
    }
  });

  test('unknown methods: -32601', async () => {
    for (const m of ['author_insertKey', 'system_health', 'keystore_signX', '']) {
      await expectError(rpc(m), -32601);
    }
  });

  test('wrong parameter types and lengths: -32602', async () => {
    const pub32 = randomHex(32);
    const cases = [
      rpc('author_hasSessionKeys', [randomHex(BLOB_LEN - 1)]),
      rpc('author_hasSessionKeys', [randomHex(BLOB_LEN + 1)]),
      rpc('author_hasSessionKeys', [42]),
      rpc('author_hasSessionKeys', ['0xzz']),
      rpc('author_hasSessionKeys', []),
      rpc('author_hasKey', [pub32, 5]),
      rpc('author_hasKey', [pub32, 'bab']),
      rpc('author_hasKey', ['0x', 'babe']),
      rpc('author_hasKey', [pub32]),
      rpc('keystore_sign', ['audi', 'sr25519', randomHex(31), '0x00']),
      rpc('keystore_sign', ['tsig', 'ecdsa', pub32, '0x00']),
      rpc('keystore_sign', ['audi', 'rsa', pub32, '0x00']),
      rpc('keystore_sign', ['audi', 'sr25519', pub32, 7]),
      rpc('keystore_sign', ['audi', 'sr25519', pub32, '0x00', 'extra']),
      rpc('keystore_sign', { keyType: 'audi', scheme: 'sr25519', public: pub32, bogus: '0x' }),
      rpc('keystore_generateNew', [['tsig'], 'ed25519']),
    ];
    for (const body of cases) {
      const err = await expectError(body, -32602);
      assert.ok(err.message.length > 0, JSON.stringify(body));
    }
  });

  test('unknown key: -32003', async () => {
    await expectError(rpc('keystore_sign', ['audi', 'sr25519', randomHex(32), '0x00']), -32003);
    await expectError(rpc('keystore_sign', ['tsig', 'ed25519', randomHex(32), '0x00']), -32003);
    // Through the providers too: the error carries the code.
    for (const p of [ws, httpProvider]) {
      await assert.rejects(p.send('keystore_sign', ['tsig', 'ecdsa', randomHex(33), '0x00']),
                           /-32003/);
    }
  });

  test('body over the configured limit: 413 with -32002, connection closed', localOnly, async () => {
    const big = JSON.stringify(rpc('keystore_sign',
                                   ['audi', 'sr25519', randomHex(32), randomHex(service.maxBody)]));
    assert.ok(big.length > service.maxBody);
    await expectError(big, -32002, 413);
  });

  test('half-open and slow connections are closed; others are served meanwhile', localOnly,
       async () => {
    // Half-open: a partial request header, then silence.
    const halfOpen = net.connect(service.port, '127.0.0.1');
    halfOpen.on('error', () => {});
    await new Promise((resolve) => halfOpen.once('connect', resolve));
    halfOpen.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    // Silent: connects and sends nothing.
    const silent = net.connect(service.port, '127.0.0.1');
    silent.on('error', () => {});
    // Slow: a complete header, then a body that trickles in a byte at a time.
    const slow = net.connect(service.port, '127.0.0.1');
    slow.on('error', () => {});
    await new Promise((resolve) => slow.once('connect', resolve));
    const slowBody = JSON.stringify(rpc('rpc_methods'));
    slow.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
               `Content-Length: ${slowBody.length}\r\n\r\n`);
    let i = 0;
    const trickle = setInterval(() => {
      if (i < slowBody.length && !slow.destroyed) slow.write(slowBody[i++]);
    }, 250);
    try {
      // Everyone else is served while those are pending.
      for (let n = 0; n < 5; n++) {
        await stillServing();
        await sleep(100);
      }
      const limit = service.headerTimeoutMs + 4000;
      await closedWithin(halfOpen, limit);
      await closedWithin(silent, limit);
      // The body needs ~20 s at this pace; the 3 s body timeout closes it first.
      await closedWithin(slow, 3000 + 4000);
      assert.ok(i < slowBody.length, 'the slow body was cut off before it completed');
    } finally {
      clearInterval(trickle);
      for (const s of [halfOpen, silent, slow]) s.destroy();
    }
    await stillServing();
  });

  test('a burst of bad requests on many connections does not disturb a good client', async () => {
    const bad = [];
    for (let n = 0; n < 20; n++) {
      bad.push(post(service.url, n % 2 ? '{' : rpc('nope_nope')).catch(() => null));
    }
    const good = await httpProvider.send('author_hasKey', [randomHex(32), 'babe']);
    assert.equal(good, false);
    await Promise.all(bad);
    await stillServing();
  });
});

describe('shutdown', () => {
  test('SIGTERM: exits 0 and removes the Unix socket', localOnly, async () => {
    await ws.disconnect();
    ws = null;
    assert.ok(existsSync(service.socket), 'the Unix socket exists while serving');
    const { code, signal, socketLeft } = await service.stop();
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.equal(socketLeft, false, 'the Unix socket is removed at shutdown');
  });
});
