// The signer TA's command decoder, in-process (see ta_harness.hpp): up to four
// TA_InvokeCommandEntryPoint calls per input, with fuzzed command ids, parameter
// types, output capacities and SCALE requests, optionally aimed at a stored key.
// Beyond "no crash, no TEE_Panic" (and the GP output contract and the
// no-secret-in-output check in invoke()), every successful signature must
// verify under the requested public key, and a generated key must be listed.
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
#include <optional>

#include "common.hpp"
#include "signer_ta.h"
#include "ta_harness.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"

using namespace teesigner;
using namespace teesigner::fuzz;
using core::Bytes;
using core::ByteSpan;
using core::scale::Decoder;

namespace {

constexpr uint32_t kCommands[] = {
    TA_SIGNER_CMD_GENERATE_KEY,
    TA_SIGNER_CMD_GENERATE_SESSION_KEYS,
    TA_SIGNER_CMD_LIST_PUBLIC_KEYS,
    TA_SIGNER_CMD_HAS_KEYS,
    TA_SIGNER_CMD_SIGN,
    TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED,
    TA_SIGNER_CMD_VRF_SIGN,
    TA_SIGNER_CMD_ATTEST,
    TA_SIGNER_CMD_IMPORT_SURI,
    TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL,
    TA_SIGNER_CMD_TEST_SPIN,
    TA_SIGNER_CMD_TEST_OPEN_RELATIVE,
    0,
    0xFFFFFFFFu,
};
constexpr size_t kCommandCount = sizeof kCommands / sizeof kCommands[0];

// The request prefix naming stored key `k` the way `command` expects it.
Bytes key_prefix(uint32_t command, const ta::StoredKey& k) {
    core::scale::Encoder e;
    e.raw(k.key_type);
    switch (command) {
        case TA_SIGNER_CMD_SIGN:
            e.u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key);
            break;
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED:
        case TA_SIGNER_CMD_VRF_SIGN:
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

std::optional<core::Transcript> decode_transcript(Decoder& d) {
    auto label = d.bytes_view();
    if (!label) return std::nullopt;
    core::Transcript t(*label);
    auto n = d.length_prefix(2);
    if (!n) return std::nullopt;
    for (size_t i = 0; i < *n; ++i) {
        auto item_label = d.bytes_view();
        auto item = d.bytes_view();
        if (!item_label || !item) return std::nullopt;
        t.append_message(*item_label, *item);
    }
    return t;
}

// Independent checks of a successful answer (the request decoded here again).
void check_success(uint32_t command, ByteSpan request, const Bytes& out) {
    Decoder d(request);
    switch (command) {
        case TA_SIGNER_CMD_SIGN: {
            auto kt = d.array<4>();
            auto scheme = d.u8();
            auto pk = d.bytes();
            auto msg = d.bytes();
            TS_FUZZ_CHECK(kt && scheme && pk && msg && *scheme <= 2);
            auto s = static_cast<core::Scheme>(*scheme);
            TS_FUZZ_CHECK(out.size() == core::signature_size(s));
            TS_FUZZ_CHECK(core::verify(s, out, *msg, *pk) == core::Error::ok);
            break;
        }
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED: {
            auto kt = d.array<4>();
            auto pk = d.array<33>();
            auto prehash = d.array<32>();
            TS_FUZZ_CHECK(kt && pk && prehash && out.size() == 65);
            TS_FUZZ_CHECK(core::ecdsa::verify_prehashed(out, *prehash, *pk) == core::Error::ok);
            break;
        }
        case TA_SIGNER_CMD_VRF_SIGN: {
            auto kt = d.array<4>();
            auto pk = d.array<32>();
            TS_FUZZ_CHECK(kt && pk);
            auto input = decode_transcript(d);
            auto has_extra = d.option_tag();
            TS_FUZZ_CHECK(input && has_extra);
            std::optional<core::Transcript> extra;
            if (*has_extra) extra = decode_transcript(d);
            TS_FUZZ_CHECK(out.size() == 96);
            ByteSpan pre(out.data(), 32), proof(out.data() + 32, 64);
            auto ok = extra ? core::sr25519::vrf_verify(*pk, *input, pre, proof, *extra)
                            : core::sr25519::vrf_verify(*pk, *input, pre, proof);
            TS_FUZZ_CHECK(ok.ok());
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
