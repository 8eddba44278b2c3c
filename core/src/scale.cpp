#include "teesigner/core/scale.hpp"

namespace teesigner::core {

bool valid_utf8(ByteSpan data) noexcept {
    size_t i = 0;
    const size_t n = data.size();
    while (i < n) {
        const uint8_t c = data[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t extra;
        uint32_t cp;
        uint32_t min;
        if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;  // continuation byte or 0xf8..0xff as a lead byte
        }
        if (n - i <= extra) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const uint8_t cc = data[i + k];
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

namespace scale {

namespace {

// Bytes needed to hold `v` in little-endian with no trailing zero byte (>= 1).
size_t significant_bytes(uint64_t v) noexcept {
    size_t n = 1;
    while (n < 8 && (v >> (8 * n)) != 0) ++n;
    return n;
}

size_t significant_bytes(U128 v) noexcept {
    return v.hi != 0 ? 8 + significant_bytes(v.hi) : significant_bytes(v.lo);
}

// The byte at little-endian position i (0..15) of a 128-bit value.
uint8_t byte_at(U128 v, size_t i) noexcept {
    return static_cast<uint8_t>(i < 8 ? v.lo >> (8 * i) : v.hi >> (8 * (i - 8)));
}

constexpr uint64_t kMaxSingle = (1u << 6) - 1;   // mode 0b00
constexpr uint64_t kMaxTwo = (1u << 14) - 1;     // mode 0b01
constexpr uint64_t kMaxFour = (1ull << 30) - 1;  // mode 0b10

}  // namespace

size_t compact_size(uint64_t value) noexcept {
    if (value <= kMaxSingle) return 1;
    if (value <= kMaxTwo) return 2;
    if (value <= kMaxFour) return 4;
    const size_t n = significant_bytes(value);
    return 1 + (n < 4 ? 4 : n);
}

size_t compact_size(U128 value) noexcept {
    if (value.hi == 0) return compact_size(value.lo);
    return 1 + significant_bytes(value);
}

// ---- Encoder ---------------------------------------------------------------

Encoder& Encoder::u8(uint8_t v) {
    out_.push_back(v);
    return *this;
}

Encoder& Encoder::u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v));
    out_.push_back(static_cast<uint8_t>(v >> 8));
    return *this;
}

Encoder& Encoder::u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
}

Encoder& Encoder::u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
}

Encoder& Encoder::u128(U128 v) {
    u64(v.lo);
    return u64(v.hi);
}

Encoder& Encoder::boolean(bool v) {
    return u8(v ? 1 : 0);
}

