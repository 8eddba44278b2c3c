// BEEFY commitments (payloads::decode_beefy_commitment): what decodes
// re-encodes to the input, and its signable is keyed by (validator set id,
// block number) with the keccak-256 prehash of the input.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"

using namespace teesigner::core;
using namespace teesigner::core::payloads;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteSpan in(data, size);
    auto c = decode_beefy_commitment(in);
    if (!c) {
        TS_FUZZ_CHECK(c.error() == Error::invalid_encoding);
        return 0;
    }
    TS_FUZZ_CHECK(encode_beefy_commitment(*c) == Bytes(in.begin(), in.end()));
    Hash256 prehash = beefy_prehash(in);
    TS_FUZZ_CHECK(prehash == keccak_256(in));
    auto s = protection::signable_beefy(*c, prehash);
    TS_FUZZ_CHECK(s.rule == protection::Rule::beefy);
    TS_FUZZ_CHECK(s.position.major == c->validator_set_id && s.position.minor == c->block_number);
    TS_FUZZ_CHECK(s.payload_hash == prehash);
    return 0;
}
