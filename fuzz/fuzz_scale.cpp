// SCALE decoders: every input is read as a sequence of (type selector, value)
// pairs. Each value that decodes is encoded again and must reproduce exactly
// the bytes it was decoded from (the decoder accepts canonical encodings only),
// and compact_size must agree with the encoder.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "teesigner/core/scale.hpp"

using namespace teesigner::core;
using namespace teesigner::core::scale;
using teesigner::fuzz::Input;

namespace {

struct Inner {
    uint64_t index;
    std::optional<std::string> name;
};

// Decode one value of type `sel` and append its re-encoding to `out`.
// False when the input does not decode.
bool roundtrip_one(uint8_t sel, Decoder& d, Encoder& out) {
    switch (sel % 20) {
        case 0: {
            auto v = d.u8();
            if (!v) return false;
            out.u8(*v);
            return true;
        }
        case 1: {
            auto v = d.u16();
            if (!v) return false;
            out.u16(*v);
            return true;
        }
        case 2: {
            auto v = d.u32();
            if (!v) return false;
            out.u32(*v);
            return true;
        }
        case 3: {
            auto v = d.u64();
            if (!v) return false;
            out.u64(*v);
            return true;
        }
        case 4: {
            auto v = d.u128();
            if (!v) return false;
            out.u128(*v);
            return true;
        }
        case 5: {
            auto v = d.boolean();
            if (!v) return false;
            out.boolean(*v);
            return true;
        }
        case 6: {
            size_t start = out.bytes().size();
            auto v = d.compact_u64();
            if (!v) return false;
            out.compact(*v);
            TS_FUZZ_CHECK(out.bytes().size() - start == compact_size(*v));
            return true;
        }
        case 7: {
            auto v = d.compact_u32();
            if (!v) return false;
            out.compact(uint64_t{*v});
            return true;
        }
        case 8: {
            size_t start = out.bytes().size();
            auto v = d.compact_u128();
            if (!v) return false;
            out.compact(*v);
            TS_FUZZ_CHECK(out.bytes().size() - start == compact_size(*v));
            return true;
        }
        case 9: {
            auto v = d.bytes();
            if (!v) return false;
            out.bytes(*v);
            return true;
        }
        case 10: {
            auto v = d.str();
            if (!v) return false;
            TS_FUZZ_CHECK(valid_utf8(as_bytes(*v)));
            out.str(*v);
            return true;
        }
        case 11: {
            auto v = d.option_bool();
            if (!v) return false;
            out.option_bool(*v);
            return true;
        }
        case 12: {
            auto v = d.option<uint32_t>([](Decoder& x) { return x.u32(); });
            if (!v) return false;
            out.option(*v, [](Encoder& e, uint32_t x) { e.u32(x); });
            return true;
        }
        case 13: {
            auto v = d.vec<uint16_t>([](Decoder& x) { return x.u16(); }, 2);
            if (!v) return false;
            out.vec(*v, [](Encoder& e, uint16_t x) { e.u16(x); });
            return true;
        }
        case 14: {
            auto v = d.vec<Bytes>([](Decoder& x) { return x.bytes(); }, 1);
            if (!v) return false;
            out.vec(*v, [](Encoder& e, const Bytes& x) { e.bytes(x); });
            return true;
        }
        case 15: {
            auto v = d.enum_tag(3);
            if (!v) return false;
            TS_FUZZ_CHECK(*v < 3);
            out.enum_tag(*v);
            return true;
        }
        case 16: {
            auto v = d.array<32>();
            if (!v) return false;
            out.raw(*v);
            return true;
        }
        case 17: {
            // Vec<(Compact<u64>, Option<String>)>: nested composites.
            auto v = d.vec<Inner>(
                [](Decoder& x) -> Result<Inner> {
                    auto i = x.compact_u64();
                    if (!i) return i.error();
                    auto n = x.option<std::string>([](Decoder& y) { return y.str(); });
                    if (!n) return n.error();
                    return Inner{*i, std::move(n).value()};
                },
                2);
            if (!v) return false;
            out.vec(*v, [](Encoder& e, const Inner& x) {
                e.compact(x.index);
                e.option(x.name, [](Encoder& f, const std::string& s) { f.str(s); });
            });
            return true;
        }
        case 18: {
            auto v = d.option_tag();
            if (!v) return false;
            if (*v)
                out.some();
            else
                out.none();
            return true;
        }
        default: {
            // A length prefix for items of at least k bytes, as a bare compact.
            auto v = d.length_prefix(1 + sel / 20);
            if (!v) return false;
            TS_FUZZ_CHECK(*v * (1 + sel / 20) <= d.remaining());
            out.compact(uint64_t{*v});
            return true;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    // Selectors come first (up to 8), the SCALE stream after them.
    size_t n = in.u8() % 9;
    std::vector<uint8_t> sels;
    for (size_t i = 0; i < n; ++i) sels.push_back(in.u8());
    ByteSpan stream = in.rest();
    Decoder d(stream);
    for (uint8_t sel : sels) {
        size_t start = d.position();
        Encoder out;
        if (!roundtrip_one(sel, d, out)) break;
        ByteSpan consumed = stream.subspan(start, d.position() - start);
        TS_FUZZ_CHECK(out.bytes().size() == consumed.size());
        TS_FUZZ_CHECK(std::equal(consumed.begin(), consumed.end(), out.bytes().begin()));
    }
    // Every compact the encoder writes decodes back (both widths).
    if (stream.size() >= 8) {
        uint64_t v = 0;
        for (size_t i = 0; i < 8; ++i) v |= uint64_t{stream[i]} << (8 * i);
        v >>= (stream[0] & 63);
        Bytes enc = encode_compact(v);
        Decoder back(enc);
        auto got = back.compact_u64();
        TS_FUZZ_CHECK(got && *got == v && back.finish() == Error::ok);
        Decoder back32(enc);
        auto got32 = back32.compact_u32();
        TS_FUZZ_CHECK(got32.ok() == (v <= UINT32_MAX));
        if (got32) TS_FUZZ_CHECK(*got32 == v);
    }
    return 0;
}
