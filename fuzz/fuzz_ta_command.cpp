// The signer TA's command decoder, in-process (see ta_harness.hpp): up to four
// TA_InvokeCommandEntryPoint calls per input, with fuzzed command ids, parameter
// types, output capacities and SCALE requests, optionally aimed at a stored key.
// Beyond "no crash, no TEE_Panic" (and the GP output contract and the
// no-secret-in-output check in invoke()), every successful signature must
// verify under the requested public key over what the command says it signs,
// a generated key must be listed, and no two signatures of the typed
// (slashing-protected) commands within one input may conflict.
//
// Input, per call:
//   u8 command selector (0xFF: a raw u32 command id follows)
//   u8 shape: bits 0-1 parameter types (0 canonical, 1 no input, 2 raw u16 from
//             the input, 3 canonical), bit 2: prefix the request with a stored
//             key's (key type, scheme/public key) in the command's layout
//   u8 key index (only with bit 2)
//   u16 output capacity
//   u16 request length, then that many request bytes
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common.hpp"
#include "signer_ta.h"
#include "ta_harness.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"

using namespace teesigner;
using namespace teesigner::fuzz;
using core::Bytes;
using core::ByteSpan;
using core::scale::Decoder;

namespace {

// Selectors index this list; new commands go at the end (the seeds use indices).
// Selectors 4 and 5 named the removed SIGN and ECDSA_SIGN_PREHASHED, whose
// requests SIGN_CHECKED and ECDSA_SIGN_PREHASHED_CHECKED take unchanged.
constexpr uint32_t kCommands[] = {
    TA_SIGNER_CMD_GENERATE_KEY,
    TA_SIGNER_CMD_GENERATE_SESSION_KEYS,
    TA_SIGNER_CMD_LIST_PUBLIC_KEYS,
    TA_SIGNER_CMD_HAS_KEYS,
    TA_SIGNER_CMD_SIGN_CHECKED,
    TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED,
    TA_SIGNER_CMD_VRF_SIGN,
    TA_SIGNER_CMD_ATTEST,
    TA_SIGNER_CMD_IMPORT_SURI,
    TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL,
    TA_SIGNER_CMD_TEST_SPIN,
    TA_SIGNER_CMD_TEST_OPEN_RELATIVE,
    0,
    0xFFFFFFFFu,
    TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,  // 14
    TA_SIGNER_CMD_SIGN_BABE_HEADER,
    TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT,
    TA_SIGNER_CMD_SIGN_PARA_STATEMENT,
    TA_SIGNER_CMD_SIGN_CHECKED,
    TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED,  // 19
    TA_SIGNER_CMD_EXPORT_PROTECTION,
    TA_SIGNER_CMD_IMPORT_PROTECTION,
    TA_SIGNER_CMD_GET_PROTECTION_POLICY,
    TA_SIGNER_CMD_SET_PROTECTION_POLICY,  // 23
    TA_SIGNER_CMD_VRF_SIGN_HASHED,        // 24
    TA_SIGNER_CMD_DELETE_KEY,             // 25
};
constexpr size_t kCommandCount = sizeof kCommands / sizeof kCommands[0];

// The request prefix naming stored key `k` the way `command` expects it.
Bytes key_prefix(uint32_t command, const ta::StoredKey& k) {
    core::scale::Encoder e;
    e.raw(k.key_type);
    switch (command) {
        case TA_SIGNER_CMD_SIGN_CHECKED:
        case TA_SIGNER_CMD_DELETE_KEY:
            e.u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key);
            break;
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED:
        case TA_SIGNER_CMD_VRF_SIGN:
        case TA_SIGNER_CMD_VRF_SIGN_HASHED:
        case TA_SIGNER_CMD_SIGN_GRANDPA_VOTE:
        case TA_SIGNER_CMD_SIGN_BABE_HEADER:
        case TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT:
        case TA_SIGNER_CMD_SIGN_PARA_STATEMENT:
            e.raw(k.public_key);
            break;
        case TA_SIGNER_CMD_HAS_KEYS: {
            core::scale::Encoder h;
            h.compact(1).bytes(k.public_key).raw(k.key_type);
            return h.take();
        }
        default:
            e.u8(static_cast<uint8_t>(k.scheme));
            break;
    }
    return e.take();
}

// Slashing protection across the calls of one input (the storage starts from
// the snapshot, which holds no protection records): two Signed outcomes of the
// typed commands must never conflict (core/protection.hpp's rules).
struct Signed {
    std::map<std::vector<uint64_t>, core::Hash256> one_value;
    std::map<std::vector<uint64_t>, uint8_t> sides;
    std::map<core::Bytes, uint64_t> key_ids;
    uint64_t id(const core::Bytes& pk) { return key_ids.emplace(pk, key_ids.size()).first->second; }
    void value(std::vector<uint64_t> key, const core::Hash256& v) {
        auto [it, inserted] = one_value.emplace(std::move(key), v);
        TS_FUZZ_CHECK(inserted || it->second == v);  // else: the TA equivocated
    }
    void side(std::vector<uint64_t> key, bool valid) {
        uint8_t& s = sides[std::move(key)];
        s |= valid ? 1 : 2;
        TS_FUZZ_CHECK(s != 3);  // else: the TA signed both sides
    }
};
Signed g_signed;

