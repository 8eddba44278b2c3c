// BIP-39 and substrate-bip39. Expected values come from implementations we did
// not write:
//  - kSubstrateBip39Vectors: the test vectors of paritytech/substrate-bip39
//    (src/lib.rs, "ALL SEEDS GENERATED USING "Substrate" PASSWORD"): phrase,
//    entropy (rust-bip39) and seed_from_entropy(entropy, "Substrate");
//  - the dev phrase's mini secret 0xfac7959d... (well known; subkey prints it as
//    the secret seed of the dev phrase) and mnemonicToMiniSecret with passwords,
//    mnemonicToEntropy, entropyToMnemonic from @polkadot/util-crypto;
//  - PBKDF2-HMAC-SHA512: Python's hashlib.pbkdf2_hmac (OpenSSL).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hex_helpers.hpp"
#include "teesigner/core/bip39.hpp"

using namespace teesigner::core;
using namespace teesigner::core::test;

namespace {

struct Vector {
    const char* phrase;
    const char* entropy;
    const char* seed;  // with password "Substrate"
};

const Vector kSubstrateBip39Vectors[] = {
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "about",
     "00000000000000000000000000000000",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e33f50c3d5c84fa3e5399c72d6cbbbb"
     "c4a49bf76f76d952f479d74655a2ef2d453"},
    {"legal winner thank year wave sausage worth useful legal winner thank yellow",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8d60b780416850f1e26c1f4b8d88ece681cb058ab6"
     "6d6182bc2ce5a03181f7b74c27576b5c8bf"},
    {"letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
     "80808080808080808080808080808080",
     "27f3eb595928c60d5bc91a4d747da40ed236328183046892ed6cd5aa9ae38122acd1183adf09a89839acb1e6eaa7f"
     "b563cc958a3f9161248d5a036e0d0af533d"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong", "ffffffffffffffffffffffffffffffff",
     "227d6256fd4f9ccaf06c45eaa4b2345969640462bbb00c5f51f43cb43418c7a753265f9b1e0c0822c155a9cabc769"
     "413ecc14553e135fe140fc50b6722c6b9df"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon agent",
     "000000000000000000000000000000000000000000000000",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e33f50c3d5c84fa3e5399c72d6cbbbb"
     "c4a49bf76f76d952f479d74655a2ef2d453"},
    {"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth "
     "useful legal will",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "cb1d50e14101024a88905a098feb1553d4306d072d7460e167a60ccb3439a6817a0afc59060f45d999ddebc053087"
     "14733c9e1e84f30feccddd4ad6f95c8a445"},
    {"letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount "
     "doctor acoustic avoid letter always",
     "808080808080808080808080808080808080808080808080",
     "9ddecf32ce6bee77f867f3c4bb842d1f0151826a145cb4489598fe71ac29e3551b724f01052d1bc3f6d9514d6df6a"
     "a6d0291cfdf997a5afdb7b6a614c88ab36a"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
     "ffffffffffffffffffffffffffffffffffffffffffffffff",
     "8971cb290e7117c64b63379c97ed3b5c6da488841bd9f95cdc2a5651ac89571e2c64d391d46e2475e8b0439118854"
     "57cd23e99a28b5a18535fe53294dc8e1693"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon art",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e33f50c3d5c84fa3e5399c72d6cbbbb"
     "c4a49bf76f76d952f479d74655a2ef2d453"},
    {"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth "
     "useful legal winner thank year wave sausage worth title",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "3037276a5d05fcd7edf51869eb841bdde27c574dae01ac8cfb1ea476f6bea6ef57ab9afe14aea1df8a48f97ae25b3"
     "7d7c8326e49289efb25af92ba5a25d09ed3"},
    {"letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount "
     "doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
     "8080808080808080808080808080808080808080808080808080808080808080",
     "2c9c6144a06ae5a855453d98c3dea470e2a8ffb78179c2e9eb15208ccca7d831c97ddafe844ab933131e6eb895f67"
     "5ede2f4e39837bb5769d4e2bc11df58ac42"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "vote",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "047e89ef7739cbfe30da0ad32eb1720d8f62441dd4f139b981b8e2d0bd412ed4eb14b89b5098c49db2301d4e7df4e"
     "89c21e53f345138e56a5e7d63fae21c5939"},
    {"ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
     "9e885d952ad362caeb4efe34a8e91bd2",
     "f4956be6960bc145cdab782e649a5056598fd07cd3f32ceb73421c3da27833241324dc2c8b0a4d847eee457e6d4c5"
     "429f5e625ece22abaa6a976e82f1ec5531d"},
    {"gravity machine north sort system female filter attitude volume fold club stay feature "
     "office ecology stable narrow fog",
     "6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
     "fbcc5229ade0c0ff018cb7a329c5459f91876e4dde2a97ddf03c832eab7f26124366a543f1485479c31a9db0d421b"
     "da82d7e1fe562e57f3533cb1733b001d84d"},
    {"hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy "
     "gospel tennis maple dilemma loan word shrug inflict delay length",
     "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "7c60c555126c297deddddd59f8cdcdc9e3608944455824dd604897984b5cc369cad749803bb36eb8b786b570c9cdc"
     "8db275dbe841486676a6adf389f3be3f076"},
    {"scheme spot photo card baby mountain device kick cradle pact join borrow",
     "c0ba5a8e914111210f2bd131f3d5e08d",
     "c12157bf2506526c4bd1b79a056453b071361538e9e2c19c28ba2cfa39b5f23034b974e0164a1e8acd30f5b4c4de7"
     "d424fdb52c0116bfc6a965ba8205e6cc121"},
    {"horn tenant knee talent sponsor spell gate clip pulse soap slush warm silver nephew swap "
     "uncle crack brave",
     "6d9be1ee6ebd27a258115aad99b7317b9c8d28b6d76431c3",
     "23766723e970e6b79dec4d5e4fdd627fd27d1ee026eb898feb9f653af01ad22080c6f306d1061656d01c4fe9a14c0"
     "5f991d2c7d8af8730780de4f94cd99bd819"},
    {"panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol "
     "speed nation flash devote level hobby quick inner drive ghost inside",
     "9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
     "f4c83c86617cb014d35cd87d38b5ef1c5d5c3d58a73ab779114438a7b358f457e0462c92bddab5a406fe0e6b97c71"
     "905cf19f925f356bc673ceb0e49792f4340"},
    {"cat swing flag economy stadium alone churn speed unique patch report train",
     "23db8160a31d3e0dca3688ed941adbf3",
     "719d4d4de0638a1705bf5237262458983da76933e718b2d64eb592c470f3c5d222e345cc795337bb3da393b94375f"
     "f4a56cfcd68d5ea25b577ee9384d35f4246"},
    {"light rule cinnamon wrap drastic word pride squirrel upgrade then income fatal apart sustain "
     "crack supply proud access",
     "8197a4a47f0425faeaa69deebc05ca29c0a5b5cc76ceacc0",
     "7ae1291db32d16457c248567f2b101e62c5549d2a64cd2b7605d503ec876d58707a8d663641e99663bc4f6cc9746f"
     "4852e75e7e54de5bc1bd3c299c9a113409e"},
    {"all hour make first leader extend hole alien behind guard gospel lava path output census "
     "museum junior mass reopen famous sing advance salt reform",
     "066dca1a2bb7e8a1db2832148ce9933eea0f3ac9548d793112d9a95c9407efad",
     "a911a5f4db0940b17ecb79c4dcf9392bf47dd18acaebdd4ef48799909ebb49672947cc15f4ef7e8ef47103a1a91a6"
     "732b821bda2c667e5b1d491c54788c69391"},
    {"vessel ladder alter error federal sibling chat ability sun glass valve picture",
     "f30f8c1da665478f49b001d94c5fc452",
     "4e2314ca7d9eebac6fe5a05a5a8d3546bc891785414d82207ac987926380411e559c885190d641ff7e686ace8c57d"
     "b6f6e4333c1081e3d88d7141a74cf339c8f"},
    {"scissors invite lock maple supreme raw rapid void congress muscle digital elegant little "
     "brisk hair mango congress clump",
     "c10ec20dc3cd9f652c7fac2f1230f7a3c828389a14392f05",
     "7a83851102849edc5d2a3ca9d8044d0d4f00e5c4a292753ed3952e40808593251b0af1dd3c9ed9932d46e8608eb0b"
     "928216a6160bd4fc775a6e6fbd493d7c6b2"},
    {"void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing "
     "screen patrol group space point ten exist slush involve unfold",
     "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
     "938ba18c3f521f19bd4a399c8425b02c716844325b1a65106b9d1593fbafe5e0b85448f523f91c48e331995ff24ae"
     "406757cff47d11f240847352b348ff436ed"},
};

