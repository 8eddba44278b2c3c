// Scheme-generic key pairs: sp-core Pair::from_string_with_seed semantics.
//
// Expected public keys come from @polkadot/keyring 13.x
// (new Keyring({ type }).addFromUri(uri).publicKey), run under Node, except
// where a comment names another source. polkadot-js and sp-core agree on every
// URI used here; they differ on junctions that look like hex ("//0x01") or
// numbers above 2^64-1, which are therefore not used as vectors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/sr25519.hpp"

namespace {

using namespace teesigner::core;

Bytes hex(std::string_view h) {
    return from_hex(h).value();
}

std::string public_hex(Scheme scheme, std::string_view uri,
                       std::optional<std::string_view> password = {}) {
    auto kp = KeyPair::from_suri(scheme, uri, password);
    if (!kp) return std::string("error: ") + error_message(kp.error());
    return to_hex(kp->public_key());
}

constexpr const char* kLegal =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
constexpr const char* kLetter =
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount "
    "doctor acoustic avoid letter always";
constexpr const char* kHexSeed =
    "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kDev =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

struct Vector {
    std::string uri;
    const char* sr25519;
    const char* ed25519;  // nullptr: soft junction, Error::unsupported
    const char* ecdsa;
};

std::vector<Vector> vectors() {
    const std::string legal = kLegal;
    const std::string dev = kDev;
    return {
        // Well-known dev keys (also the "must show" values).
        {"//Alice", "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
         "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee",
         "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"},
        {"//Bob", "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48",
         "0xd17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69",
         "0x0390084fdbf27d2b79d26a4f13f0ccd982cb755a661969143c37cbc49ef5b91f27"},
        {dev + "//Alice///", "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
         "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee",
         "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"},
        {"//Alice///password", "0x32fc18294f88e02ec071e59bb3996aa21f4519d92593dc6e01fda2921d459b23",
         "0x2818a78aba524c30f6054d7bf23dd78bc2d20c4111d00f6ba56a060e97e0d8d4",
         "0x02fa78ba5b4ae2b0086a1c10363978990df68915635890c88d94e136dfb36241f9"},
        {dev + "///pw", "0xf059637e84952f13fb7cdc6a646b09692f9bc23cc17eea2055b62ecc478f0e13",
         "0x232e40fb55f2f77a66ae62c0522c37bbee84dbae0d7a172e47c1cfcad00535cc",
         "0x0200f56dcd95b679b8ff9730e15e9db13572c22450166602c2412c7878443dfa8a"},
        {"//Alice//stash", "0xbe5ddb1579b72e84524fc29e78609e3caf42e85aa118ebfe0b0ad404b5bdd25f",
         "0x451781cd0c5504504f69ceec484cc66e4c22a2b6a9d20fb1a426d91ad074a2a8",
         "0x03c6a1c2194fa966d30bc4b9c4d5140e9a899d456372dae0e4ef230fd7d2197e72"},
        // Numeric junctions: SCALE u64, leading zeros allowed, up to 2^64-1.
        {"//1//2", "0x2cb4434bc524b744cdea061e76461417abf04bec25c353d61cc0e99775d8de38",
         "0x98e0e7286b6be2ea1540ff0f047335d7b9b301eb4897baff67ca7a500518729d",
         "0x03db592924b617bd19d101506b8513eca5aa2bf514f2fc46e77b21675f6e02c9ae"},
        {dev + "//00042", "0x1ea41e5d60a4323af17c14c2de63ddbb7f05bc00c980d25699e6f25a890b5b67",
         "0x8743ca72162320542b15ef0e66995fac97cd295626627046c41f64f796bcf2f3",
         "0x0230aa87793e60e2b0a50be4452e7e656265e5641396c520897854900b993a9961"},
        {dev + "//18446744073709551615",
         "0xa4ca284d5222ef916e2e181430785972ed22cb51ef91a0c6cdbbd390ee74bc77",
         "0x0a105b65e82a42f67f679bd8e0f8c7576a2cbc4edeb4c3261b14ec01de38cfcb",
         "0x02848433e886dfdcc7947e22f17efd99e450d262d2cec5e8de2125b6ee7d5b069e"},
        // A junction name longer than 32 bytes is blake2-hashed.
        {"//polkadot//a_very_long_junction_name_longer_than_32_bytes",
         "0x62395732fdd8869fd953d3217c38c8c4d2edbf58d3b3895e0805db6c36c52c45",
         "0xc414d1d0c2d4afe649d92e83228b0aee482ed7b81f4b52a7dd1a66168c6673e6",
         "0x03e365ea89a60c754faf3ac83905908dd8acffd1b400c18b6cdd8497ce736c4ded"},
        // Soft junctions: sr25519 only.
        {"//Alice/0", "0x9057db4878163172ea51d570612043a98971737bf608b544991130ac110b0801", nullptr,
         nullptr},
        // "/soft/1" (sp-core: dev phrase + soft path; polkadot-js needs the phrase spelled out).
        {"/soft/1", "0x62be68c97a58763bd497aea52f4ed836ba971e5b2aae400c531d5f68e37acd52", nullptr,
         nullptr},
        // Phrases, with paths and passwords (spaces in the password are kept).
        {legal, "0x625e25364c7b68e0a83065ccb40afed43f8fe933e669b24f3d69a57eddb3b715",
         "0x7b4344ead732d6beeeded95d39e330ef0c16ae806046b296737dababb8a0b80d",
         "0x029880b9309f4eb50e731d563c26a5b8faf3e787d48b33648c544b512267b18069"},
        {legal + "//polkadot//0///secret pw",
         "0x7c181d44cd2549c25f901cf0097fc06f79de6a5d813a6355986953af32b46431",
         "0xc1d7cd9bed546ad4315d22443e187dc4688d4b9ed9b170a4b22b46cb8f0bae99",
         "0x0333a7f545de55db3a436e6d03b54cb8eb44953624461bc6242a042314dff5ae7b"},
        {legal + "/soft//hard///pw",
         "0x2817604ab2b5543c5ca1791f01e57d32a16429fb0ff5eb9b31b8659e4bfc3a19", nullptr, nullptr},
        {kLetter, "0xc4c41114821bb21d40e8f9ad7f80164dc5e115c277591a8446323ec9f0e1655b",
         "0xb47321877b8bbf34955c5f28c3b28a66ff4fbdc4671f1b5b445e6be5ad118f31",
         "0x024a0ab6f2ba5bfc8e1f973770fcefc098d1d4c9032e9240c2d7988fb21a3b77a7"},
        // Hex seeds are used directly; a password is ignored (sp-core and polkadot-js).
        {kHexSeed, "0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f",
         "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "0x028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91"},
        {std::string(kHexSeed) + "///ignored",
         "0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f",
         "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "0x028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91"},
        {std::string(kHexSeed) + "//hard//007",
         "0xfe5c49358ddf768b12c9f4f9d560bbebd79b067b295fc3c99fce798c4708f25a",
         "0x2fc708ede72445e713ea03cbf5f8f0e7f2d094a9842a91ce2e1f3313c38cec6d",
         "0x0295e2bed6deb726ee08bd5cc3fc6c8604bd7f755e087dbdd2829bb69b9636d7dd"},
        {std::string(kHexSeed) + "/soft",
         "0xeed378e4a2bba61d9cce957a5cdaab8043ea86731ce9efd5e0360edb3ce0b615", nullptr, nullptr},
    };
}

TEST(Keys, PublicKeysMatchPolkadotKeyring) {
    for (const auto& v : vectors()) {
        SCOPED_TRACE(v.uri);
        EXPECT_EQ(public_hex(Scheme::sr25519, v.uri), v.sr25519);
        if (v.ed25519) {
            EXPECT_EQ(public_hex(Scheme::ed25519, v.uri), v.ed25519);
        } else {
            EXPECT_EQ(KeyPair::from_suri(Scheme::ed25519, v.uri).error(), Error::unsupported);
        }
        if (v.ecdsa) {
            EXPECT_EQ(public_hex(Scheme::ecdsa, v.uri), v.ecdsa);
        } else {
            EXPECT_EQ(KeyPair::from_suri(Scheme::ecdsa, v.uri).error(), Error::unsupported);
        }
    }
}

TEST(Keys, PasswordOverrideWinsOverUriPassword) {
    const char* alice_pw = "0x32fc18294f88e02ec071e59bb3996aa21f4519d92593dc6e01fda2921d459b23";
    EXPECT_EQ(public_hex(Scheme::sr25519, "//Alice", "password"), alice_pw);
    EXPECT_EQ(public_hex(Scheme::sr25519, "//Alice///other", "password"), alice_pw);
    // An empty override is "no password" (substrate-bip39 salt "mnemonic").
    EXPECT_EQ(public_hex(Scheme::sr25519, "//Alice///password", ""),
              "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    // Ignored for hex seeds.
    EXPECT_EQ(public_hex(Scheme::ed25519, kHexSeed, "password"),
              "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

// Seeds as subkey prints them ("Secret seed"): sr25519 //Alice from sp-core's
// SecretUri docs / subkey; the dev phrase mini secret from subkey inspect of the
// dev phrase; ed25519/ecdsa //Alice from @polkadot/util-crypto
// ed25519DeriveHard / secp256k1DeriveHard.
TEST(Keys, SeedsAreTrackedLikeSpCore) {
    auto seed_hex = [](Scheme s, std::string_view uri) -> std::string {
        auto kp = KeyPair::from_suri(s, uri);
        if (!kp) return "error";
        if (!kp->seed()) return "n/a";
        return to_hex(kp->seed()->span());
    };
    EXPECT_EQ(seed_hex(Scheme::sr25519, "//Alice"),
              "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a");
    EXPECT_EQ(seed_hex(Scheme::ed25519, "//Alice"),
              "0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115");
    EXPECT_EQ(seed_hex(Scheme::ecdsa, "//Alice"),
              "0xcb6df9de1efca7a3998a8ead4e02159d5fa99c3e0d4fd6432667390bb4726854");
    for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
        EXPECT_EQ(seed_hex(s, kDev),
                  "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e");
        EXPECT_EQ(seed_hex(s, kHexSeed), kHexSeed);
    }
    // sr25519 loses the seed at the first soft junction, even if hard ones follow.
    EXPECT_EQ(seed_hex(Scheme::sr25519, "//Alice/0"), "n/a");
    EXPECT_EQ(seed_hex(Scheme::sr25519, "/0//Alice"), "n/a");
}

TEST(Keys, BadUrisAreErrorsNotCrashes) {
    for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
        // Unknown word, wrong word count, bad checksum (last word changed).
        EXPECT_EQ(KeyPair::from_suri(s, "hello world").error(), Error::invalid_mnemonic);
        EXPECT_EQ(KeyPair::from_suri(s, "legal winner thank").error(), Error::invalid_mnemonic);
        EXPECT_EQ(KeyPair::from_suri(s,
                                     "legal winner thank year wave sausage worth useful legal "
                                     "winner thank thank")
                      .error(),
                  Error::invalid_checksum);
        // Hex seeds of the wrong length or with bad digits.
        EXPECT_EQ(KeyPair::from_suri(s, "0x1234").error(), Error::invalid_length);
        EXPECT_EQ(KeyPair::from_suri(
                      s, "0xzz61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                      .error(),
                  Error::invalid_encoding);
        // Syntax.
        EXPECT_EQ(KeyPair::from_suri(s, "//").error(), Error::invalid_uri);
        EXPECT_EQ(KeyPair::from_suri(s, "//Alice//").error(), Error::invalid_uri);
        EXPECT_EQ(KeyPair::from_suri(s, "bottom-drive").error(), Error::invalid_uri);
        // sp-core: an empty URI has no phrase, so it is the dev phrase itself.
        EXPECT_EQ(public_hex(s, ""), public_hex(s, kDev));
    }
    // An all-zero hex seed is no valid secp256k1 key.
    EXPECT_EQ(KeyPair::from_suri(Scheme::ecdsa, "0x" + std::string(64, '0')).error(),
              Error::crypto_failure);
    EXPECT_EQ(KeyPair::from_seed(Scheme::sr25519, Bytes(31)).error(), Error::invalid_length);
}

// Known signatures: subkey's verify.rs test vector (Alice, sr25519, "test message",
// also accepted by @polkadot/util-crypto signatureVerify); RFC 8032 TEST 1 for
// ed25519; sp-core's ecdsa test_vector_should_work.
TEST(Keys, VerifiesReferenceSignatures) {
    const auto alice = hex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    const std::string msg = "test message";
    const auto sig1 = hex(
        "4eb25a2285a82374888880af0024eb30c3a21ce086eae3862888d345af607f0ad6fb081312f11730932564f24"
        "a9f8ebcee2d46861413ae61307eca58db2c3e81");
    EXPECT_EQ(verify(Scheme::sr25519, SignatureBytes(sig1), as_bytes(msg), PublicKeyBytes(alice)),
              Error::ok);
    EXPECT_EQ(verify(Scheme::sr25519, SignatureBytes(sig1), as_bytes(std::string("test messagf")),
                     PublicKeyBytes(alice)),
              Error::invalid_signature);

    auto ed = KeyPair::from_suri(Scheme::ed25519, kHexSeed);
    ASSERT_TRUE(ed.ok());
    EXPECT_EQ(to_hex(ed->sign({}).value()),
              "0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
              "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");

    auto ec = KeyPair::from_suri(Scheme::ecdsa, kHexSeed);
    ASSERT_TRUE(ec.ok());
    const auto ec_sig = ec->sign({}).value();
    EXPECT_EQ(to_hex(ec_sig),
              "0x3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ff"
              "d50921a2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00");
    EXPECT_EQ(verify(Scheme::ecdsa, SignatureBytes(ec_sig), {}, PublicKeyBytes(ec->public_key())),
              Error::ok);
}

TEST(Keys, SignVerifyRoundTripAllSchemes) {
    const std::string msg = "tee-signer";
    for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
        SCOPED_TRACE(scheme_name(s));
        auto kp = KeyPair::from_suri(s, "//Alice//stash");
        ASSERT_TRUE(kp.ok());
        auto sig = kp->sign(as_bytes(msg));
        ASSERT_TRUE(sig.ok());
        EXPECT_EQ(sig->size(), signature_size(s));
        EXPECT_EQ(kp->public_key().size(), public_key_size(s));
        EXPECT_EQ(verify(s, SignatureBytes(*sig), as_bytes(msg), PublicKeyBytes(kp->public_key())),
                  Error::ok);
        EXPECT_NE(verify(s, SignatureBytes(*sig), as_bytes(std::string("other")),
                         PublicKeyBytes(kp->public_key())),
                  Error::ok);
        auto bad = *sig;
        bad[10] ^= 1;
        EXPECT_NE(verify(s, SignatureBytes(bad), as_bytes(msg), PublicKeyBytes(kp->public_key())),
                  Error::ok);
        EXPECT_EQ(verify(s, SignatureBytes(Bytes(sig->size() - 1)), as_bytes(msg),
                         PublicKeyBytes(kp->public_key())),
                  Error::invalid_length);
        EXPECT_EQ(verify(s, SignatureBytes(*sig), as_bytes(msg),
                         PublicKeyBytes(Bytes(public_key_size(s) + 1))),
                  Error::invalid_length);
    }
}

TEST(Keys, PrehashedIsEcdsaOnly) {
    auto ec = KeyPair::from_suri(Scheme::ecdsa, "//Alice").value();
    const Bytes prehash(32, 0x42);
    auto sig = ec.sign_prehashed(prehash);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(verify_prehashed(SignatureBytes(*sig), prehash, PublicKeyBytes(ec.public_key())),
              Error::ok);
    EXPECT_EQ(ec.sign_prehashed(Bytes(31)).error(), Error::invalid_length);
    auto sr = KeyPair::from_suri(Scheme::sr25519, "//Alice").value();
    EXPECT_EQ(sr.sign_prehashed(prehash).error(), Error::unsupported);
}

TEST(Keys, GenerateGivesDistinctWorkingKeys) {
    for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
        auto a = KeyPair::generate(s);
        auto b = KeyPair::generate(s);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_NE(a->public_key(), b->public_key());
        ASSERT_TRUE(a->seed().has_value());
        // The seed reproduces the key.
        auto again = KeyPair::from_seed(s, a->seed()->span());
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(again->public_key(), a->public_key());
        const Bytes msg = {1, 2, 3};
        EXPECT_EQ(
            verify(s, SignatureBytes(a->sign(msg).value()), msg, PublicKeyBytes(a->public_key())),
            Error::ok);
    }
}

TEST(Keys, TypedAccessorsAndMoves) {
    auto kp = KeyPair::from_suri(Scheme::ed25519, "//Alice").value();
    EXPECT_NE(kp.as_ed25519(), nullptr);
    EXPECT_EQ(kp.as_sr25519(), nullptr);
    EXPECT_EQ(kp.as_ecdsa(), nullptr);
    KeyPair moved = std::move(kp);
    EXPECT_EQ(kp.as_ed25519(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_FALSE(kp.seed().has_value());
    EXPECT_EQ(kp.sign({}).error(), Error::unsupported);
    EXPECT_EQ(to_hex(moved.public_key()),
              "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee");
    auto other = KeyPair::from_suri(Scheme::sr25519, "//Bob").value();
    moved = std::move(other);
    EXPECT_EQ(moved.scheme(), Scheme::sr25519);
    EXPECT_NE(moved.as_sr25519(), nullptr);
}

// Account ids: identity for sr25519/ed25519; blake2_256 of the compressed key for
// ecdsa (subkey inspect --scheme ecdsa //Alice "Account ID"; also
// @polkadot/util-crypto blake2AsU8a of the key).
TEST(Keys, AccountIds) {
    EXPECT_EQ(to_hex(account_id(Scheme::ecdsa,
                                hex("020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec315375568"
                                    "4d9a1"))
                         .value()),
              "0x01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed");
    const auto alice = hex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    EXPECT_EQ(to_hex(account_id(Scheme::sr25519, alice).value()), to_hex(alice));
    EXPECT_EQ(account_id(Scheme::ecdsa, alice).error(), Error::invalid_length);
}

TEST(Keys, SchemeNames) {
    for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa})
        EXPECT_EQ(scheme_from_name(scheme_name(s)), s);
    EXPECT_FALSE(scheme_from_name("secp256k1").has_value());
    EXPECT_FALSE(scheme_from_name("").has_value());
}

}  // namespace