Encoder& Encoder::compact(uint64_t v) {
    if (v <= kMaxSingle) return u8(static_cast<uint8_t>(v << 2));
    if (v <= kMaxTwo) return u16(static_cast<uint16_t>((v << 2) | 0b01));
    if (v <= kMaxFour) return u32(static_cast<uint32_t>((v << 2) | 0b10));
    // Big-integer mode: the prefix's upper six bits hold (byte count - 4).
    size_t n = significant_bytes(v);
    if (n < 4) n = 4;
    u8(static_cast<uint8_t>(((n - 4) << 2) | 0b11));
    for (size_t i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
}

Encoder& Encoder::compact(U128 v) {
    if (v.hi == 0) return compact(v.lo);
    const size_t n = significant_bytes(v);  // 9..16
    u8(static_cast<uint8_t>(((n - 4) << 2) | 0b11));
    for (size_t i = 0; i < n; ++i) out_.push_back(byte_at(v, i));
    return *this;
}

Encoder& Encoder::raw(ByteSpan data) {
    out_.insert(out_.end(), data.begin(), data.end());
    return *this;
}

Encoder& Encoder::bytes(ByteSpan data) {
    compact(static_cast<uint64_t>(data.size()));
    return raw(data);
}

Encoder& Encoder::str(std::string_view s) {
    return bytes(as_bytes(s));
}

Encoder& Encoder::option_bool(std::optional<bool> v) {
    if (!v) return u8(0);
    return u8(*v ? 1 : 2);
}

Bytes encode_compact(uint64_t value) {
    Encoder enc;
    enc.compact(value);
    return enc.take();
}

// ---- Decoder ---------------------------------------------------------------

Result<ByteSpan> Decoder::raw(size_t n) noexcept {
    if (n > remaining()) return Error::invalid_encoding;
    ByteSpan view = data_.subspan(pos_, n);
    pos_ += n;
    return view;
}

Result<uint8_t> Decoder::u8() noexcept {
    if (empty()) return Error::invalid_encoding;
    return data_[pos_++];
}

Result<uint16_t> Decoder::u16() noexcept {
    auto b = raw(2);
    if (!b) return b.error();
    return static_cast<uint16_t>((*b)[0] | ((*b)[1] << 8));
}

Result<uint32_t> Decoder::u32() noexcept {
    auto b = raw(4);
    if (!b) return b.error();
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>((*b)[i]) << (8 * i);
    return v;
}

Result<uint64_t> Decoder::u64() noexcept {
    auto b = raw(8);
    if (!b) return b.error();
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v |= static_cast<uint64_t>((*b)[i]) << (8 * i);
    return v;
}

Result<U128> Decoder::u128() noexcept {
    auto lo = u64();
    if (!lo) return lo.error();
    auto hi = u64();
    if (!hi) return hi.error();
    return U128{*lo, *hi};
}

Result<bool> Decoder::boolean() noexcept {
    auto b = u8();
    if (!b) return b.error();
    if (*b > 1) return Error::invalid_encoding;
    return *b == 1;
}

Result<U128> Decoder::compact_u128() noexcept {
    auto first = u8();
    if (!first) return first.error();
    const uint8_t b0 = *first;
    switch (b0 & 0b11) {
        case 0b00:
            return U128{static_cast<uint64_t>(b0 >> 2), 0};
        case 0b01: {
            auto b1 = u8();
            if (!b1) return b1.error();
            const uint64_t v = (static_cast<uint64_t>(b0) | (static_cast<uint64_t>(*b1) << 8)) >> 2;
            if (v <= kMaxSingle) return Error::invalid_encoding;  // not minimal
            return U128{v, 0};
        }
        case 0b10: {
            auto rest = raw(3);
            if (!rest) return rest.error();
            const uint64_t v =
                (static_cast<uint64_t>(b0) | (static_cast<uint64_t>((*rest)[0]) << 8) |
                 (static_cast<uint64_t>((*rest)[1]) << 16) |
                 (static_cast<uint64_t>((*rest)[2]) << 24)) >>
                2;
            if (v <= kMaxTwo) return Error::invalid_encoding;  // not minimal
            return U128{v, 0};
        }
        default: {
            const size_t n = static_cast<size_t>(b0 >> 2) + 4;
            if (n > 16) return Error::invalid_encoding;
            auto body = raw(n);
            if (!body) return body.error();
            U128 v;
            for (size_t i = 0; i < n; ++i) {
                const uint64_t byte = (*body)[i];
                if (i < 8)
                    v.lo |= byte << (8 * i);
                else
                    v.hi |= byte << (8 * (i - 8));
            }
            // Canonical: four bytes only for values that need more than 30
            // bits, otherwise no zero top byte.
            if (n == 4) {
                if (v.lo <= kMaxFour) return Error::invalid_encoding;
            } else if ((*body)[n - 1] == 0) {
                return Error::invalid_encoding;
            }
            return v;
        }
    }
}

Result<uint64_t> Decoder::compact_u64() noexcept {
    // Refuse a big-integer prefix announcing more than 8 bytes before reading
    // the body, as Compact<u64> does.
    if (!empty() && (data_[pos_] & 0b11) == 0b11 && (data_[pos_] >> 2) + 4 > 8)
        return Error::invalid_encoding;
    auto v = compact_u128();
    if (!v) return v.error();
    return v->lo;
}

Result<uint32_t> Decoder::compact_u32() noexcept {
    if (!empty() && (data_[pos_] & 0b11) == 0b11 && (data_[pos_] >> 2) != 0)
        return Error::invalid_encoding;
    auto v = compact_u128();
    if (!v) return v.error();
    return static_cast<uint32_t>(v->lo);
}

Result<size_t> Decoder::length_prefix(size_t min_item_size) noexcept {
    auto len = compact_u32();
    if (!len) return len.error();
    if (min_item_size == 0) min_item_size = 1;
    if (*len > remaining() / min_item_size) return Error::invalid_encoding;
    return static_cast<size_t>(*len);
}

Result<ByteSpan> Decoder::bytes_view() noexcept {
    auto len = length_prefix(1);
    if (!len) return len.error();
    return raw(*len);
}

Result<Bytes> Decoder::bytes() {
    auto view = bytes_view();
    if (!view) return view.error();
    return Bytes(view->begin(), view->end());
}

Result<std::string> Decoder::str() {
    auto view = bytes_view();
    if (!view) return view.error();
    if (!valid_utf8(*view)) return Error::invalid_encoding;
    return std::string(reinterpret_cast<const char*>(view->data()), view->size());
}

Result<uint8_t> Decoder::enum_tag(uint8_t variant_count) noexcept {
    auto tag = u8();
    if (!tag) return tag.error();
    if (*tag >= variant_count) return Error::invalid_encoding;
    return *tag;
}

Result<bool> Decoder::option_tag() noexcept {
    auto tag = u8();
    if (!tag) return tag.error();
    if (*tag > 1) return Error::invalid_encoding;
    return *tag == 1;
}

Result<std::optional<bool>> Decoder::option_bool() noexcept {
    auto tag = u8();
    if (!tag) return tag.error();
    switch (*tag) {
        case 0:
            return std::optional<bool>{};
        case 1:
            return std::optional<bool>{true};
        case 2:
            return std::optional<bool>{false};
        default:
            return Error::invalid_encoding;
    }
}

}  // namespace scale
}  // namespace teesigner::core