const char kDevMiniSecret[] = "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";

}  // namespace

TEST(Bip39, Wordlist) {
    EXPECT_EQ(bip39::word(0), "abandon");
    EXPECT_EQ(bip39::word(1), "ability");
    EXPECT_EQ(bip39::word(2047), "zoo");
    EXPECT_EQ(bip39::word(2048), "");
    std::set<std::string_view> unique;
    for (size_t i = 0; i < bip39::kWordCount; ++i) {
        const auto w = bip39::word(i);
        EXPECT_GE(w.size(), 3u);
        EXPECT_LE(w.size(), 8u);
        if (i > 0) {
            EXPECT_LT(bip39::word(i - 1), w);
        }
        unique.insert(w);
    }
    EXPECT_EQ(unique.size(), bip39::kWordCount);
}

TEST(Bip39, SubstrateBip39Vectors) {
    for (const auto& v : kSubstrateBip39Vectors) {
        auto entropy = bip39::mnemonic_to_entropy(std::string_view(v.phrase));
        ASSERT_TRUE(entropy.ok()) << v.phrase;
        EXPECT_EQ(hex(entropy->span()), v.entropy) << v.phrase;

        auto seed = bip39::seed_from_entropy(entropy->span(), as_bytes("Substrate"));
        ASSERT_TRUE(seed.ok());
        EXPECT_EQ(hex(seed->span()), v.seed) << v.phrase;
        auto mini = bip39::mini_secret_from_entropy(entropy->span(), as_bytes("Substrate"));
        ASSERT_TRUE(mini.ok());
        EXPECT_EQ(hex(mini->span()), std::string(v.seed).substr(0, 64));

        auto phrase = bip39::entropy_to_mnemonic(unhex(v.entropy));
        ASSERT_TRUE(phrase.ok());
        EXPECT_EQ(str(*phrase), v.phrase);
    }
}

