// GRANDPA vote payloads (payloads::decode_grandpa_vote): any bytes decode or
// fail with invalid_encoding; a decoded vote is 53 bytes and re-encodes to the
// input; prevotes and precommits become protected signables, primary proposals
// do not; raw bytes given to a "gran" key are classified accordingly.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"

using namespace teesigner::core;
using namespace teesigner::core::payloads;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteSpan in(data, size);
    auto vote = decode_grandpa_vote(in);
    const protection::KeyTypeId gran = protection::kGrandpaKeyType;
    auto cls = protection::classify_message(std::span(&gran, 1), in);
    if (!vote) {
        TS_FUZZ_CHECK(vote.error() == Error::invalid_encoding);
        // Not a vote: opaque, or a proof-of-possession statement (signed unrecorded).
        TS_FUZZ_CHECK(cls.cls == (is_proof_of_possession_statement(in)
                                      ? protection::MessageClass::unprotected
                                      : protection::MessageClass::opaque));
        return 0;
    }
    TS_FUZZ_CHECK(size == kGrandpaPayloadSize);
    TS_FUZZ_CHECK(encode_grandpa_vote(*vote) == Bytes(in.begin(), in.end()));
    auto s = protection::signable_grandpa(*vote);
    if (vote->kind == GrandpaMessageKind::primary_propose) {
        TS_FUZZ_CHECK(!s);
        TS_FUZZ_CHECK(cls.cls == protection::MessageClass::unprotected);
    } else {
        TS_FUZZ_CHECK(s && s->rule == protection::Rule::grandpa);
        TS_FUZZ_CHECK(s->position.major == vote->set_id && s->position.minor == vote->round);
        TS_FUZZ_CHECK(s->subject == vote->target_hash && s->number == vote->target_number);
        TS_FUZZ_CHECK(cls.cls == protection::MessageClass::protected_payload);
        TS_FUZZ_CHECK(cls.signable.payload_hash == s->payload_hash);
    }
    return 0;
}
