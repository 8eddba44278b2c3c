// ECDSA secp256k1 (recoverable, Substrate flavour) and Substrate hard derivation.
#include <gtest/gtest.h>

#include <string>

#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/random.hpp"

namespace {

using namespace teesigner::core;

Bytes hex(std::string_view h) {
    return from_hex(h).value();
}

// sp-core ecdsa tests (test_vector_should_work, seed_and_derive_should_work):
// secret 0x9d61..7f60, public key (compressed form of the full key given there,
// also @polkadot/util-crypto secp256k1PairFromSeed), signature over "".
constexpr const char* kSecret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kPublic =
    "0x028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91";
constexpr const char* kSigEmpty =
    "0x3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921a"
    "2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00";
// @polkadot/util-crypto secp256k1Sign("abc", pair, 'blake2') and (.., 'keccak').
constexpr const char* kSigAbcBlake2 =
    "0x4acf3f8d1f9ac67ddca3fe879ed5fd4a1e2ff49d6dbeeddf1cd7dbb31d5e315b35c457f5fcb9a8bb1a88aa0"
    "b21d359c0685160ca5caf9ec73982dce86a5948c601";
constexpr const char* kSigAbcKeccak =
    "0xdbf77a174dd38d38d054be65daf56c784516e7e65f2ff37b13b9b8582acd0ecd5aaa6e1c4238a45b3088dc"
    "e642152d6ae49003044c3eafbc6c677d82b130d2e700";
// @noble/curves secp256k1.sign(prehash = 32 x 0x11, secret): compact r||s and recovery 0.
constexpr const char* kSigPrehash11 =
    "0xb370fd5b8a44ee694d16da7324cdd7fb33020cef8753f0ba72af49a310bc3fa122b8ce0e16a517103e8c1e"
    "ec7e1d0507bc364e704f9b6a42fee5df3919777ee300";

// secp256k1 group order n.
constexpr const char* kOrder = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

ecdsa::KeyPair test_pair() {
    return ecdsa::keypair_from_secret(hex(kSecret)).value();
}

TEST(Ecdsa, KeyPairFromSecret) {
    auto pair = ecdsa::keypair_from_secret(hex(kSecret));
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(to_hex(pair->public_key), kPublic);
    EXPECT_EQ(to_hex(pair->secret_key.span(), false), kSecret);
}

TEST(Ecdsa, RejectsInvalidSecrets) {
    EXPECT_EQ(ecdsa::keypair_from_secret(Bytes(31, 1)).error(), Error::invalid_length);
    EXPECT_EQ(ecdsa::keypair_from_secret(Bytes(33, 1)).error(), Error::invalid_length);
    EXPECT_EQ(ecdsa::keypair_from_secret(Bytes(32, 0)).error(), Error::crypto_failure);
    EXPECT_EQ(ecdsa::keypair_from_secret(hex(kOrder)).error(), Error::crypto_failure);
    EXPECT_EQ(ecdsa::keypair_from_secret(Bytes(32, 0xff)).error(), Error::crypto_failure);
    auto below = hex(kOrder);
    below[31] = 0x40;  // n - 1 is the largest valid secret
    EXPECT_TRUE(ecdsa::keypair_from_secret(below).ok());
}

TEST(Ecdsa, DeterministicSignaturesMatchReferences) {
    const auto pair = test_pair();
    auto sig = ecdsa::sign(pair, {});
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(to_hex(*sig), kSigEmpty);
    EXPECT_EQ(ecdsa::verify(SignatureBytes(*sig), {}, PublicKeyBytes(pair.public_key)), Error::ok);

    const std::string abc = "abc";
    EXPECT_EQ(to_hex(ecdsa::sign(pair, as_bytes(abc)).value()), kSigAbcBlake2);
    // Prehashed path: sign(m) == sign_prehashed(blake2_256(m)); keccak as BEEFY uses it.
    EXPECT_EQ(to_hex(ecdsa::sign_prehashed(pair, blake2b_256(as_bytes(abc))).value()),
              kSigAbcBlake2);
    const auto kh = keccak_256(as_bytes(abc));
    auto ksig = ecdsa::sign_prehashed(pair, kh);
    ASSERT_TRUE(ksig.ok());
    EXPECT_EQ(to_hex(*ksig), kSigAbcKeccak);
    EXPECT_EQ(ecdsa::verify_prehashed(SignatureBytes(*ksig), kh, PublicKeyBytes(pair.public_key)),
              Error::ok);
    EXPECT_EQ(ecdsa::verify(SignatureBytes(*ksig), as_bytes(abc), PublicKeyBytes(pair.public_key)),
              Error::invalid_signature);

    const Bytes ph(32, 0x11);
    EXPECT_EQ(to_hex(ecdsa::sign_prehashed(pair, ph).value()), kSigPrehash11);
    EXPECT_EQ(to_hex(ecdsa::recover_prehashed(hex(kSigPrehash11), ph).value()), kPublic);
}

TEST(Ecdsa, WrongLengths) {
    const auto pair = test_pair();
    EXPECT_EQ(ecdsa::sign_prehashed(pair, Bytes(31)).error(), Error::invalid_length);
    EXPECT_EQ(ecdsa::verify(SignatureBytes(Bytes(64)), {}, PublicKeyBytes(pair.public_key)),
              Error::invalid_length);
    EXPECT_EQ(ecdsa::verify(SignatureBytes(hex(kSigEmpty)), {}, PublicKeyBytes(Bytes(32))),
              Error::invalid_length);
    EXPECT_EQ(ecdsa::verify_prehashed(SignatureBytes(hex(kSigEmpty)), Bytes(33),
                                      PublicKeyBytes(pair.public_key)),
              Error::invalid_length);
    EXPECT_EQ(ecdsa::recover_prehashed(hex(kSigEmpty), Bytes(31)).error(), Error::invalid_length);
    EXPECT_EQ(ecdsa::derive_hard(Bytes(32), Bytes(31)).error(), Error::invalid_length);
    EXPECT_EQ(ecdsa::derive_soft(), Error::unsupported);
}

TEST(Ecdsa, RecoveryIdMustBe0To3) {
    const auto pair = test_pair();
    auto sig = hex(kSigEmpty);
    for (uint8_t v : {uint8_t{4}, uint8_t{27}, uint8_t{28}, uint8_t{255}}) {
        sig[64] = v;
        EXPECT_EQ(ecdsa::verify(SignatureBytes(sig), {}, PublicKeyBytes(pair.public_key)),
                  Error::invalid_signature);
    }
}

// s' = n - s with v' = v ^ 1 is the same signature in high-s form: mathematically
// valid (@noble/curves recovers the same key from it with lowS: false), and
// rejected here.
TEST(Ecdsa, RejectsHighS) {
    const auto pair = test_pair();
    auto sig = hex(kSigEmpty);
    const auto n = hex(kOrder);
    int borrow = 0;
    for (int i = 31; i >= 0; --i) {
        int d = n[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        sig[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
    }
    sig[64] ^= 1;
    EXPECT_EQ(ecdsa::verify(SignatureBytes(sig), {}, PublicKeyBytes(pair.public_key)),
              Error::invalid_signature);
    EXPECT_EQ(ecdsa::recover_prehashed(sig, blake2b_256({})).error(), Error::invalid_signature);
}

TEST(Ecdsa, FlippedBitsAreRejected) {
    const auto pair = test_pair();
    const Bytes msg = {'v', 'o', 't', 'e'};
    const auto sig = ecdsa::sign(pair, msg).value();
    ASSERT_EQ(ecdsa::verify(SignatureBytes(sig), msg, PublicKeyBytes(pair.public_key)), Error::ok);
    for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
        auto bad = sig;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_NE(ecdsa::verify(SignatureBytes(bad), msg, PublicKeyBytes(pair.public_key)),
                  Error::ok)
            << "sig bit " << bit;
    }
    for (size_t bit = 0; bit < pair.public_key.size() * 8; ++bit) {
        auto bad = pair.public_key;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_NE(ecdsa::verify(SignatureBytes(sig), msg, PublicKeyBytes(bad)), Error::ok)
            << "key bit " << bit;
    }
    for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
        auto bad = msg;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_EQ(ecdsa::verify(SignatureBytes(sig), bad, PublicKeyBytes(pair.public_key)),
                  Error::invalid_signature);
    }
}

TEST(Ecdsa, GeneratedKeysRoundTrip) {
    for (int i = 0; i < 20; ++i) {
        Bytes secret(32);
        random_bytes(secret.data(), secret.size());
        auto pair = ecdsa::keypair_from_secret(secret);
        ASSERT_TRUE(pair.ok());
        const Bytes msg(static_cast<size_t>(i), static_cast<uint8_t>(i));
        auto sig = ecdsa::sign(*pair, msg);
        ASSERT_TRUE(sig.ok());
        EXPECT_LE(sig->at(64), 3);
        EXPECT_EQ(ecdsa::verify(SignatureBytes(*sig), msg, PublicKeyBytes(pair->public_key)),
                  Error::ok);
    }
}

// sp-core seed_and_derive_should_work (Hard([0u8; 32])); also @polkadot/util-crypto
// secp256k1DeriveHard.
TEST(Ecdsa, HardDerivationMatchesSpCore) {
    auto derived = ecdsa::derive_hard(hex(kSecret), Bytes(32, 0));
    ASSERT_TRUE(derived.ok());
    EXPECT_EQ(to_hex(derived->span()),
              "0xb8eefc4937200a8382d00050e050ced2d4ab72cc2ef1b061477afb51564fdd61");
}

// //Alice: dev phrase mini secret (0xfac7...479e) hard-derived with SCALE("Alice");
// derived secret from @polkadot/util-crypto secp256k1DeriveHard, public key the
// well-known one.
TEST(Ecdsa, DevAlice) {
    Bytes cc(32, 0);
    const std::string name = "Alice";
    cc[0] = static_cast<uint8_t>(name.size() << 2);
    for (size_t i = 0; i < name.size(); ++i) cc[1 + i] = static_cast<uint8_t>(name[i]);
    auto secret = ecdsa::derive_hard(
        hex("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"), cc);
    ASSERT_TRUE(secret.ok());
    EXPECT_EQ(to_hex(secret->span()),
              "0xcb6df9de1efca7a3998a8ead4e02159d5fa99c3e0d4fd6432667390bb4726854");
    auto pair = ecdsa::keypair_from_secret(secret->span());
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(to_hex(pair->public_key),
              "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1");
}

}  // namespace
