// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*).
// Signatures, addresses and VRF proofs come from @polkadot/util-crypto (an
// independent implementation), so the seeds start the fuzzers on the accepting
// paths. Run from the repository root after `npm ci --prefix tests/node`:
//   node fuzz/make_seeds.mjs
// (fuzz/corpus/sealed_object is written by the target itself, see
// fuzz_sealed_object.cpp: TS_FUZZ_WRITE_SEEDS=fuzz/corpus/sealed_object
// build-fuzz/fuzz/fuzz_sealed_object -runs=0.)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(repo, 'tests/node/package.json'));
const uc = require('@polkadot/util-crypto');
const { u8aConcat, stringToU8a, hexToU8a } = require('@polkadot/util');

await uc.cryptoWaitReady();

function write(target, name, bytes) {
  const dir = path.join(repo, 'fuzz/corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `seed-${name}`), typeof bytes === 'string' ? bytes : Buffer.from(bytes));
}
const u8 = (...xs) => Uint8Array.from(xs);
const le16 = (v) => u8(v & 0xff, (v >> 8) & 0xff);
const le32 = (v) => u8(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
const le64 = (v) => { const b = new Uint8Array(8); let x = BigInt(v); for (let i = 0; i < 8; i++) { b[i] = Number(x & 0xffn); x >>= 8n; } return b; };
function compact(v) {
  let x = BigInt(v);
  if (x < 64n) return u8(Number(x) << 2);
  if (x < 16384n) return le16((Number(x) << 2) | 1);
  if (x < 1073741824n) return le32(((Number(x) << 2) | 2) >>> 0);
  const bytes = [];
  while (x > 0n) { bytes.push(Number(x & 0xffn)); x >>= 8n; }
  return u8(((bytes.length - 4) << 2) | 3, ...bytes);
}
const vecU8 = (b) => u8aConcat(compact(b.length), b);
const str = (s) => vecU8(stringToU8a(s));
const chunk = (b) => u8aConcat(u8(b.length), b); // the fuzz targets' u8-length chunks

const DEV = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const seedA = new Uint8Array(32).fill(7);
const seedB = hexToU8a('0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const msg = stringToU8a('tee-signer fuzz seed message');

// ---- base58 / ss58 -------------------------------------------------------------
const alice = hexToU8a('0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d');
const aliceEcdsa = hexToU8a('0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1');
for (const p of [0, 2, 42, 63, 64, 255, 16383]) write('ss58', `alice-${p}`, uc.encodeAddress(alice, p));
write('ss58', 'ecdsa-33', uc.encodeAddress(aliceEcdsa, 42));
const good = uc.encodeAddress(alice, 2);
write('ss58', 'bad-checksum', good.slice(0, -1) + (good.endsWith('a') ? 'b' : 'a'));
// Reserved prefix 46 and a non-canonical two-byte prefix for 0, built by hand.
function ss58Raw(prefixBytes, key) {
  const body = u8aConcat(prefixBytes, key);
  const sum = uc.blake2AsU8a(u8aConcat(stringToU8a('SS58PRE'), body), 512).subarray(0, 2);
  return uc.base58Encode(u8aConcat(body, sum));
}
write('ss58', 'reserved-46', ss58Raw(u8(46), alice));
write('ss58', 'two-byte-prefix-0', ss58Raw(u8(64, 0), alice));
write('base58', 'alice', uc.encodeAddress(alice, 42));
write('base58', 'ones', '11111');
write('base58', 'invalid-chars', '0OIl');
write('base58', 'z', 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz');

// ---- bip39 / suri --------------------------------------------------------------
write('bip39', 'dev', DEV);
write('bip39', 'trezor-12', 'legal winner thank year wave sausage worth useful legal winner thank yellow');
write('bip39', 'trezor-24', 'letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless');
write('bip39', 'bad-checksum', 'abandon '.repeat(11) + 'abandon');
write('bip39', 'unicode-space', DEV.replaceAll(' ', '\u3000'));
write('bip39', 'tabs', '\t' + DEV.replaceAll(' ', '\t\n ') + '\n');
write('bip39', 'upper', DEV.toUpperCase());
write('suri', 'alice', '//Alice');
write('suri', 'alice-pw', '//Alice///password');
write('suri', 'phrase-path', `${DEV}//polkadot//0/1///secret`);
write('suri', 'hex-seed', '0x' + Buffer.from(seedB).toString('hex') + '//hard/soft');
write('suri', 'soft-number', '/1/+2//003');
write('suri', 'empty-junction', '//');
write('suri', 'empty-password', `${DEV}///`);
write('suri', 'short-hex', '0x1234');
write('suri', 'newline-password', '//Alice///a\nb');

// ---- scale -----------------------------------------------------------------------
// [count][selectors...][stream]; selectors: see fuzz_scale.cpp.
write('scale', 'compacts', u8aConcat(u8(7, 6, 6, 6, 6, 6, 6, 6), compact(63), compact(64), compact(16383), compact(16384), compact(1073741823), compact(1073741824), compact(2n ** 64n - 1n)));
write('scale', 'compact-u32-u128', u8aConcat(u8(3, 7, 8, 8), compact(4294967295), compact(2n ** 128n - 1n), compact(2n ** 64n)));
write('scale', 'bytes-str', u8aConcat(u8(3, 9, 10, 14), vecU8(msg), str('héllo'), compact(2), vecU8(u8(1)), vecU8(u8())));
write('scale', 'nested', u8aConcat(u8(2, 17, 12), compact(2), compact(5), u8(1), str('five'), compact(1n << 40n), u8(0), u8(1), le32(0xdeadbeef)));
write('scale', 'fixed', u8aConcat(u8(6, 0, 1, 2, 3, 4, 5), u8(0xff), le16(0x1234), le32(0x89abcdef), le64(1n << 63n), new Uint8Array(16).fill(0xee), u8(1)));
write('scale', 'options-enum', u8aConcat(u8(4, 11, 11, 15, 18), u8(2), u8(0), u8(2), u8(1)));
write('scale', 'non-canonical', u8aConcat(u8(3, 6, 5, 10), u8(0x01, 0x00), u8(2), u8(8, 0xff, 0xfe)));

// ---- signatures --------------------------------------------------------------------
const sr = uc.sr25519PairFromSeed(seedA);
write('sr25519_verify', 'valid', u8aConcat(u8(0), sr.publicKey, uc.sr25519Sign(msg, sr), msg));
write('sr25519_verify', 'valid-empty', u8aConcat(u8(0), sr.publicKey, uc.sr25519Sign(u8(), sr)));
write('sr25519_verify', 'sign-flip', u8aConcat(u8(1), seedA, le16(300), msg));
write('sr25519_verify', 'sign-flip-marker', u8aConcat(u8(1), seedB, le16(511), msg));

function vrfTranscript(ctx, m) {
  return u8aConcat(chunk(stringToU8a('SigningContext')), u8(2), chunk(u8()), chunk(ctx), chunk(stringToU8a('sign-bytes')), chunk(m));
}
const ctx = stringToU8a('ctx');
const vrf = uc.sr25519VrfSign(msg, sr, ctx);
write('vrf_verify', 'valid', u8aConcat(u8(0), sr.publicKey, vrf.subarray(0, 32), vrf.subarray(32), vrfTranscript(ctx, msg)));
const extra = stringToU8a('extra');
const vrfx = uc.sr25519VrfSign(msg, sr, ctx, extra);
write('vrf_verify', 'valid-extra', u8aConcat(u8(2), sr.publicKey, vrfx.subarray(0, 32), vrfx.subarray(32), vrfTranscript(ctx, msg), chunk(stringToU8a('VRF')), u8(1), chunk(u8()), chunk(extra)));
const babe = u8aConcat(chunk(stringToU8a('BABE')), u8(3), chunk(stringToU8a('slot number')), chunk(le64(281474976710656n)), chunk(stringToU8a('current epoch')), chunk(le64(42)), chunk(stringToU8a('chain randomness')), chunk(new Uint8Array(32).fill(9)));
write('vrf_verify', 'sign-babe', u8aConcat(u8(1), seedA, le16(17), babe));
write('vrf_verify', 'sign-extra', u8aConcat(u8(3), seedB, le16(700), vrfTranscript(ctx, msg), chunk(stringToU8a('VRF'))));
// Mode bit 2: signed through the input hash, compared with the transcript path.
write('vrf_verify', 'sign-hashed', u8aConcat(u8(5), seedA, le16(17), babe, new Uint8Array(32).fill(0x33)));
write('vrf_verify', 'sign-hashed-extra', u8aConcat(u8(7), seedB, le16(700), vrfTranscript(ctx, msg), chunk(stringToU8a('VRF')), new Uint8Array(32).fill(0x44)));

const ec = uc.secp256k1PairFromSeed(seedA);
const ecSig = uc.secp256k1Sign(msg, ec, 'blake2');
write('ecdsa_verify', 'valid', u8aConcat(u8(0), ecSig, ec.publicKey, uc.blake2AsU8a(msg), msg));
write('ecdsa_verify', 'sign-flip', u8aConcat(u8(1), seedA, uc.keccakAsU8a(msg), le16(64 * 8), msg));
write('ecdsa_verify', 'sign-invalid-secret', u8aConcat(u8(1), new Uint8Array(32).fill(0xff), new Uint8Array(32), le16(0)));

const ed = uc.ed25519PairFromSeed(seedB);
write('ed25519_verify', 'valid', u8aConcat(u8(0), uc.ed25519Sign(msg, ed), ed.publicKey, msg));
write('ed25519_verify', 'sign-flip', u8aConcat(u8(1), seedB, stringToU8a('Alice'.padEnd(32, '\0')), le16(100), msg));

// ---- payloads (polkadot-sdk encodings, written out by hand here) -------------------
const h32 = (b) => new Uint8Array(32).fill(b);
// finality_grandpa: (Message enum {0 Prevote, 1 Precommit, 2 PrimaryPropose}{hash, u32}, round u64, set_id u64)
const grandpa = (kind, b, n, round, setId) => u8aConcat(u8(kind), h32(b), le32(n), le64(round), le64(setId));
write('grandpa_vote', 'prevote', grandpa(0, 1, 100, 7, 3));
write('grandpa_vote', 'precommit', grandpa(1, 2, 101, 7, 3));
write('grandpa_vote', 'primary', grandpa(2, 3, 102, 8, 3));
write('grandpa_vote', 'bad-kind', grandpa(3, 3, 102, 8, 3));
write('grandpa_vote', 'short', grandpa(0, 1, 100, 7, 3).subarray(0, 52));
// sp_consensus_babe PreDigest: 1 Primary{authority_index u32, slot u64, vrf (pre_output 32, proof 64)},
// 2 SecondaryPlain{authority_index, slot}, 3 SecondaryVRF{authority_index, slot, vrf}.
const vrfSig = u8aConcat(h32(0x11), new Uint8Array(64).fill(0x22));
const primary = u8aConcat(u8(1), le32(5), le64(281474976710656n), vrfSig);
const plain = u8aConcat(u8(2), le32(6), le64(12345));
const secondaryVrf = u8aConcat(u8(3), le32(7), le64(12346), vrfSig);
// DigestItem: 6 PreRuntime(engine [u8;4], Vec<u8>), 4 Consensus, 5 Seal, 0 Other(Vec<u8>), 8 RuntimeEnvironmentUpdated.
const preRuntime = (engine, d) => u8aConcat(u8(6), stringToU8a(engine), vecU8(d));
const header = (items, number = 1000) => u8aConcat(h32(0xaa), compact(number), h32(0xbb), h32(0xcc), compact(items.length), ...items);
write('babe_header', 'primary', header([preRuntime('BABE', primary)]));
write('babe_header', 'secondary-plain', header([preRuntime('BABE', plain), u8aConcat(u8(4), stringToU8a('FRNK'), vecU8(u8(1, 2)))]));
write('babe_header', 'secondary-vrf', header([u8aConcat(u8(0), vecU8(u8(9))), preRuntime('BABE', secondaryVrf), u8(8)], 2 ** 31));
write('babe_header', 'sealed', header([preRuntime('BABE', primary), u8aConcat(u8(5), stringToU8a('BABE'), vecU8(new Uint8Array(64)))]));
write('babe_header', 'two-pre-digests', header([preRuntime('BABE', primary), preRuntime('BABE', plain)]));
write('babe_header', 'pre-digest-only', primary);
// sp_consensus_beefy Commitment { payload: Vec<([u8; 2], Vec<u8>)>, block_number: u32, validator_set_id: u64 }
const commitment = (entries, block, setId) => u8aConcat(compact(entries.length), ...entries.map(([id, v]) => u8aConcat(stringToU8a(id), vecU8(v))), le32(block), le64(setId));
write('beefy_commitment', 'mmr-root', commitment([['mh', h32(0x42)]], 1000, 5));
write('beefy_commitment', 'two-entries', commitment([['mh', h32(1)], ['xx', u8(1, 2, 3)]], 1, 0));
write('beefy_commitment', 'empty', commitment([], 0, 0));
// polkadot-primitives: CompactStatement ("BKNG", 1 Seconded / 2 Valid, hash) ++ SigningContext
// {session u32, parent H256}; ApprovalVote ("APPR", hash, session); multiple ("APPR", Vec<hash>,
// session); ExplicitDisputeStatement ("DISP", valid bool, hash, session).
const bkng = (tag, b, session) => u8aConcat(stringToU8a('BKNG'), u8(tag), h32(b), le32(session), h32(0xee));
write('para_statement', 'seconded', bkng(1, 1, 10));
write('para_statement', 'valid', bkng(2, 1, 10));
write('para_statement', 'approval', u8aConcat(stringToU8a('APPR'), h32(2), le32(11)));
write('para_statement', 'approval-multi', u8aConcat(stringToU8a('APPR'), compact(2), h32(2), h32(3), le32(11)));
write('para_statement', 'dispute-valid', u8aConcat(stringToU8a('DISP'), u8(1), h32(4), le32(12)));
write('para_statement', 'dispute-invalid', u8aConcat(stringToU8a('DISP'), u8(0), h32(4), le32(12)));
write('para_statement', 'bad-tag', bkng(3, 1, 10));
// Protection state machine (fuzz_protection.cpp): limits byte, then operations.
write('protection', 'grandpa-equivocation', u8(0x55, 0, 0, 1, 2, 0, 0, 0, 0, 1, 2, 1, 0, 0));
write('protection', 'babe-beefy-para', u8(0xff, 1, 3, 0, 0, 1, 3, 1, 0, 2, 1, 4, 0, 0, 3, 5, 2, 1, 0, 3, 6, 2, 1, 0));
write('protection', 'failures-export', u8(0x00, 4, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 5, 0, 1, 1, 1, 2, 0));
write('protection', 'raw-path', u8(0x12, 7, 0, 2, 3, 1, 1, 0, 7, 0, 2, 3, 2, 1, 0, 7, 2, 0, 0, 0, 0, 0));
write('protection', 'import-doc', u8aConcat(u8(0x10, 6), le16(9), stringToU8a('TSPX'), u8(1), compact(0), u8(0, 0, 0, 0, 0, 0)));

// ---- the TA command decoder (fuzz_ta_command.cpp input format) -----------------------
// Command selectors: 0 GENERATE_KEY, 1 GENERATE_SESSION_KEYS, 2 LIST_PUBLIC_KEYS,
// 3 HAS_KEYS, 4 SIGN_CHECKED (was SIGN), 5 ECDSA_SIGN_PREHASHED_CHECKED (was
// ECDSA_SIGN_PREHASHED), 6 VRF_SIGN, 7 ATTEST, 8 IMPORT_SURI,
// ..., 24 VRF_SIGN_HASHED, 25 DELETE_KEY.
// Stored keys: 0 gran/ed25519 //Alice, 1 babe/sr25519 //Alice, 2 beef/ecdsa //Alice,
// 3..8 a generated SessionKeys set.
function call(sel, shape, key, cap, body) {
  const head = (shape & 4) ? u8(sel, shape, key) : u8(sel, shape);
  return u8aConcat(head, le16(cap), le16(body.length), body);
}
const kt = (s) => stringToU8a(s);
const babeTranscript = u8aConcat(vecU8(stringToU8a('BABE')), compact(3), vecU8(stringToU8a('slot number')), vecU8(le64(1234)), vecU8(stringToU8a('current epoch')), vecU8(le64(5)), vecU8(stringToU8a('chain randomness')), vecU8(new Uint8Array(32)));
const ta = {
  'sign-sr25519': call(4, 4, 1, 112, vecU8(msg)),
  'sign-ed25519': call(4, 4, 0, 112, vecU8(msg)),
  'sign-ecdsa': call(4, 4, 2, 112, vecU8(msg)),
  'sign-generated': call(4, 4, 5, 112, vecU8(msg)),
  'sign-short-buffer': call(4, 4, 1, 10, vecU8(msg)),
  'prehashed': call(5, 4, 2, 112, uc.keccakAsU8a(msg)),
  'vrf-babe': call(6, 4, 1, 96, u8aConcat(babeTranscript, u8(0))),
  'vrf-extra': call(6, 4, 6, 96, u8aConcat(babeTranscript, u8(1), vecU8(stringToU8a('VRF')), compact(0))),
  'vrf-hashed': call(24, 4, 1, 96, u8aConcat(Uint8Array.from({ length: 64 }, (_, i) => i), u8(0))),
  'vrf-hashed-extra': call(24, 4, 6, 96, u8aConcat(Uint8Array.from({ length: 64 }, (_, i) => i), u8(1), vecU8(stringToU8a('VRF')), compact(0))),
  'vrf-hashed-short': call(24, 4, 1, 96, Uint8Array.from({ length: 63 }, (_, i) => i)),
  'delete-then-sign': u8aConcat(call(25, 4, 1, 0, u8()), call(4, 4, 1, 112, vecU8(stringToU8a('abc')))),
  'delete-generated': u8aConcat(call(25, 4, 5, 0, u8()), call(2, 0, 0, 1024, u8aConcat(kt('para'), u8(0)))),
  'list': call(2, 0, 0, 1024, u8aConcat(kt('babe'), u8(0))),
  'has-keys': call(3, 4, 1, 1, u8()),
  'generate-then-list': u8aConcat(call(0, 0, 0, 33, u8aConcat(kt('beef'), u8(2))), call(2, 0, 0, 4096, u8aConcat(kt('beef'), u8(2)))),
  'session-keys': call(1, 1, 0, 193, u8()),
  'attest': call(7, 0, 0, 4096, vecU8(stringToU8a('nonce'))),
  'import-bob': call(8, 0, 0, 64, u8aConcat(kt('babe'), u8(0), str('//Bob'))),
  'import-soft': call(8, 0, 0, 64, u8aConcat(kt('babe'), u8(0), str('//Bob/soft'))),
  'grandpa-typed': call(14, 4, 0, 112, vecU8(grandpa(0, 1, 100, 7, 3))),
  'grandpa-equivocation': u8aConcat(call(14, 4, 0, 112, vecU8(grandpa(0, 1, 100, 7, 3))), call(14, 4, 0, 112, vecU8(grandpa(0, 2, 100, 7, 3)))),
  'babe-typed': call(15, 4, 1, 112, vecU8(header([preRuntime('BABE', primary)]))),
  'babe-equivocation': u8aConcat(call(15, 4, 1, 112, vecU8(header([preRuntime('BABE', plain)]))), call(15, 4, 1, 112, vecU8(header([preRuntime('BABE', plain)], 1001)))),
  'beefy-typed': call(16, 4, 2, 112, vecU8(commitment([['mh', h32(0x42)]], 1000, 5))),
  'para-typed': u8aConcat(call(17, 4, 5, 112, vecU8(bkng(1, 1, 10))), call(17, 4, 5, 112, vecU8(u8aConcat(stringToU8a('DISP'), u8(0), h32(1), le32(10))))),
  'sign-checked-gran': call(18, 4, 0, 112, vecU8(grandpa(1, 1, 100, 7, 3))),
  'prehashed-checked': call(19, 4, 2, 112, uc.keccakAsU8a(msg)),
  'export': call(20, 0, 0, 4096, u8aConcat(le64(0), le32(0))),
  'import-export': u8aConcat(call(14, 4, 0, 112, vecU8(grandpa(0, 1, 100, 7, 3))), call(20, 0, 0, 4096, u8aConcat(le64(0), le32(0))), call(21, 0, 0, 16, vecU8(u8aConcat(stringToU8a('TSPX'), u8(1), compact(0))))),
  'policy': u8aConcat(call(23, 0, 0, 0, u8aConcat(compact(1), kt('gran'), u8(1))), call(22, 0, 0, 256, u8()), call(4, 4, 0, 112, vecU8(msg))),
  'raw-command': u8aConcat(u8(0xff), le32(0x0200), u8(0), le16(16), le16(0)),
  'raw-types': call(4, 6, 1, 112, vecU8(msg)).map((b, i) => (i === 1 ? 2 : b)),
};
for (const [name, bytes] of Object.entries(ta)) write('ta_command', name, bytes);

// ---- soft TEE frames (tee/protocol/protocol.hpp), host -> TA --------------------------------
const frame = (body) => u8aConcat(le32(body.length), body);
// 286496c0-e466-46b0-9ef1-8d9e504801d9
const uuid = u8aConcat(le32(0x286496c0), le16(0xe466), le16(0x46b0), hexToU8a('0x9ef18d9e504801d9'));
const open = frame(u8aConcat(u8(1), le32(0), le32(0), le32(0), uuid));
const invoke = (session, cmd, req, cap) => frame(u8aConcat(u8(2), le32(session), le32(cmd), le32(0x65), le32(req.length), req, le32(cap)));
const close = (session) => frame(u8aConcat(u8(3), le32(session), le32(0), le32(0)));
const signReq = (type, scheme, pk) => u8aConcat(kt(type), u8(scheme), vecU8(pk), vecU8(msg));
const aliceEd = hexToU8a('0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee');
const frames = {
  'open-sign-close': u8aConcat(open, invoke(1, 5, signReq('babe', 0, alice), 64), close(1)),
  'sign-all': u8aConcat(open, invoke(1, 5, signReq('gran', 1, aliceEd), 64), invoke(1, 5, signReq('beef', 2, aliceEcdsa), 65), invoke(1, 6, u8aConcat(kt('beef'), aliceEcdsa, uc.keccakAsU8a(msg)), 65)),
  'list-attest': u8aConcat(open, invoke(1, 3, u8aConcat(kt('babe'), u8(0)), 256), invoke(1, 8, vecU8(u8(1, 2, 3)), 2048)),
  'vrf': u8aConcat(open, invoke(1, 7, u8aConcat(kt('babe'), alice, babeTranscript, u8(0)), 96)),
  'bad-session': u8aConcat(invoke(7, 5, signReq('babe', 0, alice), 64)),
  'wrong-uuid': frame(u8aConcat(u8(1), le32(0), le32(0), le32(0), new Uint8Array(16))),
  'value-params': u8aConcat(open, frame(u8aConcat(u8(2), le32(1), le32(1), le32(0x3321), le32(1), le32(2), le32(3), le32(4), le32(5), le32(6)))),
  'oversized-length': u8aConcat(open, le32(0xffffffff)),
};
for (const [name, bytes] of Object.entries(frames)) write('softtee_frame', name, bytes);
console.log('seeds written under fuzz/corpus/');
