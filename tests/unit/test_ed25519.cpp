// Ed25519 via libsodium and Substrate's hard derivation.
#include <gtest/gtest.h>

#include <string>

#include "teesigner/core/ed25519.hpp"

namespace {

using namespace teesigner::core;

Bytes hex(std::string_view h) {
    return from_hex(h).value();
}
std::string hex_of(ByteSpan b) {
    return to_hex(b);
}

// RFC 8032 section 7.1, TEST 1 and TEST 2 (also sp-core's ed25519 test_vector_should_work).
constexpr const char* kRfcSeed1 =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kRfcPub1 =
    "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kRfcSig1 =
    "0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e397"
    "01cf9b46bd25bf5f0595bbe24655141438e7a100b";
constexpr const char* kRfcSeed2 =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr const char* kRfcPub2 =
    "0x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
constexpr const char* kRfcSig2 =
    "0x92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f361"
    "3d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

TEST(Ed25519, Rfc8032Vectors) {
    auto p1 = ed25519::keypair_from_seed(hex(kRfcSeed1));
    ASSERT_TRUE(p1.ok());
    EXPECT_EQ(hex_of(p1->public_key), kRfcPub1);
    EXPECT_EQ(to_hex(p1->seed(), false), kRfcSeed1);
    EXPECT_EQ(hex_of(ed25519::sign(*p1, {})), kRfcSig1);
    EXPECT_EQ(ed25519::verify(SignatureBytes(hex(kRfcSig1)), {}, PublicKeyBytes(p1->public_key)),
              Error::ok);

    auto p2 = ed25519::keypair_from_seed(hex(kRfcSeed2));
    ASSERT_TRUE(p2.ok());
    EXPECT_EQ(hex_of(p2->public_key), kRfcPub2);
    const Bytes msg = {0x72};
    EXPECT_EQ(hex_of(ed25519::sign(*p2, msg)), kRfcSig2);
    EXPECT_EQ(ed25519::verify(SignatureBytes(hex(kRfcSig2)), msg, PublicKeyBytes(hex(kRfcPub2))),
              Error::ok);
}

TEST(Ed25519, RejectsWrongLengths) {
    EXPECT_EQ(ed25519::keypair_from_seed(Bytes(31)).error(), Error::invalid_length);
    EXPECT_EQ(ed25519::keypair_from_seed(Bytes(33)).error(), Error::invalid_length);
    EXPECT_EQ(ed25519::verify(SignatureBytes(Bytes(63)), {}, PublicKeyBytes(hex(kRfcPub1))),
              Error::invalid_length);
    EXPECT_EQ(ed25519::verify(SignatureBytes(hex(kRfcSig1)), {}, PublicKeyBytes(Bytes(31))),
              Error::invalid_length);
    EXPECT_EQ(ed25519::derive_hard(Bytes(31), Bytes(32)).error(), Error::invalid_length);
    EXPECT_EQ(ed25519::derive_hard(Bytes(32), Bytes(33)).error(), Error::invalid_length);
    EXPECT_EQ(ed25519::derive_soft(), Error::unsupported);
}

TEST(Ed25519, FlippedBitsAreRejected) {
    auto pair = ed25519::keypair_from_seed(hex(kRfcSeed2)).value();
    const Bytes msg = {'h', 'e', 'l', 'l', 'o'};
    const auto sig = ed25519::sign(pair, msg);
    ASSERT_EQ(ed25519::verify(SignatureBytes(sig), msg, PublicKeyBytes(pair.public_key)),
              Error::ok);
    for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
        auto bad = sig;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_NE(ed25519::verify(SignatureBytes(bad), msg, PublicKeyBytes(pair.public_key)),
                  Error::ok)
            << "sig bit " << bit;
    }
    for (size_t bit = 0; bit < pair.public_key.size() * 8; ++bit) {
        auto bad = pair.public_key;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_NE(ed25519::verify(SignatureBytes(sig), msg, PublicKeyBytes(bad)), Error::ok)
            << "key bit " << bit;
    }
    for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
        auto bad = msg;
        bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_EQ(ed25519::verify(SignatureBytes(sig), bad, PublicKeyBytes(pair.public_key)),
                  Error::invalid_signature);
    }
}

// sp-core ed25519 seed_and_derive_should_work (Hard([0u8; 32])); the same value
// comes from @polkadot/util-crypto ed25519DeriveHard.
TEST(Ed25519, HardDerivationMatchesSpCore) {
    auto derived = ed25519::derive_hard(hex(kRfcSeed1), Bytes(32, 0));
    ASSERT_TRUE(derived.ok());
    EXPECT_EQ(to_hex(derived->span()),
              "0xede3354e133f9c8e337ddd6ee5415ed4b4ffe5fc7d21e933f4930a3730e5b21c");
}

// //Alice: the dev phrase's mini secret (0xfac7...479e, subkey inspect of the dev
// phrase; also @polkadot/util-crypto mnemonicToMiniSecret) hard-derived with the
// chain code SCALE("Alice") padded to 32 bytes. Expected seed from
// @polkadot/util-crypto ed25519DeriveHard; public key is the well-known one.
TEST(Ed25519, DevAlice) {
    Bytes cc(32, 0);
    const std::string name = "Alice";
    cc[0] = static_cast<uint8_t>(name.size() << 2);
    for (size_t i = 0; i < name.size(); ++i) cc[1 + i] = static_cast<uint8_t>(name[i]);
    auto seed = ed25519::derive_hard(
        hex("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"), cc);
    ASSERT_TRUE(seed.ok());
    EXPECT_EQ(to_hex(seed->span()),
              "0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115");
    auto pair = ed25519::keypair_from_seed(seed->span());
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(hex_of(pair->public_key),
              "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee");
}

}  // namespace
