// Secret URIs and derivation junctions. Sources of expected values:
//  - parse structure: the unit tests of sp-core's address_uri.rs (test00..test22
//    and its doc example) and the SecretUri doc examples in sp-core crypto.rs;
//  - chain codes: @polkadot/util-crypto keyExtractPath(path).path[i].chainCode
//    (same SCALE-then-pad-or-blake2 rule as sp-core for names and numbers below
//    2^64), and for sp-core-only cases (junctions "+5", "0x12", numbers >= 2^64,
//    which polkadot-js treats differently) @polkadot/util compactAddLength +
//    blake2AsU8a of the string, i.e. sp-core's DeriveJunction::soft(&str);
//  - the grammar as a whole: sp-core's original regular expression (which its
//    address_uri.rs replaced and is tested against), run with std::regex over
//    every short string of a small alphabet;
//  - seeds: @polkadot/util-crypto mnemonicToMiniSecret (dev phrase, with and
//    without password).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "hex_helpers.hpp"
#include "teesigner/core/bip39.hpp"
#include "teesigner/core/suri.hpp"

using namespace teesigner::core;
using namespace teesigner::core::test;

namespace {

// "S:name" / "H:name" for each junction, joined by '|', recomputed from the
// names so the structure of a parse can be compared in one string.
std::string describe(const std::vector<DeriveJunction>& junctions,
                     const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < junctions.size(); ++i) {
        if (i) out += '|';
        out += junctions[i].hard ? "H:" : "S:";
        // Find which expected name produced this chain code.
        std::string found = "?";
        for (const auto& n : names)
            if (DeriveJunction::from_path_element(n).chain_code == junctions[i].chain_code)
                found = n;
        out += found;
    }
    return out;
}

const char kDevMiniSecret[] = "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";

}  // namespace

TEST(SecretUri, SpCoreDocExamples) {
    auto alice = parse_secret_uri("//Alice");
    ASSERT_TRUE(alice.ok());
    EXPECT_EQ(str(alice->phrase), bip39::kDevPhrase);
    ASSERT_EQ(alice->junctions.size(), 1u);
    EXPECT_TRUE(alice->junctions[0].hard);
    EXPECT_EQ(alice->junctions[0], DeriveJunction::from_name("Alice", true));
    EXPECT_FALSE(alice->password.has_value());

    auto with_password = parse_secret_uri("//Alice///SECRET_PASSWORD");
    ASSERT_TRUE(with_password.ok());
    EXPECT_EQ(str(with_password->phrase), bip39::kDevPhrase);
    ASSERT_EQ(with_password->junctions.size(), 1u);
    EXPECT_EQ(with_password->junctions[0], DeriveJunction::from_name("Alice", true));
    ASSERT_TRUE(with_password->password.has_value());
    EXPECT_EQ(str(*with_password->password), "SECRET_PASSWORD");

    const char seed[] = "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a";
    auto hex_uri = parse_secret_uri(std::string(seed) + "//Alice");
    ASSERT_TRUE(hex_uri.ok());
    EXPECT_EQ(str(hex_uri->phrase), seed);
    ASSERT_EQ(hex_uri->junctions.size(), 1u);
    EXPECT_EQ(hex_uri->junctions[0], DeriveJunction::from_name("Alice", true));
    EXPECT_FALSE(hex_uri->password.has_value());
}

