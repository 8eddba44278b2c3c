// SCALE codec. Expected encodings come from implementations we did not write:
//  - compact integers: @polkadot/util compactToU8a (values listed below), which
//    also match the examples in the parity-scale-codec README (0 -> 00, 1 -> 04,
//    42 -> a8, 69 -> 1501, 65535 -> feff0300, 100000000000000 -> 0b00407a10f35a);
//  - composite types: @polkadot/types createType(...).toU8a() for Option<u32>,
//    Vec<u32>, Text, Bytes, (u8, u16, u64, bool), u128, Compact<u128>, Vec<Text>,
//    and OptionBool;
//  - rejected encodings: the canonical-form rules of parity-scale-codec's
//    Compact<u32>/Compact<u64>/Compact<u128> decoders ("out of range" errors).
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hex_helpers.hpp"
#include "teesigner/core/scale.hpp"

using namespace teesigner::core;
using namespace teesigner::core::test;
using scale::Decoder;
using scale::Encoder;
using scale::U128;

namespace {

struct CompactVector {
    uint64_t value;
    const char* encoded;
};

// @polkadot/util compactToU8a(BigInt(value)).
const CompactVector kCompactVectors[] = {
    {0, "00"},
    {1, "04"},
    {42, "a8"},
    {63, "fc"},
    {64, "0101"},
    {69, "1501"},
    {16383, "fdff"},
    {16384, "02000100"},
    {65535, "feff0300"},
    {1073741823, "feffffff"},
    {1073741824, "0300000040"},
    {4294967295, "03ffffffff"},
    {4294967296, "070000000001"},
    {100000000000000, "0b00407a10f35a"},
    {18446744073709551615ull, "13ffffffffffffffff"},
};

}  // namespace

TEST(ScaleCompact, KnownVectorsEncode) {
    for (const auto& v : kCompactVectors) {
        EXPECT_EQ(hex(scale::encode_compact(v.value)), v.encoded) << v.value;
        EXPECT_EQ(scale::compact_size(v.value), std::string(v.encoded).size() / 2) << v.value;
    }
}

TEST(ScaleCompact, KnownVectorsDecode) {
    for (const auto& v : kCompactVectors) {
        Bytes enc = unhex(v.encoded);
        Decoder d(enc);
        auto r = d.compact_u64();
        ASSERT_TRUE(r.ok()) << v.encoded;
        EXPECT_EQ(*r, v.value);
        EXPECT_EQ(d.finish(), Error::ok);
        Decoder d128(enc);
        auto r128 = d128.compact_u128();
        ASSERT_TRUE(r128.ok());
        EXPECT_EQ(r128->lo, v.value);
        EXPECT_EQ(r128->hi, 0u);
        Decoder d32(enc);
        auto r32 = d32.compact_u32();
        EXPECT_EQ(r32.ok(), v.value <= 0xffffffffu) << v.encoded;
        if (r32.ok()) {
            EXPECT_EQ(*r32, v.value);
        }
    }
}

TEST(ScaleCompact, U128Vectors) {
    // compactToU8a(2^64) and compactToU8a(2^128 - 1); Compact<u128> of
    // 0x0102030405060708090a0b0c0d0e0f10 from @polkadot/types.
    struct {
        U128 value;
        const char* encoded;
    } vectors[] = {
        {{0, 1}, "17000000000000000001"},
        {{~0ull, ~0ull}, "33ffffffffffffffffffffffffffffffff"},
        {{0x090a0b0c0d0e0f10ull, 0x0102030405060708ull}, "33100f0e0d0c0b0a090807060504030201"},
        {{5, 0}, "14"},
    };
    for (const auto& v : vectors) {
        Encoder e;
        e.compact(v.value);
        EXPECT_EQ(hex(e.bytes()), v.encoded);
        EXPECT_EQ(scale::compact_size(v.value), e.bytes().size());
        Decoder d(e.bytes());
        auto r = d.compact_u128();
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(*r, v.value);
        EXPECT_TRUE(d.empty());
    }
    // Too big for Compact<u64>.
    Bytes big = unhex("17000000000000000001");
    Decoder d(big);
    EXPECT_EQ(d.compact_u64().error(), Error::invalid_encoding);
}

