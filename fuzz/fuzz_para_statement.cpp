// Parachain signing payloads (payloads::decode_para_statement): backing
// statements, approval votes (single and Vec form) and dispute statements.
// What decodes carries a para magic and re-encodes to the input; bytes with a
// magic that do not decode are "malformed" for a "para" key (refused), other
// bytes are opaque; a decoded statement takes the side its kind says.
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
    auto st = decode_para_statement(in);
    const protection::KeyTypeId para = protection::kParaKeyType;
    auto cls = protection::classify_message(std::span(&para, 1), in);
    if (!st) {
        TS_FUZZ_CHECK(st.error() == Error::invalid_encoding);
        TS_FUZZ_CHECK(cls.cls == (has_para_magic(in) ? protection::MessageClass::malformed
                                  : is_proof_of_possession_statement(in)
                                      ? protection::MessageClass::unprotected
                                      : protection::MessageClass::opaque));
        return 0;
    }
    TS_FUZZ_CHECK(has_para_magic(in));
    TS_FUZZ_CHECK(!st->candidates.empty());
    if (st->kind != ParaStatementKind::approval_multiple) TS_FUZZ_CHECK(st->candidates.size() == 1);
    auto enc = encode_para_statement(*st);
    TS_FUZZ_CHECK(enc && *enc == Bytes(in.begin(), in.end()));
    TS_FUZZ_CHECK(st->valid_side() == (st->kind != ParaStatementKind::dispute_invalid));
    TS_FUZZ_CHECK(cls.cls == protection::MessageClass::protected_payload);
    auto s = protection::signable_para(*st, in);
    TS_FUZZ_CHECK(s.rule == protection::Rule::para && s.position.major == st->session);
    TS_FUZZ_CHECK(s.candidates == st->candidates && s.valid_side == st->valid_side());
    TS_FUZZ_CHECK(s.payload_hash == blake2b_256(in));
    TS_FUZZ_CHECK(cls.signable.payload_hash == s.payload_hash);
    return 0;
}