TEST(SecretUri, SpCoreAddressUriCases) {
    struct {
        const char* uri;
        const char* phrase;  // nullptr: none given (dev phrase)
        const char* junctions;
        const char* password;  // nullptr: none
    } ok_cases[] = {
        {"///", nullptr, "", ""},
        {"////////", nullptr, "", "/////"},
        {"sdasd///asda", "sdasd", "", "asda"},
        {"sdasd//asda", "sdasd", "H:asda", nullptr},
        {"sdasd//a", "sdasd", "H:a", nullptr},
        {"sdasd/xx//asda", "sdasd", "S:xx|H:asda", nullptr},
        {"sdasd/xx//a/b//c///pass", "sdasd", "S:xx|H:a|S:b|H:c", "pass"},
        {"sdasd/xx//a", "sdasd", "S:xx|H:a", nullptr},
        {"sdasd/asda", "sdasd", "S:asda", nullptr},
        {"sdasd/asda//x", "sdasd", "S:asda|H:x", nullptr},
        {"sdasd/a", "sdasd", "S:a", nullptr},
        {"sdasd", "sdasd", "", nullptr},
        {"sdasd/asd.a", "sdasd", "S:asd.a", nullptr},
        {"sdasd//asd.a", "sdasd", "H:asd.a", nullptr},
        {"hello world/s//h///pass", "hello world", "S:s|H:h", "pass"},
        // Beyond sp-core's own tests, following the same rules.
        {"", nullptr, "", nullptr},
        {"a b  c ", "a b  c ", "", nullptr},
        {"x//p///pw/with//slashes and spaces", "x", "H:p", "pw/with//slashes and spaces"},
        {"//Alice/0//1", nullptr, "H:Alice|S:0|H:1", nullptr},
        {"//h\xc3\xa9llo w\xc3\xb6rld", nullptr, "H:h\xc3\xa9llo w\xc3\xb6rld", nullptr},
        {"///\xc3\xa9", nullptr, "", "\xc3\xa9"},
    };
    for (const auto& c : ok_cases) {
        auto r = parse_secret_uri(c.uri);
        ASSERT_TRUE(r.ok()) << c.uri;
        EXPECT_EQ(str(r->phrase), c.phrase ? std::string(c.phrase) : std::string(bip39::kDevPhrase))
            << c.uri;
        std::vector<std::string> names;
        std::string spec = c.junctions;
        for (size_t pos = 0; pos < spec.size();) {
            size_t end = spec.find('|', pos + 2);
            if (end == std::string::npos) end = spec.size();
            names.push_back(spec.substr(pos + 2, end - pos - 2));
            pos = end + 1;
        }
        EXPECT_EQ(describe(r->junctions, names), c.junctions) << c.uri;
        ASSERT_EQ(r->password.has_value(), c.password != nullptr) << c.uri;
        if (c.password) {
            EXPECT_EQ(str(*r->password), c.password) << c.uri;
        }
    }
}

TEST(SecretUri, MalformedUrisAreRejected) {
    const char* bad[] = {
        // sp-core address_uri.rs error cases.
        "sdasd//", "sdasd/xx//", "sdasd/", "sd.asd", "sd.asd/asd.a", "sd.asd//asd.a", "///\n",
        "///a\n", "sd.asd///asd.a\n",
        // More of the same rules.
        "/", "//", "//Alice/", "//Alice//", "bottom-drive", "bottom\tdrive", "phrase\n", "0x12:34",
        "//Alice///pass\nword",
        "caf\xc3\xa9//x",  // non-ASCII letters are not phrase characters
    };
    for (const char* uri : bad) {
        EXPECT_EQ(parse_secret_uri(uri).error(), Error::invalid_uri) << uri;
    }
    // Not UTF-8 (Rust strings always are).
    EXPECT_EQ(parse_secret_uri("//Alice\xff").error(), Error::invalid_uri);
    EXPECT_EQ(parse_secret_uri("///\xc0\xaf").error(), Error::invalid_uri);
}