// A SignOutcome: Signed(signature, payload_hash) or Refused(...). Returns the
// signature when signed.
std::optional<Bytes> signed_outcome(const Bytes& out) {
    Decoder d(out);
    auto tag = d.enum_tag(2);
    TS_FUZZ_CHECK(tag.ok());
    if (*tag == 1) return std::nullopt;
    auto sig = d.bytes();
    auto hash = d.array<32>();
    TS_FUZZ_CHECK(sig && hash && d.finish() == core::Error::ok);
    return *sig;
}

// The typed signing commands: the signature verifies over what the command
// says is signed, and no two signatures conflict.
void check_typed(uint32_t command, Decoder& d, const Bytes& out) {
    auto kt = d.array<4>();
    TS_FUZZ_CHECK(kt.ok());
    const bool beefy = command == TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT;
    auto pk_raw = d.raw(beefy ? 33 : 32);
    auto payload = d.bytes();
    TS_FUZZ_CHECK(pk_raw && payload);
    Bytes pk(pk_raw->begin(), pk_raw->end());
    auto sig = signed_outcome(out);
    if (!sig) return;
    using namespace core::payloads;
    switch (command) {
        case TA_SIGNER_CMD_SIGN_GRANDPA_VOTE: {
            auto v = decode_grandpa_vote(*payload);
            TS_FUZZ_CHECK(v.ok());
            TS_FUZZ_CHECK(core::verify(core::Scheme::ed25519, core::SignatureBytes(*sig), *payload,
                                       core::PublicKeyBytes(pk)) == core::Error::ok);
            if (v->kind != GrandpaMessageKind::primary_propose)
                g_signed.value({0, g_signed.id(pk), v->set_id, v->round, uint64_t(v->kind)},
                               core::blake2b_256(*payload));
            break;
        }
        case TA_SIGNER_CMD_SIGN_BABE_HEADER: {
            auto r = decode_babe_seal_request(*payload);
            TS_FUZZ_CHECK(r.ok());
            TS_FUZZ_CHECK(core::verify(core::Scheme::sr25519, core::SignatureBytes(*sig),
                                       r->pre_hash, core::PublicKeyBytes(pk)) == core::Error::ok);
            g_signed.value({1, g_signed.id(pk), r->pre_digest.slot}, r->pre_hash);
            break;
        }
        case TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT: {
            auto c = decode_beefy_commitment(*payload);
            TS_FUZZ_CHECK(c.ok());
            core::Hash256 prehash = beefy_prehash(*payload);
            TS_FUZZ_CHECK(core::ecdsa::verify_prehashed(core::SignatureBytes(*sig), prehash,
                                                        core::PublicKeyBytes(pk)) ==
                          core::Error::ok);
            g_signed.value({2, g_signed.id(pk), c->validator_set_id, c->block_number}, prehash);
            break;
        }
        default: {
            auto st = decode_para_statement(*payload);
            TS_FUZZ_CHECK(st.ok());
            TS_FUZZ_CHECK(core::verify(core::Scheme::sr25519, core::SignatureBytes(*sig), *payload,
                                       core::PublicKeyBytes(pk)) == core::Error::ok);
            for (const core::Hash256& c : st->candidates) {
                std::vector<uint64_t> key = {3, g_signed.id(pk), st->session};
                key.insert(key.end(), c.begin(), c.end());
                g_signed.side(std::move(key), st->valid_side());
            }
            break;
        }
    }
}

