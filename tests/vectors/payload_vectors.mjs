// Regenerates the signing-payload vectors embedded in tests/unit/test_payloads.cpp
// with @polkadot/types (an independent SCALE implementation) and the Kusama
// runtime metadata shipped in @polkadot/types-support (static-kusama), so every
// type whose definition is in the metadata is encoded from the runtime's own
// type registry:
//   sp_runtime::generic::header::Header (SpRuntimeHeader) and DigestItem,
//   sp_consensus_babe::digests::PreDigest (SpConsensusBabeDigestsPreDigest),
//   sp_consensus_beefy::commitment::Commitment (SpConsensusBeefyCommitment),
//   finality_grandpa::Prevote / Precommit (FinalityGrandpaPrevote/Precommit).
// Types the metadata does not carry are declared here, transcribed from the
// polkadot-sdk sources named next to them. Hashes come from @polkadot/util-crypto
// (blake2AsU8a, keccakAsU8a). The last header is a real block header from
// @polkadot/types-support's JSON fixtures (Header.004.json, a BABE chain).
//
// Usage: node tests/vectors/payload_vectors.mjs
// Packages load from $TS_NODE_MODULES, else tests/node/node_modules. Output is
// deterministic; it prints one JSON line per vector.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = process.env.TS_NODE_MODULES || path.resolve(here, '../node/node_modules');
const load = (file) => import(pathToFileURL(path.join(nm, file)).href);

const { TypeRegistry, Metadata } = await load('@polkadot/types/index.js');
const kusama = (await load('@polkadot/types-support/metadata/static-kusama.js')).default;
const { blake2AsU8a, keccakAsU8a } = await load('@polkadot/util-crypto/index.js');
const { u8aToHex, u8aConcat, stringToU8a } = await load('@polkadot/util/index.js');

const registry = new TypeRegistry();
const metadata = new Metadata(registry, kusama);
registry.setMetadata(metadata);

// Not in the runtime metadata; transcribed from polkadot-sdk:
registry.register({
  // finality-grandpa: enum Message { #[codec(index = 0)] Prevote, 1 Precommit, 2 PrimaryPropose },
  // PrimaryPropose { target_hash, target_number } has Prevote's shape.
  GrandpaMessage: {
    _enum: {
      Prevote: 'FinalityGrandpaPrevote',
      Precommit: 'FinalityGrandpaPrecommit',
      PrimaryPropose: 'FinalityGrandpaPrevote',
    },
  },
  // polkadot/primitives: CompactStatementInner { #[codec(index = 1)] Seconded, 2 Valid },
  // encoded after the 4-byte magic "BKNG".
  CompactStatementInner: { _enum: { Unused0: 'Null', Seconded: 'H256', Valid: 'H256' } },
  TsSigningContext: { sessionIndex: 'u32', parentHash: 'H256' },
  TsExplicitDisputeStatement: { valid: 'bool', candidateHash: 'H256', session: 'u32' },
});

const hex = (u8) => u8aToHex(u8);
const pattern = (n, f) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
const h256 = (seed) => pattern(32, (i) => seed * 31 + i * 7);
const out = (kind, obj) => console.log(JSON.stringify({ kind, ...obj }));

// ---- GRANDPA: SCALE((Message, round: u64, set_id: u64)) --------------------------
const grandpa = [
  ['Prevote', h256(1), 1, 1n, 0n],
  ['Precommit', h256(2), 22_512_345, 98_765n, 3_141n],
  ['PrimaryPropose', h256(3), 0xffffffff, 0xffffffffffffffffn, 0xfedcba9876543210n],
  ['Prevote', h256(4), 30_000_000, 1n << 40n, 7n],
];
for (const [variant, hash, number, round, setId] of grandpa) {
  const msg = registry.createType('GrandpaMessage', { [variant]: { targetHash: hash, targetNumber: number } });
  const payload = registry.createType('(GrandpaMessage, u64, u64)', [msg, round, setId]).toU8a();
  out('grandpa', {
    variant, target_hash: hex(hash), target_number: number, round: round.toString(),
    set_id: setId.toString(), payload: hex(payload), payload_blake2: hex(blake2AsU8a(payload)),
  });
}

// ---- BABE: PreDigest and headers --------------------------------------------------
const preDigests = [
  { Primary: { authorityIndex: 17, slot: 287_654_321n, vrfSignature: { preOutput: h256(5), proof: pattern(64, (i) => 200 - i) } } },
  { SecondaryPlain: { authorityIndex: 0xfffffffe, slot: 1n } },
  { SecondaryVRF: { authorityIndex: 999, slot: 0xffffffffffffffffn, vrfSignature: { preOutput: h256(6), proof: pattern(64, (i) => i * 3) } } },
];
const encodedPreDigests = preDigests.map((p) => registry.createType('SpConsensusBabeDigestsPreDigest', p).toU8a());
for (let i = 0; i < preDigests.length; ++i) {
  const [variant, body] = Object.entries(preDigests[i])[0];
  out('babe_pre_digest', {
    variant, authority_index: body.authorityIndex, slot: body.slot.toString(),
    vrf_pre_output: body.vrfSignature ? hex(body.vrfSignature.preOutput) : null,
    vrf_proof: body.vrfSignature ? hex(body.vrfSignature.proof) : null,
    encoded: hex(encodedPreDigests[i]),
  });
}