TEST(DeriveJunction, ChainCodesFromPolkadotJs) {
    struct {
        std::string path;
        std::vector<std::string> expected;  // "H:" / "S:" + chain code hex
    } vectors[] = {
        {"//Alice", {"H:14416c6963650000000000000000000000000000000000000000000000000000"}},
        {"//1", {"H:0100000000000000000000000000000000000000000000000000000000000000"}},
        {"/1", {"S:0100000000000000000000000000000000000000000000000000000000000000"}},
        {"//0", {"H:0000000000000000000000000000000000000000000000000000000000000000"}},
        {"/Alice//Bob/0",
         {"S:14416c6963650000000000000000000000000000000000000000000000000000",
          "H:0c426f6200000000000000000000000000000000000000000000000000000000",
          "S:0000000000000000000000000000000000000000000000000000000000000000"}},
        {"//18446744073709551615",
         {"H:ffffffffffffffff000000000000000000000000000000000000000000000000"}},
        {"//007", {"H:0700000000000000000000000000000000000000000000000000000000000000"}},
        {"//polkadot//kusama/stash",
         {"H:20706f6c6b61646f740000000000000000000000000000000000000000000000",
          "H:186b7573616d6100000000000000000000000000000000000000000000000000",
          "S:1473746173680000000000000000000000000000000000000000000000000000"}},
        // 31-byte name: 32 encoded bytes, kept as is; 32-byte name: hashed.
        {"//aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         {"H:7c61616161616161616161616161616161616161616161616161616161616161"}},
        {"//aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         {"H:75ad2af4378b683f716ddf82fef713e873c85a6376ce2acf71d04f79e221a068"}},
        {"/" + std::string(100, 'x'),
         {"S:1b87f546690d933b7a06c89587c1eb6cf62c98b4caacb269f1cee2da6f133c1a"}},
        {"//h\xc3\xa9llo w\xc3\xb6rld",
         {"H:3468c3a96c6c6f2077c3b6726c64000000000000000000000000000000000000"}},
        {"//Alice Bob", {"H:24416c69636520426f6200000000000000000000000000000000000000000000"}},
        {"//-1", {"H:082d310000000000000000000000000000000000000000000000000000000000"}},
    };
    for (const auto& v : vectors) {
        auto r = parse_secret_uri(v.path);
        ASSERT_TRUE(r.ok()) << v.path;
        ASSERT_EQ(r->junctions.size(), v.expected.size()) << v.path;
        for (size_t i = 0; i < v.expected.size(); ++i) {
            const auto& j = r->junctions[i];
            EXPECT_EQ(std::string(j.hard ? "H:" : "S:") + hex(j.chain_code), v.expected[i])
                << v.path << " #" << i;
        }
    }
}

TEST(DeriveJunction, SpCoreNumberParsing) {
    // Rust's u64::from_str accepts a leading '+': "+5" is the number 5.
    EXPECT_EQ(DeriveJunction::from_path_element("/+5"), DeriveJunction::from_index(5, true));
    EXPECT_EQ(hex(DeriveJunction::from_path_element("+5").chain_code),
              "0500000000000000000000000000000000000000000000000000000000000000");
    // Strings (compactAddLength(stringToU8a(s)), padded or blake2-256'd).
    struct {
        const char* element;
        const char* chain_code;
    } names[] = {
        {"18446744073709551616",  // 2^64 overflows u64
         "5031383434363734343037333730393535313631360000000000000000000000"},
        {"0x12", "1030783132000000000000000000000000000000000000000000000000000000"},
        {"+5x", "0c2b357800000000000000000000000000000000000000000000000000000000"},
        {"+", "042b000000000000000000000000000000000000000000000000000000000000"},
        {"99999999999999999999999999999999999",
         "5baaa7894cf205dad885804f19d93f3d0504d811756bb72bed75d3f8e99bc304"},
    };
    for (const auto& n : names) {
        auto j = DeriveJunction::from_path_element(n.element);
        EXPECT_FALSE(j.hard);
        EXPECT_EQ(hex(j.chain_code), n.chain_code) << n.element;
    }
    // from_path_element's own leading '/' means hard, as sp-core's From<&str>.
    EXPECT_TRUE(DeriveJunction::from_path_element("/Alice").hard);
    EXPECT_EQ(DeriveJunction::from_path_element("/Alice").chain_code,
              DeriveJunction::from_name("Alice", false).chain_code);
}

TEST(HexSeed, DecodesLikeFromStringWithSeed) {
    const std::string hex64 = "e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a";
    auto seed = decode_hex_seed(as_bytes("0x" + hex64));
    ASSERT_TRUE(seed.ok());
    EXPECT_EQ(hex(seed->span()), hex64);

    std::string upper = hex64;
    for (char& c : upper)
        if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    auto seed_upper = decode_hex_seed(as_bytes("0x" + upper));
    ASSERT_TRUE(seed_upper.ok());
    EXPECT_EQ(hex(seed_upper->span()), hex64);

    // array_bytes::hex2bytes strips a second "0x".
    auto doubled = decode_hex_seed(as_bytes("0x0x" + hex64));
    ASSERT_TRUE(doubled.ok());
    EXPECT_EQ(hex(doubled->span()), hex64);

    EXPECT_FALSE(is_hex_seed(as_bytes("0X" + hex64)));
    EXPECT_EQ(decode_hex_seed(as_bytes("0X" + hex64)).error(), Error::invalid_encoding);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x")).error(), Error::invalid_encoding);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x" + hex64.substr(1))).error(), Error::invalid_encoding);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x" + hex64.substr(2))).error(), Error::invalid_length);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x" + hex64 + "00")).error(), Error::invalid_length);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x" + hex64.substr(2) + "zz")).error(),
              Error::invalid_encoding);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x" + hex64.substr(2) + "g0")).error(),
              Error::invalid_encoding);
    EXPECT_EQ(decode_hex_seed(as_bytes("0x " + hex64.substr(1))).error(), Error::invalid_encoding);
}