TEST(ScaleCompact, RoundTripAcrossBoundaries) {
    std::vector<uint64_t> values;
    for (int bit = 0; bit < 64; ++bit) {
        const uint64_t p = 1ull << bit;
        values.push_back(p - 1);
        values.push_back(p);
        values.push_back(p + 1);
    }
    values.push_back(~0ull);
    for (uint64_t v : values) {
        Bytes enc = scale::encode_compact(v);
        Decoder d(enc);
        auto r = d.compact_u64();
        ASSERT_TRUE(r.ok()) << v;
        EXPECT_EQ(*r, v);
        EXPECT_TRUE(d.empty());
    }
}

TEST(ScaleCompact, RejectsNonCanonical) {
    const char* bad[] = {
        "0100",                // 0 in two-byte mode
        "fd00",                // 63 in two-byte mode
        "02000000",            // 0 in four-byte mode
        "feff0000",            // 16383 in four-byte mode
        "0300000000",          // 0 in big-integer mode
        "03ffffff3f",          // 2^30 - 1 in big-integer mode
        "070000000000",        // five bytes with a zero top byte
        "07ffffffff00",        // 2^32 - 1 in five bytes
        "13ffffffffffffff00",  // eight bytes with a zero top byte
    };
    for (const char* h : bad) {
        Bytes enc = unhex(h);
        Decoder d(enc);
        EXPECT_EQ(d.compact_u64().error(), Error::invalid_encoding) << h;
        Decoder d128(enc);
        EXPECT_EQ(d128.compact_u128().error(), Error::invalid_encoding) << h;
    }
    // Compact<u32> allows only exactly four bytes in big-integer mode.
    Bytes five = unhex("070000000001");
    Decoder d(five);
    EXPECT_EQ(d.compact_u32().error(), Error::invalid_encoding);
    // Big-integer mode announcing 17 bytes is invalid for every width.
    Bytes huge = unhex(
        "37"
        "0000000000000000000000000000000001");
    Decoder d128(huge);
    EXPECT_EQ(d128.compact_u128().error(), Error::invalid_encoding);
}

TEST(ScaleCompact, RejectsTruncation) {
    const char* truncated[] = {"", "01", "020001", "03ffffff", "0b00407a10f3", "13ffffffffffffff"};
    for (const char* h : truncated) {
        Bytes enc = unhex(h);
        Decoder d(enc);
        EXPECT_EQ(d.compact_u64().error(), Error::invalid_encoding) << h;
    }
}

TEST(ScaleFixed, IntegersLittleEndian) {
    Encoder e;
    e.u8(0x01).u16(0x1234).u32(0x12345678).u64(0x0102030405060708ull);
    e.u128({0x090a0b0c0d0e0f10ull, 0x0102030405060708ull});
    // u32 0x12345678 -> 78563412 and u128 from @polkadot/types.
    EXPECT_EQ(hex(e.bytes()),
              "01"
              "3412"
              "78563412"
              "0807060504030201"
              "100f0e0d0c0b0a090807060504030201");
    Decoder d(e.bytes());
    EXPECT_EQ(*d.u8(), 0x01);
    EXPECT_EQ(*d.u16(), 0x1234);
    EXPECT_EQ(*d.u32(), 0x12345678u);
    EXPECT_EQ(*d.u64(), 0x0102030405060708ull);
    EXPECT_EQ(*d.u128(), (U128{0x090a0b0c0d0e0f10ull, 0x0102030405060708ull}));
    EXPECT_EQ(d.finish(), Error::ok);
    EXPECT_EQ(d.u8().error(), Error::invalid_encoding);
}