// Independent checks of a successful answer (the request decoded here again).
void check_success(uint32_t command, ByteSpan request, const Bytes& out) {
    Decoder d(request);
    switch (command) {
        case TA_SIGNER_CMD_SIGN_GRANDPA_VOTE:
        case TA_SIGNER_CMD_SIGN_BABE_HEADER:
        case TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT:
        case TA_SIGNER_CMD_SIGN_PARA_STATEMENT:
            check_typed(command, d, out);
            break;
        case TA_SIGNER_CMD_SIGN_CHECKED: {
            auto kt = d.array<4>();
            auto scheme = d.u8();
            auto pk = d.bytes();
            auto msg = d.bytes();
            TS_FUZZ_CHECK(kt && scheme && pk && msg && *scheme <= 2);
            if (auto sig = signed_outcome(out))
                TS_FUZZ_CHECK(core::verify(static_cast<core::Scheme>(*scheme),
                                           core::SignatureBytes(*sig), *msg,
                                           core::PublicKeyBytes(*pk)) == core::Error::ok);
            break;
        }
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED: {
            auto kt = d.array<4>();
            auto pk = d.array<33>();
            auto prehash = d.array<32>();
            TS_FUZZ_CHECK(kt && pk && prehash);
            if (auto sig = signed_outcome(out))
                TS_FUZZ_CHECK(core::ecdsa::verify_prehashed(core::SignatureBytes(*sig), *prehash,
                                                            core::PublicKeyBytes(*pk)) ==
                              core::Error::ok);
            break;
        }
        case TA_SIGNER_CMD_VRF_SIGN: {
            auto kt = d.array<4>();
            auto pk = d.array<32>();
            TS_FUZZ_CHECK(kt && pk);
            auto input = core::sr25519::decode_vrf_transcript(d);
            auto has_extra = d.option_tag();
            TS_FUZZ_CHECK(input && has_extra);
            std::optional<core::Transcript> extra;
            if (*has_extra) extra = core::sr25519::decode_vrf_transcript(d);
            TS_FUZZ_CHECK(out.size() == 96);
            ByteSpan pre(out.data(), 32), proof(out.data() + 32, 64);
            auto ok = extra ? core::sr25519::vrf_verify(*pk, *input, pre, proof, *extra)
                            : core::sr25519::vrf_verify(*pk, *input, pre, proof);
            TS_FUZZ_CHECK(ok.ok());
            break;
        }
        case TA_SIGNER_CMD_VRF_SIGN_HASHED: {
            // The proof verifies for the hashed input, with the pre-output
            // the key gives that input (an independent derivation).
            auto kt = d.array<4>();
            auto pk = d.array<32>();
            auto hash = d.array<TA_SIGNER_VRF_INPUT_HASH_SIZE>();
            auto has_extra = d.option_tag();
            TS_FUZZ_CHECK(kt && pk && hash && has_extra);
            std::optional<core::Transcript> extra;
            if (*has_extra) extra = core::sr25519::decode_vrf_transcript(d);
            TS_FUZZ_CHECK(out.size() == 96);
            ByteSpan pre(out.data(), 32), proof(out.data() + 32, 64);
            auto ok = core::sr25519::vrf_verify_hashed(
                *pk, *hash, pre, proof, extra ? *extra : core::sr25519::vrf_default_extra());
            TS_FUZZ_CHECK(ok.ok());
            TS_FUZZ_CHECK(ok->input == core::sr25519::vrf_input_point_from_hash(*hash));
            break;
        }
        case TA_SIGNER_CMD_GENERATE_KEY: {
            auto kt = d.array<4>();
            auto scheme = d.u8();
            TS_FUZZ_CHECK(kt && scheme && *scheme <= 2);
            TS_FUZZ_CHECK(out.size() == core::public_key_size(static_cast<core::Scheme>(*scheme)));
            core::scale::Encoder q;
            q.raw(*kt).u8(*scheme);
            auto listed = ta::invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, q.bytes(), 1 << 16);
            TS_FUZZ_CHECK(listed.rc == TEE_SUCCESS);
            TS_FUZZ_CHECK(memmem(listed.out.data(), listed.out.size(), out.data(), out.size()) !=
                          nullptr);
            break;
        }
        case TA_SIGNER_CMD_HAS_KEYS:
            TS_FUZZ_CHECK(out.size() == 1 && out[0] <= 1);
            break;
        case TA_SIGNER_CMD_DELETE_KEY: {
            // Retired for good: no longer listed, and it cannot sign.
            auto kt = d.array<4>();
            auto scheme = d.u8();
            auto pk = d.bytes();
            TS_FUZZ_CHECK(kt && scheme && pk && *scheme <= 2 && out.empty());
            core::scale::Encoder q;
            q.raw(*kt).u8(*scheme);
            auto listed = ta::invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, q.bytes(), 1 << 16);
            TS_FUZZ_CHECK(listed.rc == TEE_SUCCESS);
            TS_FUZZ_CHECK(pk->empty() || memmem(listed.out.data(), listed.out.size(), pk->data(),
                                                pk->size()) == nullptr);
            core::scale::Encoder sign;
            sign.raw(*kt).u8(*scheme).bytes(*pk).bytes(core::Bytes{1, 2, 3});
            TS_FUZZ_CHECK(
                ta::invoke(TA_SIGNER_CMD_SIGN_CHECKED, sign.bytes(), TA_SIGNER_SIGN_OUTCOME_MAX)
                    .rc == TEE_ERROR_ITEM_NOT_FOUND);
            break;
        }
        default:
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ta::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ta::reset();
    g_signed = Signed{};
    Input in(data, size);
    for (int call = 0; call < 4 && in.remaining() > 0; ++call) {
        uint8_t sel = in.u8();
        uint32_t command = sel == 0xFF ? in.u32() : kCommands[sel % kCommandCount];
        uint8_t shape = in.u8();
        uint32_t types = TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                         TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE);
        if ((shape & 3) == 1)
            types = TEE_PARAM_TYPES(TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                    TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE);
        else if ((shape & 3) == 2)
            types = in.u16();
        Bytes request;
        if ((shape & 4) != 0 && !ta::keys().empty()) {
            const auto& k = ta::keys()[in.u8() % ta::keys().size()];
            request = key_prefix(command, k);
        }
        size_t cap = in.u16();
        auto body = in.take(in.u16());
        request.insert(request.end(), body.begin(), body.end());
        ta::Outcome o = ta::invoke(command, request, cap, types, static_cast<uint32_t>(shape) << 8);
        if (o.rc == TEE_SUCCESS &&
            types == TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                     TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE))
            check_success(command, request, o.out);
    }
    return 0;
}
