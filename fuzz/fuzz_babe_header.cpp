// Headers and BABE pre-digests (payloads::decode_header,
// decode_babe_pre_digest, decode_babe_seal_request) on the same input. What
// decodes re-encodes to the input; a seal request is exactly a header without
// a Seal item carrying one BABE PreRuntime item whose data is a pre-digest,
// and its pre-hash is blake2_256 of the input.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"

using namespace teesigner::core;
using namespace teesigner::core::payloads;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    ByteSpan in(data, size);
    const Bytes input(in.begin(), in.end());

    auto pre = decode_babe_pre_digest(in);
    if (pre) {
        TS_FUZZ_CHECK(encode_babe_pre_digest(*pre) == input);
    } else {
        TS_FUZZ_CHECK(pre.error() == Error::invalid_encoding);
    }

    auto header = decode_header(in);
    auto seal = decode_babe_seal_request(in);
    if (!header) {
        TS_FUZZ_CHECK(header.error() == Error::invalid_encoding);
        TS_FUZZ_CHECK(!seal && seal.error() == Error::invalid_encoding);
        return 0;
    }
    TS_FUZZ_CHECK(encode_header(*header) == input);
    size_t babe_pre_runtime = 0, seals = 0;
    const DigestItem* babe_item = nullptr;
    for (const DigestItem& item : header->digest) {
        if (item.kind == DigestItemKind::seal) ++seals;
        if (item.kind == DigestItemKind::pre_runtime && item.engine == kBabeEngineId) {
            ++babe_pre_runtime;
            babe_item = &item;
        }
    }
    bool expect_seal_request =
        seals == 0 && babe_pre_runtime == 1 && decode_babe_pre_digest(babe_item->data).ok();
    TS_FUZZ_CHECK(seal.ok() == expect_seal_request);
    if (seal) {
        TS_FUZZ_CHECK(seal->header == *header);
        TS_FUZZ_CHECK(seal->pre_digest == *decode_babe_pre_digest(babe_item->data));
        TS_FUZZ_CHECK(seal->pre_hash == blake2b_256(in));
        auto s = protection::signable_babe(*seal);
        TS_FUZZ_CHECK(s.rule == protection::Rule::babe &&
                      s.position.major == seal->pre_digest.slot);
        TS_FUZZ_CHECK(s.payload_hash == seal->pre_hash);
    }
    return 0;
}