TEST(ScaleFixed, TruncatedIntegersFail) {
    Bytes three = unhex("010203");
    Decoder d(three);
    EXPECT_EQ(d.u32().error(), Error::invalid_encoding);
    Decoder d2(three);
    EXPECT_EQ(d2.u64().error(), Error::invalid_encoding);
    Decoder d3(three);
    EXPECT_EQ(d3.u128().error(), Error::invalid_encoding);
    Decoder d4(ByteSpan{});
    EXPECT_EQ(d4.u16().error(), Error::invalid_encoding);
}

TEST(ScaleFixed, Bool) {
    Encoder e;
    e.boolean(true).boolean(false);
    EXPECT_EQ(hex(e.bytes()), "0100");
    Bytes ok = unhex("0100");
    Decoder d(ok);
    EXPECT_TRUE(*d.boolean());
    EXPECT_FALSE(*d.boolean());
    Bytes bad = unhex("02");
    Decoder d2(bad);
    EXPECT_EQ(d2.boolean().error(), Error::invalid_encoding);
}

TEST(ScaleTuple, IsFieldsInOrder) {
    // (u8, u16, u64, bool) = (1, 0x1234, 0x0102030405060708, true) from @polkadot/types.
    Encoder e;
    e.u8(1).u16(0x1234).u64(0x0102030405060708ull).boolean(true);
    EXPECT_EQ(hex(e.bytes()), "013412080706050403020101");
}

TEST(ScaleBytes, VecU8AndString) {
    Encoder e;
    e.bytes(unhex("0102ff"));
    EXPECT_EQ(hex(e.bytes()), "0c0102ff");  // @polkadot/types Bytes
    Encoder s;
    s.str("Alice");
    EXPECT_EQ(hex(s.bytes()), "14416c696365");  // @polkadot/types Text
    Encoder u;
    u.str("h\xc3\xa9llo");
    EXPECT_EQ(hex(u.bytes()), "1868c3a96c6c6f");  // Text "héllo"

    Decoder d(u.bytes());
    auto str = d.str();
    ASSERT_TRUE(str.ok());
    EXPECT_EQ(*str, "h\xc3\xa9llo");
    EXPECT_TRUE(d.empty());

    Decoder db(e.bytes());
    auto b = db.bytes();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(hex(*b), "0102ff");
}

TEST(ScaleBytes, LongVecUsesMultiByteLength) {
    Bytes payload(300, 0xab);
    Encoder e;
    e.bytes(payload);
    EXPECT_EQ(hex(ByteSpan(e.bytes()).first(2)), "b104");  // compact 300
    Decoder d(e.bytes());
    auto b = d.bytes_view();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->size(), 300u);
    EXPECT_TRUE(d.empty());
}

TEST(ScaleBytes, RejectsInvalidUtf8) {
    const char* bad[] = {
        "04ff",        // invalid lead byte
        "08c328",      // bad continuation
        "08c0af",      // overlong '/'
        "0ceda080",    // surrogate U+D800
        "10f4908080",  // above U+10FFFF
        "08e282",      // truncated three-byte sequence
    };
    for (const char* h : bad) {
        Bytes enc = unhex(h);
        Decoder d(enc);
        EXPECT_EQ(d.str().error(), Error::invalid_encoding) << h;
    }
}

TEST(ScaleBytes, HugeLengthsFailBeforeAllocating) {
    // A length of 2^60 is not a valid Compact<u32> at all.
    Bytes enc = scale::encode_compact(1ull << 60);
    enc.push_back(0);
    Decoder d(enc);
    EXPECT_EQ(d.bytes().error(), Error::invalid_encoding);
    // A valid Compact<u32> length of 2^32 - 1 with three bytes behind it.
    Bytes enc2 = unhex("03ffffffff010203");
    Decoder d2(enc2);
    EXPECT_EQ(d2.bytes().error(), Error::invalid_encoding);
    Decoder d3(enc2);
    auto v = d3.vec<uint32_t>([](Decoder& x) { return x.u32(); }, 4);
    EXPECT_EQ(v.error(), Error::invalid_encoding);
    // Declared length one more than the data.
    Bytes enc3 = unhex("0c0102");
    Decoder d4(enc3);
    EXPECT_EQ(d4.bytes().error(), Error::invalid_encoding);
    // Items of at least 4 bytes: 2 items need 8 bytes, 7 are present.
    Bytes enc4 = unhex(
        "08"
        "01000000"
        "020000");
    Decoder d5(enc4);
    EXPECT_EQ(d5.length_prefix(4).error(), Error::invalid_encoding);
}