TEST(Bip39, DevPhraseMiniSecret) {
    auto entropy = bip39::mnemonic_to_entropy(bip39::kDevPhrase);
    ASSERT_TRUE(entropy.ok());
    EXPECT_EQ(hex(entropy->span()), "1a486a5fbe53639984cb64b070755f7b");  // mnemonicToEntropy
    auto mini = bip39::mini_secret_from_mnemonic(bip39::kDevPhrase, "");
    ASSERT_TRUE(mini.ok());
    EXPECT_EQ(hex(mini->span()), kDevMiniSecret);
}

TEST(Bip39, PolkadotJsMiniSecretsWithPasswords) {
    // mnemonicToMiniSecret(DEV_PHRASE, password), wasm and pure-JS paths agree.
    struct {
        const char* password;
        const char* mini;
    } vectors[] = {
        {"", kDevMiniSecret},
        {"password", "7093ab08d7abbb67ff41479a98ef998e4be773901f13668a012f51d207577a88"},
        {"Substrate", "254867d4c1786589c24851dde5d29e027f36101541ed4e8251672549d1f8fe2c"},
        // Not normalised: the UTF-8 bytes of the password as given.
        {"p@ss w0rd/\xc3\xa9", "6ffeb360ee45c10110a9bd161a9c1d56e9e9eb0950b8efd71707253f60247069"},
    };
    for (const auto& v : vectors) {
        auto mini = bip39::mini_secret_from_mnemonic(bip39::kDevPhrase, v.password);
        ASSERT_TRUE(mini.ok());
        EXPECT_EQ(hex(mini->span()), v.mini) << v.password;
    }
}

