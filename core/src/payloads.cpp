// Signing payloads of Kusama/Polkadot session keys (see payloads.hpp).
#include "teesigner/core/payloads.hpp"

#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/scale.hpp"

namespace teesigner::core::payloads {
namespace {

using scale::Decoder;
using scale::Encoder;

template <size_t N>
bool starts_with(ByteSpan data, const ByteArray<N>& prefix) noexcept {
    if (data.size() < N) return false;
    for (size_t i = 0; i < N; ++i)
        if (data[i] != prefix[i]) return false;
    return true;
}

Result<DigestItem> decode_digest_item(Decoder& d) {
    auto tag = d.u8();
    if (!tag) return tag.error();
    DigestItem item;
    switch (*tag) {
        case 0: {  // Other(Vec<u8>)
            auto data = d.bytes();
            if (!data) return data.error();
            item.kind = DigestItemKind::other;
            item.data = std::move(data).value();
            return item;
        }
        case 4:    // Consensus(ConsensusEngineId, Vec<u8>)
        case 5:    // Seal(ConsensusEngineId, Vec<u8>)
        case 6: {  // PreRuntime(ConsensusEngineId, Vec<u8>)
            auto engine = d.array<4>();
            if (!engine) return engine.error();
            auto data = d.bytes();
            if (!data) return data.error();
            item.kind = static_cast<DigestItemKind>(*tag);
            item.engine = *engine;
            item.data = std::move(data).value();
            return item;
        }
        case 8:  // RuntimeEnvironmentUpdated
            item.kind = DigestItemKind::runtime_environment_updated;
            return item;
        default:
            return Error::invalid_encoding;
    }
}

void encode_digest_item(Encoder& e, const DigestItem& item) {
    e.u8(static_cast<uint8_t>(item.kind));
    switch (item.kind) {
        case DigestItemKind::other:
            e.bytes(item.data);
            break;
        case DigestItemKind::consensus:
        case DigestItemKind::seal:
        case DigestItemKind::pre_runtime:
            e.raw(item.engine).bytes(item.data);
            break;
        case DigestItemKind::runtime_environment_updated:
            break;
    }
}

Result<Hash256> decode_hash(Decoder& d) {
    return d.array<32>();
}

}  // namespace

// ---- GRANDPA -------------------------------------------------------------------

Result<GrandpaVote> decode_grandpa_vote(ByteSpan payload) {
    Decoder d(payload);
    auto kind = d.enum_tag(3);
    auto target_hash = d.array<32>();
    auto target_number = d.u32();
    auto round = d.u64();
    auto set_id = d.u64();
    if (!kind || !target_hash || !target_number || !round || !set_id)
        return Error::invalid_encoding;
    TS_TRY(d.finish());
    GrandpaVote v;
    v.kind = static_cast<GrandpaMessageKind>(*kind);
    v.target_hash = *target_hash;
    v.target_number = *target_number;
    v.round = *round;
    v.set_id = *set_id;
    return v;
}

Bytes encode_grandpa_vote(const GrandpaVote& vote) {
    Encoder e;
    e.enum_tag(static_cast<uint8_t>(vote.kind))
        .raw(vote.target_hash)
        .u32(vote.target_number)
        .u64(vote.round)
        .u64(vote.set_id);
    return e.take();
}

// ---- Headers ---------------------------------------------------------------------

Result<Header> decode_header(ByteSpan encoded) {
    Decoder d(encoded);
    Header h;
    auto parent = decode_hash(d);
    if (!parent) return parent.error();
    auto number = d.compact_u32();
    if (!number) return number.error();
    auto state_root = decode_hash(d);
    if (!state_root) return state_root.error();
    auto extrinsics_root = decode_hash(d);
    if (!extrinsics_root) return extrinsics_root.error();
    auto digest = d.vec<DigestItem>(decode_digest_item, 1);
    if (!digest) return digest.error();
    TS_TRY(d.finish());
    h.parent_hash = *parent;
    h.number = *number;
    h.state_root = *state_root;
    h.extrinsics_root = *extrinsics_root;
    h.digest = std::move(digest).value();
    return h;
}

Bytes encode_header(const Header& header) {
    Encoder e;
    e.raw(header.parent_hash)
        .compact(header.number)
        .raw(header.state_root)
        .raw(header.extrinsics_root)
        .vec(header.digest, encode_digest_item);
    return e.take();
}

// ---- BABE ------------------------------------------------------------------------

Result<BabePreDigest> decode_babe_pre_digest(ByteSpan encoded) {
    Decoder d(encoded);
    auto tag = d.u8();
    if (!tag) return tag.error();
    if (*tag < 1 || *tag > 3) return Error::invalid_encoding;
    BabePreDigest p;
    p.kind = static_cast<BabePreDigestKind>(*tag);
    auto authority = d.u32();
    auto slot = d.u64();
    if (!authority || !slot) return Error::invalid_encoding;
    p.authority_index = *authority;
    p.slot = *slot;
    if (p.kind != BabePreDigestKind::secondary_plain) {
        auto pre_output = d.array<32>();
        auto proof = d.array<64>();
        if (!pre_output || !proof) return Error::invalid_encoding;
        p.vrf_pre_output = *pre_output;
        p.vrf_proof = *proof;
    }
    TS_TRY(d.finish());
    return p;
}

Bytes encode_babe_pre_digest(const BabePreDigest& p) {
    Encoder e;
    e.u8(static_cast<uint8_t>(p.kind)).u32(p.authority_index).u64(p.slot);
    if (p.kind != BabePreDigestKind::secondary_plain) e.raw(p.vrf_pre_output).raw(p.vrf_proof);
    return e.take();
}

Result<BabeSealRequest> decode_babe_seal_request(ByteSpan header) {
    auto decoded = decode_header(header);
    if (!decoded) return decoded.error();
    BabeSealRequest req;
    const DigestItem* pre = nullptr;
    for (const DigestItem& item : decoded->digest) {
        // Sealing a header that already carries a seal would sign something no
        // verifier hashes: refuse it.
        if (item.kind == DigestItemKind::seal) return Error::invalid_encoding;
        if (item.kind == DigestItemKind::pre_runtime && item.engine == kBabeEngineId) {
            if (pre != nullptr)
                return Error::invalid_encoding;  // "Multiple BABE pre-runtime digests"
            pre = &item;
        }
    }
    if (pre == nullptr) return Error::invalid_encoding;
    auto pre_digest = decode_babe_pre_digest(pre->data);
    if (!pre_digest) return pre_digest.error();
    req.pre_digest = *pre_digest;
    // Strict decoding makes the input the canonical SCALE encoding: hash it as given.
    req.pre_hash = blake2b_256(header);
    req.header = std::move(decoded).value();
    return req;
}

// ---- BEEFY -----------------------------------------------------------------------

Result<BeefyCommitment> decode_beefy_commitment(ByteSpan encoded) {
    Decoder d(encoded);
    using Entry = std::pair<ByteArray<2>, Bytes>;
    auto payload = d.vec<Entry>(
        [](Decoder& dec) -> Result<Entry> {
            auto id = dec.array<2>();
            if (!id) return id.error();
            auto value = dec.bytes();
            if (!value) return value.error();
            return Entry{*id, std::move(value).value()};
        },
        3);
    if (!payload) return payload.error();
    auto block = d.u32();
    auto set_id = d.u64();
    if (!block || !set_id) return Error::invalid_encoding;
    TS_TRY(d.finish());
    BeefyCommitment c;
    c.payload = std::move(payload).value();
    c.block_number = *block;
    c.validator_set_id = *set_id;
    return c;
}

Bytes encode_beefy_commitment(const BeefyCommitment& c) {
    Encoder e;
    e.vec(c.payload, [](Encoder& enc, const std::pair<ByteArray<2>, Bytes>& entry) {
        enc.raw(entry.first).bytes(entry.second);
    });
    e.u32(c.block_number).u64(c.validator_set_id);
    return e.take();
}

Hash256 beefy_prehash(ByteSpan encoded_commitment) noexcept {
    return keccak_256(encoded_commitment);
}

// ---- Parachains --------------------------------------------------------------------

bool has_para_magic(ByteSpan payload) noexcept {
    return starts_with(payload, kBackingMagic) || starts_with(payload, kApprovalMagic) ||
           starts_with(payload, kDisputeMagic);
}

bool is_proof_of_possession_statement(ByteSpan payload) noexcept {
    return (payload.size() == 24 || payload.size() == 36) &&
           starts_with(payload, kProofOfPossessionTag);
}

Result<ParaStatement> decode_para_statement(ByteSpan payload) {
    Decoder d(payload);
    auto magic = d.array<4>();
    if (!magic) return magic.error();
    ParaStatement s;
    if (*magic == kBackingMagic) {
        // CompactStatement = magic ++ CompactStatementInner { 1 Seconded(H), 2 Valid(H) },
        // then SigningContext { session_index: u32, parent_hash: H256 }.
        auto tag = d.u8();
        if (!tag) return tag.error();
        if (*tag != 1 && *tag != 2) return Error::invalid_encoding;
        auto candidate = decode_hash(d);
        auto session = d.u32();
        auto parent = decode_hash(d);
        if (!candidate || !session || !parent) return Error::invalid_encoding;
        s.kind = *tag == 1 ? ParaStatementKind::backing_seconded : ParaStatementKind::backing_valid;
        s.candidates.push_back(*candidate);
        s.session = *session;
        s.parent_hash = *parent;
    } else if (*magic == kApprovalMagic) {
        if (payload.size() == 4 + 32 + 4) {
            auto candidate = decode_hash(d);
            if (!candidate) return candidate.error();
            s.kind = ParaStatementKind::approval;
            s.candidates.push_back(*candidate);
        } else {
            auto candidates = d.vec<Hash256>(decode_hash, 32);
            if (!candidates) return candidates.error();
            if (candidates->empty()) return Error::invalid_encoding;
            s.kind = ParaStatementKind::approval_multiple;
            s.candidates = std::move(candidates).value();
        }
        auto session = d.u32();
        if (!session) return session.error();
        s.session = *session;
    } else if (*magic == kDisputeMagic) {
        auto valid = d.boolean();
        auto candidate = decode_hash(d);
        auto session = d.u32();
        if (!valid || !candidate || !session) return Error::invalid_encoding;
        s.kind = *valid ? ParaStatementKind::dispute_valid : ParaStatementKind::dispute_invalid;
        s.candidates.push_back(*candidate);
        s.session = *session;
    } else {
        return Error::invalid_encoding;
    }
    TS_TRY(d.finish());
    return s;
}

Result<Bytes> encode_para_statement(const ParaStatement& s) {
    Encoder e;
    bool multiple = s.kind == ParaStatementKind::approval_multiple;
    if (multiple ? s.candidates.empty() : s.candidates.size() != 1) return Error::invalid_length;
    switch (s.kind) {
        case ParaStatementKind::backing_seconded:
        case ParaStatementKind::backing_valid:
            e.raw(kBackingMagic)
                .u8(s.kind == ParaStatementKind::backing_seconded ? 1 : 2)
                .raw(s.candidates[0])
                .u32(s.session)
                .raw(s.parent_hash);
            return e.take();
        case ParaStatementKind::approval:
            e.raw(kApprovalMagic).raw(s.candidates[0]).u32(s.session);
            return e.take();
        case ParaStatementKind::approval_multiple:
            e.raw(kApprovalMagic);
            e.vec(s.candidates, [](Encoder& enc, const Hash256& h) { enc.raw(h); });
            e.u32(s.session);
            return e.take();
        case ParaStatementKind::dispute_valid:
        case ParaStatementKind::dispute_invalid:
            e.raw(kDisputeMagic)
                .boolean(s.kind == ParaStatementKind::dispute_valid)
                .raw(s.candidates[0])
                .u32(s.session);
            return e.take();
    }
    return Error::invalid_encoding;
}

}  // namespace teesigner::core::payloads