TEST(ScaleVec, GenericVectors) {
    std::vector<uint32_t> items = {1, 2, 0xdeadbeef};
    Encoder e;
    e.vec(items, [](Encoder& x, uint32_t v) { x.u32(v); });
    EXPECT_EQ(hex(e.bytes()), "0c0100000002000000efbeadde");  // @polkadot/types Vec<u32>
    Decoder d(e.bytes());
    auto back = d.vec<uint32_t>([](Decoder& x) { return x.u32(); }, 4);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, items);
    EXPECT_TRUE(d.empty());

    std::vector<std::string> texts = {"a", "bc"};
    Encoder t;
    t.vec(texts, [](Encoder& x, const std::string& s) { x.str(s); });
    EXPECT_EQ(hex(t.bytes()), "080461086263");  // @polkadot/types Vec<Text>
    Decoder dt(t.bytes());
    auto tb = dt.vec<std::string>([](Decoder& x) { return x.str(); });
    ASSERT_TRUE(tb.ok());
    EXPECT_EQ(*tb, texts);

    // An item failing part-way fails the whole vector.
    Bytes trunc = unhex("0c01000000020000");
    Decoder dtr(trunc);
    EXPECT_EQ(dtr.vec<uint32_t>([](Decoder& x) { return x.u32(); }).error(),
              Error::invalid_encoding);
}

TEST(ScaleOption, GenericOption) {
    Encoder e;
    e.option(std::optional<uint32_t>{7}, [](Encoder& x, uint32_t v) { x.u32(v); });
    EXPECT_EQ(hex(e.bytes()), "0107000000");  // @polkadot/types Option<u32> 7
    Encoder n;
    n.option(std::optional<uint32_t>{}, [](Encoder& x, uint32_t v) { x.u32(v); });
    EXPECT_EQ(hex(n.bytes()), "00");

    Decoder d(e.bytes());
    auto v = d.option<uint32_t>([](Decoder& x) { return x.u32(); });
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ(**v, 7u);
    Decoder dn(n.bytes());
    auto vn = dn.option<uint32_t>([](Decoder& x) { return x.u32(); });
    ASSERT_TRUE(vn.ok());
    EXPECT_FALSE(vn->has_value());

    Bytes bad = unhex("0207000000");
    Decoder db(bad);
    EXPECT_EQ(db.option<uint32_t>([](Decoder& x) { return x.u32(); }).error(),
              Error::invalid_encoding);
    Bytes trunc = unhex("010700");
    Decoder dt(trunc);
    EXPECT_EQ(dt.option<uint32_t>([](Decoder& x) { return x.u32(); }).error(),
              Error::invalid_encoding);
}

TEST(ScaleOption, PlainOptionBoolAndOptionBoolShim) {
    // Generic Option<bool> from @polkadot/types: 00, 0101, 0100.
    auto enc_bool = [](Encoder& x, bool b) { x.boolean(b); };
    Encoder g;
    g.option(std::optional<bool>{}, enc_bool)
        .option(std::optional<bool>{true}, enc_bool)
        .option(std::optional<bool>{false}, enc_bool);
    EXPECT_EQ(hex(g.bytes()), "0001010100");
    // OptionBool from @polkadot/types: 00, 01, 02.
    Encoder s;
    s.option_bool(std::nullopt).option_bool(true).option_bool(false);
    EXPECT_EQ(hex(s.bytes()), "000102");
    Decoder d(s.bytes());
    EXPECT_EQ(*d.option_bool(), std::nullopt);
    EXPECT_EQ(*d.option_bool(), std::optional<bool>{true});
    EXPECT_EQ(*d.option_bool(), std::optional<bool>{false});
    Bytes bad = unhex("03");
    Decoder db(bad);
    EXPECT_EQ(db.option_bool().error(), Error::invalid_encoding);
}

