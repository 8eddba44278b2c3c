// sr25519 (schnorrkel) verification.
//
// Mode 0 (first byte even): arbitrary public key, signature and message. The
// verdict must match an independent evaluation of the verification equation
// written here on another path through libsodium: R == s*B + (-k)*A with the
// negated challenge added (our verify computes s*B - k*A with a subtraction),
// after the same encoding checks (canonical point A, marker bit, canonical s).
// With TS_FUZZ_DIFF_OUT set, every verdict is also written out for the offline
// differential check against @scure/sr25519 and @polkadot/util-crypto
// (fuzz/differential/sr25519.mjs).
//
// Mode 1 (first byte odd): a key from a 32-byte mini secret signs the message;
// the signature must verify, and flipping any single bit of the signature, the
// message or the public key (chosen by the input) must make it fail.
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/sr25519.hpp"

using namespace teesigner::core;
using teesigner::fuzz::Input;

namespace {

constexpr std::string_view kContext = "substrate";

// s < l (little-endian), by comparison with the group order.
bool canonical_scalar(const uint8_t* s) {
    static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
    for (int i = 31; i >= 0; --i) {
        if (s[i] < l[i]) return true;
        if (s[i] > l[i]) return false;
    }
    return false;
}

// The verification equation, evaluated independently of sr25519.cpp.
bool reference_verify(ByteSpan pk, ByteSpan msg, ByteSpan sig) {
    if (crypto_core_ristretto255_is_valid_point(pk.data()) != 1) return false;
    if ((sig[63] & 0x80) == 0) return false;
    uint8_t s[32];
    std::memcpy(s, sig.data() + 32, 32);
    s[31] &= 0x7f;
    if (!canonical_scalar(s)) return false;
    Transcript t("SigningContext");
    t.append_message("", as_bytes(kContext));
    t.append_message("sign-bytes", msg);
    t.append_message("proto-name", as_bytes("Schnorr-sig"));
    t.append_message("sign:pk", pk);
    t.append_message("sign:R", sig.first(32));
    uint8_t wide[64], k[32], neg_k[32];
    t.challenge_bytes("sign:c", wide);
    crypto_core_ristretto255_scalar_reduce(k, wide);
    crypto_core_ristretto255_scalar_negate(neg_k, k);
    // crypto_scalarmult_* return -1 exactly when the product is the identity
    // (encoded as 32 zero bytes).
    uint8_t sb[32] = {}, nka[32] = {}, r[32];
    if (crypto_scalarmult_ristretto255_base(sb, s) != 0) std::memset(sb, 0, 32);
    if (crypto_scalarmult_ristretto255(nka, neg_k, pk.data()) != 0) std::memset(nka, 0, 32);
    if (crypto_core_ristretto255_add(r, sb, nka) != 0) return false;
    return std::memcmp(r, sig.data(), 32) == 0;
}

// With TS_FUZZ_DIFF_OUT=FILE, every verification is appended to FILE as
// "pk sig msg verdict" (hex, verdict 1/0) for fuzz/differential/sr25519.mjs.
void record(ByteSpan pk, ByteSpan sig, ByteSpan msg, bool ok) {
    static FILE* out = [] {
        const char* path = std::getenv("TS_FUZZ_DIFF_OUT");
        return path != nullptr ? std::fopen(path, "a") : nullptr;
    }();
    if (out == nullptr) return;
    std::fprintf(out, "%s %s %s %d\n", to_hex(pk, false).c_str(), to_hex(sig, false).c_str(),
                 to_hex(msg, false).c_str(), ok ? 1 : 0);
    std::fflush(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    teesigner::fuzz::reset_random();
    Input in(data, size);
    uint8_t mode = in.u8();
    if ((mode & 1) == 0) {
        auto pk = in.array<32>();
        auto sig = in.array<64>();
        ByteSpan msg = in.rest();
        Error e = sr25519::verify_simple(SignatureBytes(sig), as_bytes(kContext), msg,
                                         PublicKeyBytes(pk));
        TS_FUZZ_CHECK(e == Error::ok || e == Error::invalid_signature ||
                      e == Error::invalid_encoding);
        TS_FUZZ_CHECK((e == Error::invalid_encoding) == !sr25519::is_valid_public_key(pk));
        TS_FUZZ_CHECK((e == Error::ok) == reference_verify(pk, msg, sig));
        record(pk, sig, msg, e == Error::ok);
        // Wrong sizes are refused before anything else.
        TS_FUZZ_CHECK(sr25519::verify_simple(SignatureBytes(sig), as_bytes(kContext), msg,
                                             PublicKeyBytes(ByteSpan(pk).first(31))) ==
                      Error::invalid_length);
        TS_FUZZ_CHECK(sr25519::verify_simple(SignatureBytes(ByteSpan(sig).first(63)),
                                             as_bytes(kContext), msg,
                                             PublicKeyBytes(pk)) == Error::invalid_length);
        return 0;
    }
    auto mini = in.array<32>();
    uint16_t flip = in.u16();
    ByteSpan msg = in.rest();
    auto kp = sr25519::keypair_from_mini_secret(mini);
    TS_FUZZ_CHECK(kp.ok());
    sr25519::Signature sig = sr25519::sign_simple(*kp, as_bytes(kContext), msg);
    TS_FUZZ_CHECK(sr25519::verify_simple(SignatureBytes(sig), as_bytes(kContext), msg,
                                         PublicKeyBytes(kp->public_key)) == Error::ok);
    TS_FUZZ_CHECK(reference_verify(kp->public_key, msg, sig));
    record(kp->public_key, sig, msg, true);
    // One flipped bit: in the signature (512 bits), the public key (256) or the message.
    size_t total = 512 + 256 + 8 * msg.size();
    size_t bit = flip % total;
    sr25519::Signature bad_sig = sig;
    sr25519::PublicKey bad_pk = kp->public_key;
    Bytes bad_msg(msg.begin(), msg.end());
    if (bit < 512)
        bad_sig[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    else if (bit < 768)
        bad_pk[(bit - 512) / 8] ^= static_cast<uint8_t>(1u << ((bit - 512) % 8));
    else
        bad_msg[(bit - 768) / 8] ^= static_cast<uint8_t>(1u << ((bit - 768) % 8));
    Error e = sr25519::verify_simple(SignatureBytes(bad_sig), as_bytes(kContext), bad_msg,
                                     PublicKeyBytes(bad_pk));
    TS_FUZZ_CHECK(e != Error::ok);
    TS_FUZZ_CHECK(!reference_verify(bad_pk, bad_msg, bad_sig));
    record(bad_pk, bad_sig, bad_msg, false);
    return 0;
}
