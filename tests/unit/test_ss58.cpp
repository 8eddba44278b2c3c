// Base58 and SS58. Expected values come from implementations we did not write:
//  - Base58: @polkadot/util-crypto base58Encode (Bitcoin alphabet), including the
//    classic vectors of Bitcoin Core's base58_encode_decode.json;
//  - SS58: @polkadot/util-crypto encodeAddress for //Alice's sr25519 public key
//    under several prefixes (5GrwvaEF... on 42 is also subkey's well-known output),
//    for //Alice's ecdsa public key (33 bytes) and for its account id
//    blake2AsU8a(pubkey, 256); reserved prefixes 46/47 from @polkadot/networks
//    (standardAccount null).
#include <gtest/gtest.h>

#include <string>

#include "hex_helpers.hpp"
#include "teesigner/core/base58.hpp"
#include "teesigner/core/ss58.hpp"

using namespace teesigner::core;
using namespace teesigner::core::test;

namespace {

const char kAliceSr[] = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
const char kAliceEcdsa[] = "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1";

}  // namespace

TEST(Base58, KnownVectors) {
    struct {
        const char* hex;
        const char* b58;
    } vectors[] = {
        {"", ""},
        {"00", "1"},
        {"0000", "11"},
        {"000102", "15T"},
        {"61", "2g"},
        {"626262", "a3gV"},
        {"636363", "aPEr"},
        {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
        {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
         "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
        {"516b6fcd0f", "ABnLTmg"},
        {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
        {"572e4794", "3EFU7m"},
        {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
        {"10c8511e", "Rt5zm"},
        {"00000000000000000000", "1111111111"},
    };
    for (const auto& v : vectors) {
        Bytes data = unhex(v.hex);
        EXPECT_EQ(base58_encode(data), v.b58) << v.hex;
        auto back = base58_decode(v.b58);
        ASSERT_TRUE(back.ok()) << v.b58;
        EXPECT_EQ(hex(*back), v.hex);
    }
}

TEST(Base58, RejectsCharactersOutsideTheAlphabet) {
    for (const char* bad : {"0", "O", "I", "l", "abc ", " abc", "ab+c", "5Grwva\n"}) {
        EXPECT_EQ(base58_decode(bad).error(), Error::invalid_encoding) << bad;
    }
    EXPECT_EQ(base58_decode(std::string(kBase58MaxDecodeLength + 1, '2')).error(),
              Error::invalid_encoding);
}

TEST(Base58, RoundTripsRandomishData) {
    Bytes data;
    for (size_t len = 0; len < 70; ++len) {
        data.push_back(static_cast<uint8_t>((len * 151 + 7) & 0xff));
        if (len % 9 == 0) data.insert(data.begin(), 0);
        auto back = base58_decode(base58_encode(data));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, data);
    }
}

TEST(Ss58, AliceSr25519OnKnownNetworks) {
    Bytes alice = unhex(kAliceSr);
    struct {
        uint16_t prefix;
        const char* address;
    } vectors[] = {
        {0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
        {2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},
        {42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
        {63, "7NPoMQbiA6trJKkjB35uk96MeJD4PGWkLQLH7k7hXEkZpiba"},
        // Two-byte prefixes.
        {64, "cEaNSpz4PxFcZ7nT1VEKrKewH67rfx6MfcM6yKojyyPz7qaqp"},
        {255, "yGHXkYLYqxijLKKfd9Q2CB9shRVu8rPNBS53wvwGTutYg4zTg"},
        {1337, "bUNdEKVCnhNAZvnEWFNcL3T82nAWQduR63fgon1qbrba7AKfN"},
        {16383, "yNa8JpqfFB3q8A29rCwSgxvdU94ufJw2yKKxDgznS5m1PoFvn"},
    };
    for (const auto& v : vectors) {
        auto enc = ss58_encode(alice, v.prefix);
        ASSERT_TRUE(enc.ok());
        EXPECT_EQ(*enc, v.address) << v.prefix;
        auto dec = ss58_decode(v.address);
        ASSERT_TRUE(dec.ok()) << v.address;
        EXPECT_EQ(dec->prefix, v.prefix);
        EXPECT_EQ(hex(dec->key), kAliceSr);
        auto typed = ss58_decode(v.address, 32);
        ASSERT_TRUE(typed.ok());
        EXPECT_EQ(ss58_decode(v.address, 33).error(), Error::invalid_length);
    }
}

TEST(Ss58, EcdsaPublicKeyAndAccountId) {
    Bytes pub = unhex(kAliceEcdsa);
    struct {
        uint16_t prefix;
        const char* address;
    } pub_vectors[] = {
        {0, "1CoWvCoktJHtTXSDybnqa1Evg2weWuhRusAiry1dU1fNR2Fy"},
        {2, "tHsFGA2BfG62RaZjiCCzuPQVaUACck5vVSowrvHnXp72WSsp"},
        {42, "KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL"},
        {1337, "3d9TUcDH1tFJ1DxK6cpkUBA17q2sjqUHZvxHQVcFtEYUdRsZR6V"},
    };
    for (const auto& v : pub_vectors) {
        auto enc = ss58_encode(pub, v.prefix);
        ASSERT_TRUE(enc.ok());
        EXPECT_EQ(*enc, v.address);
        auto dec = ss58_decode(v.address, 33);
        ASSERT_TRUE(dec.ok());
        EXPECT_EQ(dec->prefix, v.prefix);
        EXPECT_EQ(hex(dec->key), kAliceEcdsa);
    }

    auto account = ecdsa_account_id(pub);
    ASSERT_TRUE(account.ok());
    EXPECT_EQ(hex(*account), "01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed");
    struct {
        uint16_t prefix;
        const char* address;
    } account_vectors[] = {
        {0, "13VAtLwNPFNMpqRJ6yzU4cwe3w4eyS9pDaLVW5DFzdvFwWa"},
        {2, "CcogsRk8xzpfweM7Ak3Ds9nw2DemLhCC6gbisMpBhptpgcr"},
        {42, "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"},
    };
    for (const auto& v : account_vectors) {
        auto enc = ss58_encode(*account, v.prefix);
        ASSERT_TRUE(enc.ok());
        EXPECT_EQ(*enc, v.address);
    }
    EXPECT_EQ(ecdsa_account_id(ByteSpan(pub).first(32)).error(), Error::invalid_length);
}

TEST(Ss58, NetworkNames) {
    EXPECT_EQ(ss58_prefix_from_network("polkadot"), std::optional<uint16_t>{0});
    EXPECT_EQ(ss58_prefix_from_network("kusama"), std::optional<uint16_t>{2});
    EXPECT_EQ(ss58_prefix_from_network("substrate"), std::optional<uint16_t>{42});
    EXPECT_EQ(ss58_prefix_from_network("Kusama"), std::nullopt);
    EXPECT_EQ(ss58_prefix_from_network(""), std::nullopt);
}

TEST(Ss58, EncodeRejectsBadInputs) {
    Bytes alice = unhex(kAliceSr);
    EXPECT_EQ(ss58_encode(ByteSpan(alice).first(31), 42).error(), Error::invalid_length);
    Bytes longer = alice;
    longer.push_back(0);
    longer.push_back(0);
    EXPECT_EQ(ss58_encode(longer, 42).error(), Error::invalid_length);
    EXPECT_EQ(ss58_encode(alice, 16384).error(), Error::invalid_encoding);
}

TEST(Ss58, DecodeRejectsCorruptedAddresses) {
    const std::string good = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    // Every single-character substitution is caught (checksum or length).
    const std::string alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    for (size_t i = 0; i < good.size(); ++i) {
        std::string bad = good;
        bad[i] = alphabet[(alphabet.find(good[i]) + 1) % alphabet.size()];
        auto r = ss58_decode(bad);
        EXPECT_FALSE(r.ok()) << bad;
    }
    // A corrupted checksum in the last character: the body is intact.
    std::string last = good;
    last.back() = 'R';
    EXPECT_EQ(ss58_decode(last).error(), Error::invalid_checksum);

    EXPECT_EQ(ss58_decode("").error(), Error::invalid_length);
    EXPECT_EQ(ss58_decode("1").error(), Error::invalid_length);
    EXPECT_EQ(ss58_decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ0").error(),
              Error::invalid_encoding);
    EXPECT_EQ(ss58_decode(good.substr(0, good.size() - 3)).error(), Error::invalid_length);
    // One more digit multiplies the value by 58: a different prefix/length split
    // whose checksum cannot match.
    EXPECT_FALSE(ss58_decode(good + "1").ok());
}

TEST(Ss58, DecodeChecksumAndPrefixErrors) {
    Bytes alice = unhex(kAliceSr);
    // Flip a checksum bit of a well-formed payload.
    auto good = base58_decode(*ss58_encode(alice, 42));
    ASSERT_TRUE(good.ok());
    Bytes flipped = *good;
    flipped.back() ^= 0x01;
    EXPECT_EQ(ss58_decode(base58_encode(flipped)).error(), Error::invalid_checksum);

    // Prefix byte 128 and above is invalid.
    Bytes high = *good;
    high[0] = 0x80;
    EXPECT_EQ(ss58_decode(base58_encode(high)).error(), Error::invalid_encoding);

    // Reserved prefixes 46 and 47 encode but do not decode (sp-core's
    // format_is_allowed).
    for (uint16_t reserved : {uint16_t{46}, uint16_t{47}}) {
        EXPECT_TRUE(ss58_prefix_reserved(reserved));
        auto enc = ss58_encode(alice, reserved);
        ASSERT_TRUE(enc.ok());
        EXPECT_EQ(ss58_decode(*enc).error(), Error::invalid_encoding);
    }
    EXPECT_FALSE(ss58_prefix_reserved(42));
}

TEST(Ss58, RoundTripEveryPrefixShape) {
    Bytes key = unhex(kAliceEcdsa);
    for (uint32_t prefix = 0; prefix <= kSs58MaxPrefix; prefix += 97) {
        if (ss58_prefix_reserved(static_cast<uint16_t>(prefix))) continue;
        for (size_t n : {32u, 33u}) {
            auto enc = ss58_encode(ByteSpan(key).first(n), static_cast<uint16_t>(prefix));
            ASSERT_TRUE(enc.ok());
            auto dec = ss58_decode(*enc);
            ASSERT_TRUE(dec.ok()) << *enc;
            EXPECT_EQ(dec->prefix, prefix);
            EXPECT_EQ(dec->key.size(), n);
        }
    }
}