TEST(ScaleEnum, TagIsBoundedByVariantCount) {
    // GRANDPA-like enum { Prevote(u32), Precommit(u32) }.
    Encoder e;
    e.enum_tag(1).u32(5);
    EXPECT_EQ(hex(e.bytes()), "0105000000");
    Decoder d(e.bytes());
    auto tag = d.enum_tag(2);
    ASSERT_TRUE(tag.ok());
    EXPECT_EQ(*tag, 1);
    EXPECT_EQ(*d.u32(), 5u);
    Bytes bad = unhex("02");
    Decoder db(bad);
    EXPECT_EQ(db.enum_tag(2).error(), Error::invalid_encoding);
}

TEST(ScaleDecoder, FinishRejectsTrailingBytes) {
    Bytes enc = unhex("0400");
    Decoder d(enc);
    EXPECT_EQ(*d.compact_u64(), 1u);
    EXPECT_EQ(d.finish(), Error::invalid_encoding);
    EXPECT_EQ(d.remaining(), 1u);
}

TEST(ScaleDecoder, FixedArraysAndRawViews) {
    Bytes enc = unhex("000102030405");
    Decoder d(enc);
    auto a = d.array<4>();
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(hex(*a), "00010203");
    EXPECT_EQ(d.array<4>().error(), Error::invalid_encoding);
    Decoder d2(enc);
    auto r = d2.raw(6);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->data(), enc.data());  // a view, not a copy
    EXPECT_EQ(d2.raw(1).error(), Error::invalid_encoding);
}

TEST(ScaleDecoder, RandomInputNeverReadsOutOfBounds) {
    // Every decoder entry point on every prefix of some fixed noisy bytes: each
    // call either decodes and moves forward, or fails with invalid_encoding;
    // the position never passes the end of the span (and ASan builds check
    // that no byte outside it is touched).
    Bytes noise = unhex("ff13fffffffffffffffe03ffffffff0b00407a10f35a33ff0102c0af");
    size_t decoded = 0, refused = 0;
    for (size_t len = 0; len <= noise.size(); ++len) {
        Bytes prefix(noise.begin(), noise.begin() + static_cast<std::ptrdiff_t>(len));
        for (int which = 0; which < 8; ++which) {
            Decoder d(prefix);
            while (!d.empty()) {
                const size_t before = d.position();
                Error e = Error::ok;
                switch (which) {
                    case 0:
                        e = d.compact_u64().error();
                        break;
                    case 1:
                        e = d.compact_u128().error();
                        break;
                    case 2:
                        e = d.compact_u32().error();
                        break;
                    case 3:
                        e = d.bytes().error();
                        break;
                    case 4:
                        e = d.str().error();
                        break;
                    case 5:
                        e = d.option_bool().error();
                        break;
                    case 6:
                        e = d.u128().error();
                        break;
                    default:
                        e = d.vec<uint64_t>([](Decoder& x) { return x.u64(); }, 8).error();
                        break;
                }
                ASSERT_LE(d.position(), prefix.size()) << "len " << len << ", entry " << which;
                if (e != Error::ok) {
                    EXPECT_EQ(e, Error::invalid_encoding) << "len " << len << ", entry " << which;
                    ++refused;
                    break;
                }
                ASSERT_GT(d.position(), before) << "len " << len << ", entry " << which;
                ++decoded;
            }
        }
    }
    // Both outcomes occur over the noise.
    EXPECT_GT(decoded, 0u);
    EXPECT_GT(refused, 0u);
}
