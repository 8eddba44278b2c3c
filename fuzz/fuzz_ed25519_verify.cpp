// Ed25519 (libsodium) with Substrate semantics.
//
// Mode 0 (first byte even): arbitrary signature, message and public key: only
// documented errors. Mode 1 (first byte odd): a key from a 32-byte seed signs
// (deterministically) and verifies; hard derivation gives a different working
// key; flipping any single bit of signature, key or message makes it fail.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/ed25519.hpp"

using namespace teesigner::core;
using teesigner::fuzz::Input;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    Input in(data, size);
    uint8_t mode = in.u8();
    if ((mode & 1) == 0) {
        auto sig = in.array<64>();
        auto pk = in.array<32>();
        ByteSpan msg = in.rest();
        Error e = ed25519::verify(SignatureBytes(sig), msg, PublicKeyBytes(pk));
        TS_FUZZ_CHECK(e == Error::ok || e == Error::invalid_signature);
        TS_FUZZ_CHECK(ed25519::verify(SignatureBytes(ByteSpan(sig).first(63)), msg,
                                      PublicKeyBytes(pk)) == Error::invalid_length);
        return 0;
    }
    auto seed = in.array<32>();
    auto chain = in.array<32>();
    uint16_t flip = in.u16();
    ByteSpan msg = in.rest();
    auto kp = ed25519::keypair_from_seed(seed);
    TS_FUZZ_CHECK(kp.ok());
    ed25519::Signature sig = ed25519::sign(*kp, msg);
    TS_FUZZ_CHECK(ed25519::verify(SignatureBytes(sig), msg, PublicKeyBytes(kp->public_key)) ==
                  Error::ok);
    TS_FUZZ_CHECK(ed25519::sign(*kp, msg) == sig);
    auto child_seed = ed25519::derive_hard(seed, chain);
    TS_FUZZ_CHECK(child_seed.ok());
    auto child = ed25519::keypair_from_seed(child_seed->span());
    TS_FUZZ_CHECK(child && child->public_key != kp->public_key);
    TS_FUZZ_CHECK(ed25519::verify(SignatureBytes(ed25519::sign(*child, msg)), msg,
                                  PublicKeyBytes(child->public_key)) == Error::ok);
    size_t total = 512 + 256 + 8 * msg.size();
    size_t bit = flip % total;
    ed25519::Signature bad_sig = sig;
    ed25519::PublicKey bad_pk = kp->public_key;
    Bytes bad_msg(msg.begin(), msg.end());
    if (bit < 512)
        bad_sig[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    else if (bit < 768)
        bad_pk[(bit - 512) / 8] ^= static_cast<uint8_t>(1u << ((bit - 512) % 8));
    else
        bad_msg[(bit - 768) / 8] ^= static_cast<uint8_t>(1u << ((bit - 768) % 8));
    TS_FUZZ_CHECK(ed25519::verify(SignatureBytes(bad_sig), bad_msg, PublicKeyBytes(bad_pk)) !=
                  Error::ok);
    return 0;
}