TEST(Bip39, PolkadotJsEntropyToMnemonic) {
    // entropyToMnemonic(entropy) and mnemonicToMiniSecret(phrase, "tee").
    struct {
        const char* entropy;
        const char* phrase;
        const char* mini;
    } vectors[] = {
        {"000102030405060708090a0b0c0d0e0f",
         "abandon amount liar amount expire adjust cage candy arch gather drum buyer",
         "3ed78355e2c56556d6926a4ede8e6d3f5a91d5eff5edac1698f53dbef00222bf"},
        {"f0e1d2c3b4a5968778695a4b3c2d1e0f00112233",
         "valley attend rail harsh floor dry ticket clip enroll thumb elegant bulk absurd much "
         "snap",
         "8091fc97e3102cb0de5c7b8c69b3d4d1f5a4e10c6198706171c7f4a27c12ee4b"},
        {"0123456789abcdeffedcba98765432100123456789abcdef",
         "abuse boss fly battle rubber wave window nuclear observe razor arrive cactus banana "
         "pencil owner cube social kangaroo",
         "fcc7f52b1b352f406d184855f8faac2175153982644c1106a370c84e583fd986"},
        {"a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc",
         "payment bench truck ensure heavy stairs pluck fever protect hope program gesture "
         "brass flush spot replace response shift huge jazz siren",
         "83a6aa8527a94eddccedab9f76cf1cd71f7f81968295736bf8f94a783d2dd837"},
        {"deadbeefcafebabe0123456789abcdef00ff00ff00ff00ff1122334455667788",
         "team hospital room nominee two gallery afraid hamster guide essence vibrant task "
         "avocado lesson winter cable abstract weasel embrace grief earn rebel taste become",
         "258b84e15de9bcaea8c38a740ff0321c087c6ed885e92c84c5733f57beccd576"},
    };
    for (const auto& v : vectors) {
        auto phrase = bip39::entropy_to_mnemonic(unhex(v.entropy));
        ASSERT_TRUE(phrase.ok());
        EXPECT_EQ(str(*phrase), v.phrase);
        auto entropy = bip39::mnemonic_to_entropy(std::string_view(v.phrase));
        ASSERT_TRUE(entropy.ok());
        EXPECT_EQ(hex(entropy->span()), v.entropy);
        auto mini = bip39::mini_secret_from_mnemonic(std::string_view(v.phrase), "tee");
        ASSERT_TRUE(mini.ok());
        EXPECT_EQ(hex(mini->span()), v.mini);
    }
}

TEST(Bip39, WhitespaceIsNormalisedLikeSplitWhitespace) {
    const char* variants[] = {
        "  bottom drive obey lake curtain smoke basket hold race lonely fit walk  ",
        "bottom\tdrive\nobey\r\nlake curtain    smoke basket hold race lonely fit walk",
        "bottom\xc2\xa0"
        "drive obey lake curtain smoke basket hold race lonely fit\xe3\x80\x80walk",
        "bottom\xe2\x80\x83"
        "drive obey lake curtain smoke basket hold race lonely fit walk\n",
    };
    for (const char* v : variants) {
        auto mini = bip39::mini_secret_from_mnemonic(std::string_view(v), "");
        ASSERT_TRUE(mini.ok()) << v;
        EXPECT_EQ(hex(mini->span()), kDevMiniSecret);
    }
}

TEST(Bip39, RejectsBadPhrases) {
    // Checksum: the last word of the dev phrase changed ("walk" -> "fit"; both valid
    // words). @polkadot/util-crypto mnemonicValidate also rejects it.
    EXPECT_EQ(bip39::mnemonic_to_entropy(
                  std::string_view(
                      "bottom drive obey lake curtain smoke basket hold race lonely fit fit"))
                  .error(),
              Error::invalid_checksum);
    EXPECT_EQ(bip39::mnemonic_to_entropy(
                  std::string_view("abandon abandon abandon abandon abandon abandon abandon "
                                   "abandon abandon abandon abandon abandon"))
                  .error(),
              Error::invalid_checksum);
    const char* invalid[] = {
        "",
        "   ",
        // Unknown words (including case and a longer-than-any-word token).
        "bottom drive obey lake curtain smoke basket hold race lonely fit walkk",
        "Bottom drive obey lake curtain smoke basket hold race lonely fit walk",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walkingstick",
        "bottom drive obey lake curtain smoke basket hold race lonely fit w\xc3\xa1lk",
        "bottom drive obey lake curtain smoke basket hold race lonely fit wal",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk\x01",
        // Word counts.
        "bottom drive obey lake curtain smoke basket hold race lonely fit",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk walk",
        "bottom drive obey lake curtain smoke basket hold race",
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon abandon abandon abandon abandon",
    };
    for (const char* p : invalid) {
        EXPECT_EQ(bip39::mnemonic_to_entropy(std::string_view(p)).error(), Error::invalid_mnemonic)
            << p;
        EXPECT_EQ(bip39::mini_secret_from_mnemonic(std::string_view(p), "").error(),
                  Error::invalid_mnemonic);
    }
}