const engine = (s) => stringToU8a(s);
const headers = [
  { // primary claim, plus the other digest kinds a relay-chain header carries
    name: 'primary_with_other_items', number: 22_512_345, pre: 0,
    extra: [
      { Consensus: [engine('BEEF'), hex(pattern(40, (i) => i))] },
      { Other: hex(pattern(3, (i) => 0xa0 + i)) },
      { RuntimeEnvironmentUpdated: null },
    ],
  },
  { name: 'secondary_plain', number: 1, pre: 1, extra: [] },
  { name: 'secondary_vrf_big_number', number: 0x3fffffff + 1, pre: 2, extra: [{ Consensus: [engine('FRNK'), hex(pattern(5, (i) => i))] }] },
];
for (const h of headers) {
  // Bytes given as hex strings (a Uint8Array would be read as already length-prefixed).
  const logs = [{ PreRuntime: [engine('BABE'), hex(encodedPreDigests[h.pre])] }, ...h.extra];
  const header = registry.createType('SpRuntimeHeader', {
    parentHash: h256(10 + h.pre), number: h.number, stateRoot: h256(20 + h.pre),
    extrinsicsRoot: h256(30 + h.pre), digest: { logs },
  });
  const encoded = header.toU8a();
  out('babe_header', {
    name: h.name, number: h.number, slot: Object.values(preDigests[h.pre])[0].slot.toString(),
    digest_items: logs.length, encoded: hex(encoded), pre_hash: hex(blake2AsU8a(encoded)),
    polkadot_js_hash: hex(header.hash),
  });
}

// A real sealed BABE header (types-support/json/Header.004.json): the seal is the
// last digest item; the pre-hash is the hash of the header without it.
{
  const json = JSON.parse(fs.readFileSync(path.join(nm, '@polkadot/types-support/json/Header.004.json'), 'utf8'));
  const sealed = registry.createType('Header', json.result);
  const logs = sealed.digest.logs.toArray();
  const unsealed = registry.createType('Header', {
    parentHash: sealed.parentHash, number: sealed.number, stateRoot: sealed.stateRoot,
    extrinsicsRoot: sealed.extrinsicsRoot, digest: { logs: logs.slice(0, -1) },
  });
  const pre = registry.createType('SpConsensusBabeDigestsPreDigest', logs[0].asPreRuntime[1].toU8a(true));
  out('real_header', {
    name: 'types-support Header.004.json', sealed: hex(sealed.toU8a()), unsealed: hex(unsealed.toU8a()),
    slot: pre.asPrimary.slot.toString(), authority_index: pre.asPrimary.authorityIndex.toNumber(),
    number: sealed.number.toNumber(), pre_hash: hex(blake2AsU8a(unsealed.toU8a())),
    seal: hex(logs[logs.length - 1].asSeal[1].toU8a(true)),
  });
}

// ---- BEEFY: Commitment and keccak prehash -----------------------------------------
const commitments = [
  { payload: [[stringToU8a('mh'), h256(40)]], blockNumber: 22_512_000, validatorSetId: 3_141n },
  { payload: [], blockNumber: 0, validatorSetId: 0n },
  { payload: [[stringToU8a('mh'), h256(41)], [stringToU8a('zz'), pattern(70, (i) => i)]], blockNumber: 0xffffffff, validatorSetId: 0xffffffffffffffffn },
];
for (const c of commitments) {
  const enc = registry.createType('SpConsensusBeefyCommitment', {
    payload: c.payload.map(([id, v]) => [id, hex(v)]),
    blockNumber: c.blockNumber, validatorSetId: c.validatorSetId,
  }).toU8a();
  out('beefy', {
    entries: c.payload.length, block_number: c.blockNumber, validator_set_id: c.validatorSetId.toString(),
    encoded: hex(enc), prehash: hex(keccakAsU8a(enc)),
  });
}

// ---- Parachains ---------------------------------------------------------------------
const magic = (s) => registry.createType('[u8;4]', stringToU8a(s));
for (const [variant, session] of [['Seconded', 4_321], ['Valid', 0xffffffff]]) {
  const cand = h256(50 + session % 7), parent = h256(60);
  // CompactStatement::signing_payload = (statement, context).encode(), statement = magic ++ inner.
  const payload = u8aConcat(
    registry.createType('([u8;4], CompactStatementInner)', [magic('BKNG'), { [variant]: cand }]).toU8a(),
    registry.createType('TsSigningContext', { sessionIndex: session, parentHash: parent }).toU8a());
  out('para', { variant: `backing_${variant.toLowerCase()}`, session, candidates: [hex(cand)], parent_hash: hex(parent), payload: hex(payload) });
}
{
  const cand = h256(70);
  const payload = registry.createType('([u8;4], H256, u32)', [magic('APPR'), cand, 12_345]).toU8a();
  out('para', { variant: 'approval', session: 12_345, candidates: [hex(cand)], payload: hex(payload) });
  const many = [h256(71), h256(72), h256(73)];
  const multi = registry.createType('([u8;4], Vec<H256>, u32)', [magic('APPR'), many, 12_346]).toU8a();
  out('para', { variant: 'approval_multiple', session: 12_346, candidates: many.map(hex), payload: hex(multi) });
}
for (const valid of [true, false]) {
  const cand = h256(valid ? 80 : 81);
  const payload = u8aConcat(magic('DISP').toU8a(),
    registry.createType('TsExplicitDisputeStatement', { valid, candidateHash: cand, session: 777 }).toU8a());
  out('para', { variant: valid ? 'dispute_valid' : 'dispute_invalid', session: 777, candidates: [hex(cand)], payload: hex(payload) });
}