TEST(SecretUriSeed, PhrasesPasswordsAndHexSeeds) {
    struct {
        const char* uri;
        const char* seed;
    } vectors[] = {
        {"//Alice", kDevMiniSecret},
        {"", kDevMiniSecret},
        {"///", kDevMiniSecret},  // an empty password is no password
        // mnemonicToMiniSecret(DEV_PHRASE, "password")
        {"//Alice///password", "7093ab08d7abbb67ff41479a98ef998e4be773901f13668a012f51d207577a88"},
        {"bottom drive obey lake curtain smoke basket hold race lonely fit walk///password",
         "7093ab08d7abbb67ff41479a98ef998e4be773901f13668a012f51d207577a88"},
        // Extra spaces in the phrase are allowed by the URI grammar and by
        // rust-bip39's split_whitespace.
        {"bottom drive obey lake curtain smoke basket hold race lonely fit walk //Alice",
         kDevMiniSecret},
        {"  bottom drive  obey lake curtain smoke basket hold race lonely fit walk",
         kDevMiniSecret},
        // A hex seed ignores the password.
        {"0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a//x///pw",
         "e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a"},
    };
    for (const auto& v : vectors) {
        auto uri = parse_secret_uri(v.uri);
        ASSERT_TRUE(uri.ok()) << v.uri;
        auto seed = secret_uri_seed(*uri);
        ASSERT_TRUE(seed.ok()) << v.uri;
        EXPECT_EQ(hex(seed->span()), v.seed) << v.uri;
    }

    // password_override replaces the URI's password (also an empty one).
    auto uri = parse_secret_uri("//Alice///password");
    ASSERT_TRUE(uri.ok());
    auto overridden = secret_uri_seed(*uri, ByteSpan{});
    ASSERT_TRUE(overridden.ok());
    EXPECT_EQ(hex(overridden->span()), kDevMiniSecret);
    auto plain = parse_secret_uri("//Alice");
    ASSERT_TRUE(plain.ok());
    auto with_override = secret_uri_seed(*plain, as_bytes("password"));
    ASSERT_TRUE(with_override.ok());
    EXPECT_EQ(hex(with_override->span()),
              "7093ab08d7abbb67ff41479a98ef998e4be773901f13668a012f51d207577a88");
}

TEST(SecretUriSeed, BadPhrasesAndSeeds) {
    struct {
        const char* uri;
        Error error;
    } cases[] = {
        {"Alice", Error::invalid_mnemonic},  // a bare name is a (bad) phrase
        {"bottom drive obey lake curtain smoke basket hold race lonely fit fit//A",
         Error::invalid_checksum},
        {"bottom drive obey lake curtain smoke basket hold race lonely fit",
         Error::invalid_mnemonic},
        {"0x1234//Alice", Error::invalid_length},
        {"0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a //Alice",
         Error::invalid_encoding},
        {"0X e5be", Error::invalid_mnemonic},
    };
    for (const auto& c : cases) {
        auto uri = parse_secret_uri(c.uri);
        ASSERT_TRUE(uri.ok()) << c.uri;
        EXPECT_EQ(secret_uri_seed(*uri).error(), c.error) << c.uri;
    }
}

TEST(SecretUri, MatchesSpCoreRegexOnAllShortStrings) {
    // sp-core's SECRET_PHRASE_REGEX and JUNCTION_REGEX. ECMAScript and Rust's
    // regex agree on these for the alphabet below ('.' excludes only '\n' here,
    // and [^/] includes it in both).
    const std::regex uri_re(R"(^([a-zA-Z0-9 ]+)?((//?[^/]+)*)(///(.*))?$)");
    const std::regex junction_re(R"(/(/?[^/]+))");
    const char alphabet[] = {'a', '1', ' ', '/', '.', '\n'};
    constexpr size_t kSymbols = sizeof alphabet;
    size_t checked = 0;
    for (size_t len = 0; len <= 6; ++len) {
        size_t total = 1;
        for (size_t k = 0; k < len; ++k) total *= kSymbols;
        for (size_t n = 0; n < total; ++n) {
            std::string uri;
            for (size_t k = 0, x = n; k < len; ++k, x /= kSymbols) uri += alphabet[x % kSymbols];
            std::smatch m;
            const bool matched = std::regex_match(uri, m, uri_re);
            auto parsed = parse_secret_uri(uri);
            ASSERT_EQ(parsed.ok(), matched) << testing::PrintToString(uri);
            ++checked;
            if (!matched) continue;
            EXPECT_EQ(str(parsed->phrase),
                      m[1].matched ? m[1].str() : std::string(bip39::kDevPhrase));
            ASSERT_EQ(parsed->password.has_value(), m[4].matched);
            if (m[4].matched) {
                EXPECT_EQ(str(*parsed->password), m[5].str());
            }
            const std::string path = m[2].str();
            std::vector<DeriveJunction> expected;
            for (auto it = std::sregex_iterator(path.begin(), path.end(), junction_re);
                 it != std::sregex_iterator(); ++it)
                expected.push_back(DeriveJunction::from_path_element((*it)[1].str()));
            EXPECT_EQ(parsed->junctions, expected) << testing::PrintToString(uri);
        }
    }
    EXPECT_GT(checked, 50000u);
}