TEST(Bip39, EntropySizes) {
    for (size_t n = 0; n <= 40; ++n) {
        Bytes entropy(n, 0x5a);
        const bool valid = n >= 16 && n <= 32 && n % 4 == 0;
        EXPECT_EQ(bip39::entropy_to_mnemonic(entropy).ok(), valid) << n;
        auto seed = bip39::seed_from_entropy(entropy, {});
        EXPECT_EQ(seed.ok(), valid) << n;
        if (!valid) {
            EXPECT_EQ(seed.error(), Error::invalid_length);
        }
    }
}

TEST(Bip39, GenerateRoundTrips) {
    for (size_t words : {12u, 15u, 18u, 21u, 24u}) {
        for (int i = 0; i < 5; ++i) {
            auto phrase = bip39::generate_mnemonic(words);
            ASSERT_TRUE(phrase.ok());
            size_t spaces = 0;
            for (size_t k = 0; k < phrase->size(); ++k) spaces += phrase->data()[k] == ' ';
            EXPECT_EQ(spaces + 1, words);
            auto entropy = bip39::mnemonic_to_entropy(phrase->span());
            ASSERT_TRUE(entropy.ok()) << str(*phrase);
            EXPECT_EQ(entropy->size(), words * 4 / 3);
            auto again = bip39::entropy_to_mnemonic(entropy->span());
            ASSERT_TRUE(again.ok());
            EXPECT_EQ(str(*again), str(*phrase));
        }
    }
    for (size_t words : {0u, 11u, 13u, 27u}) {
        EXPECT_EQ(bip39::generate_mnemonic(words).error(), Error::invalid_length);
    }
}

TEST(Bip39, Pbkdf2HmacSha512) {
    struct {
        std::string password;
        std::string salt;
        uint32_t iterations;
        size_t length;
        const char* expected;
    } vectors[] = {
        {"password", "salt", 1, 64,
         "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bf"
         "e943c08f050235d7d68b1da55e63f73b60a57fce"},
        {"password", "salt", 2, 64,
         "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840edce"
         "4fef5a82be67335c77a6068e04112754f27ccf4e"},
        {"password", "salt", 4096, 64,
         "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5143f30602641b3d55cd33598"
         "8cb36b84376060ecd532e039b742a239434af2d5"},
        {"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 64,
         "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71115b59f9e60cd9532fa33e0f"
         "75aefe30225c583a186cd82bd4daea9724a3d3b8"},
        // Two output blocks, the second truncated.
        {"pass", "salt", 3, 100,
         "2896726375e5645d4f0991153bb2de0809cb8727fa0a0ae6dcfba6bd17559e97c3a8e5ce5cc934cecf6baaeb"
         "88bc9021b590aa71e49e4c3d6578879e7106f50f19a313c3ccf64e50e0702a2290994b46845d663c5a7a6b63"
         "6039063ab78ca0ebfb49b290"},
        // A key longer than the HMAC block is hashed first.
        {std::string(200, 'k'), "s", 5, 20, "021ea3e4446d91ea0cee53614b72103237a5f813"},
    };
    for (const auto& v : vectors) {
        Bytes out(v.length);
        ASSERT_EQ(
            bip39::pbkdf2_hmac_sha512(as_bytes(v.password), as_bytes(v.salt), v.iterations, out),
            Error::ok);
        EXPECT_EQ(hex(out), v.expected);
    }
    Bytes out(64);
    EXPECT_EQ(bip39::pbkdf2_hmac_sha512(as_bytes("p"), as_bytes("s"), 0, out),
              Error::invalid_length);
    EXPECT_EQ(bip39::pbkdf2_hmac_sha512(as_bytes("p"), as_bytes("s"), 1, {}),
              Error::invalid_length);
}
