// ECDSA (secp256k1, recoverable, sp-core semantics).
//
// Mode 0 (first byte even): arbitrary signature, prehash/message and public
// key through verify, verify_prehashed and recover_prehashed: only documented
// errors, and verify_prehashed accepts exactly when recovery yields the key.
// Mode 1 (first byte odd): a key from 32 input bytes (when valid) signs the
// message and a prehash; both verify, recovery returns the key, and flipping
// any single bit of the signature or the prehash makes verification fail.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/hash.hpp"

using namespace teesigner::core;
using teesigner::fuzz::Input;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    teesigner::fuzz::reset_random();
    Input in(data, size);
    uint8_t mode = in.u8();
    if ((mode & 1) == 0) {
        auto sig = in.array<65>();
        auto pk = in.array<33>();
        auto prehash = in.array<32>();
        ByteSpan msg = in.rest();
        Error e = ecdsa::verify_prehashed(SignatureBytes(sig), prehash, PublicKeyBytes(pk));
        TS_FUZZ_CHECK(e == Error::ok || e == Error::invalid_signature);
        auto rec = ecdsa::recover_prehashed(sig, prehash);
        if (!rec) TS_FUZZ_CHECK(rec.error() == Error::invalid_signature);
        TS_FUZZ_CHECK((e == Error::ok) == (rec.ok() && *rec == pk));
        Error m = ecdsa::verify(SignatureBytes(sig), msg, PublicKeyBytes(pk));
        TS_FUZZ_CHECK(m == Error::ok || m == Error::invalid_signature);
        TS_FUZZ_CHECK((m == Error::ok) ==
                      (ecdsa::verify_prehashed(SignatureBytes(sig), blake2b_256(msg),
                                               PublicKeyBytes(pk)) == Error::ok));
        TS_FUZZ_CHECK(ecdsa::verify(SignatureBytes(ByteSpan(sig).first(64)), msg,
                                    PublicKeyBytes(pk)) == Error::invalid_length);
        TS_FUZZ_CHECK(ecdsa::verify_prehashed(SignatureBytes(sig), ByteSpan(prehash).first(31),
                                              PublicKeyBytes(pk)) == Error::invalid_length);
        return 0;
    }
    auto secret = in.array<32>();
    auto prehash = in.array<32>();
    uint16_t flip = in.u16();
    ByteSpan msg = in.rest();
    auto kp = ecdsa::keypair_from_secret(secret);
    if (!kp) {
        TS_FUZZ_CHECK(kp.error() == Error::crypto_failure);
        return 0;
    }
    auto sig = ecdsa::sign(*kp, msg);
    auto psig = ecdsa::sign_prehashed(*kp, prehash);
    TS_FUZZ_CHECK(sig && psig);
    TS_FUZZ_CHECK(ecdsa::verify(SignatureBytes(*sig), msg, PublicKeyBytes(kp->public_key)) ==
                  Error::ok);
    TS_FUZZ_CHECK(ecdsa::verify_prehashed(SignatureBytes(*psig), prehash,
                                          PublicKeyBytes(kp->public_key)) == Error::ok);
    auto rec = ecdsa::recover_prehashed(*psig, prehash);
    TS_FUZZ_CHECK(rec && *rec == kp->public_key);
    // Deterministic (RFC 6979): signing again gives the same bytes.
    auto psig2 = ecdsa::sign_prehashed(*kp, prehash);
    TS_FUZZ_CHECK(psig2 && *psig2 == *psig);
    size_t bit = flip % (65 * 8 + 256);
    ecdsa::Signature bad_sig = *psig;
    auto bad_hash = prehash;
    if (bit < 65 * 8)
        bad_sig[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    else
        bad_hash[(bit - 520) / 8] ^= static_cast<uint8_t>(1u << ((bit - 520) % 8));
    TS_FUZZ_CHECK(ecdsa::verify_prehashed(SignatureBytes(bad_sig), bad_hash,
                                          PublicKeyBytes(kp->public_key)) != Error::ok);
    return 0;
}
