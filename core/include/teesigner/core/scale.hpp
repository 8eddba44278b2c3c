// SCALE codec, bit-compatible with parity-scale-codec (the encoding of every
// Substrate payload we sign or decode).
//
// Encoding is infallible and appends to a byte buffer. Decoding reads from a
// ByteSpan, never past its end, and reports every truncated, out-of-range or
// non-canonical input as Error::invalid_encoding, exactly where
// parity-scale-codec would refuse it:
//  - bool accepts only 0 and 1;
//  - compact integers must use the shortest mode and the fewest bytes;
//  - lengths of vectors, byte strings and strings are Compact<u32>, as in
//    parity-scale-codec, and are checked against the remaining input before
//    anything is allocated;
//  - strings must be valid UTF-8.
// Composite types are encoded field after field: a tuple or struct is its
// fields in order, an enum is a u8 variant index followed by the variant's
// fields, Option<T> is a 0/1 tag followed by T when present.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"

namespace teesigner::core {

/// True when `data` is well-formed UTF-8 (no overlongs, surrogates or code
/// points above U+10FFFF), i.e. what Rust accepts as a `str`.
bool valid_utf8(ByteSpan data) noexcept;

namespace scale {

/// An unsigned 128-bit integer (Substrate balances), as two 64-bit halves.
struct U128 {
    uint64_t lo = 0;
    uint64_t hi = 0;
    friend bool operator==(const U128&, const U128&) = default;
};

/// Number of bytes the compact encoding of `value` takes (1, 2, 4 or 5..9).
size_t compact_size(uint64_t value) noexcept;
/// Number of bytes the compact encoding of `value` takes (1, 2, 4 or 5..17).
size_t compact_size(U128 value) noexcept;

/// Appends SCALE encodings to an owned buffer. Every method returns *this so
/// calls can be chained.
class Encoder {
  public:
    Encoder() = default;
    /// Continue appending to an existing buffer.
    explicit Encoder(Bytes initial) : out_(std::move(initial)) {}

    const Bytes& bytes() const noexcept { return out_; }
    /// Move the encoded bytes out; the encoder is empty afterwards.
    Bytes take() noexcept { return std::move(out_); }

    // Fixed-width little-endian integers.
    Encoder& u8(uint8_t v);
    Encoder& u16(uint16_t v);
    Encoder& u32(uint32_t v);
    Encoder& u64(uint64_t v);
    Encoder& u128(U128 v);
    /// bool: one byte, 0 or 1.
    Encoder& boolean(bool v);

    /// Compact<u8..u64> (all share one encoding for a given value).
    Encoder& compact(uint64_t v);
    /// Compact<u128>.
    Encoder& compact(U128 v);

    /// Raw bytes without a length: fixed-size arrays ([u8; N], H256, keys).
    Encoder& raw(ByteSpan data);
    /// Vec<u8> / &[u8]: compact length, then the bytes.
    Encoder& bytes(ByteSpan data);
    /// String / &str: compact byte length, then the UTF-8 bytes (not validated).
    Encoder& str(std::string_view s);

    /// Enum variant index (the variant's fields follow).
    Encoder& enum_tag(uint8_t index) { return u8(index); }
    /// Option<T> tags: None is 0; Some is 1 followed by the value.
    Encoder& none() { return u8(0); }
    Encoder& some() { return u8(1); }
    /// parity-scale-codec's OptionBool shim: one byte, None 0, Some(true) 1,
    /// Some(false) 2. (A plain Rust Option<bool> is option() + boolean():
    /// 00, 01 01, 01 00.)
    Encoder& option_bool(std::optional<bool> v);

    /// Option<T>: `encode_value(Encoder&, const T&)` writes the value.
    template <class T, class F>
    Encoder& option(const std::optional<T>& v, F&& encode_value) {
        if (!v) return none();
        some();
        encode_value(*this, *v);
        return *this;
    }

    /// Vec<T> (or any sized range): compact length, then each element via
    /// `encode_item(Encoder&, const T&)`.
    template <class Range, class F>
    Encoder& vec(const Range& items, F&& encode_item) {
        compact(static_cast<uint64_t>(std::size(items)));
        for (const auto& item : items) encode_item(*this, item);
        return *this;
    }

  private:
    Bytes out_;
};

/// Reads SCALE values from a borrowed buffer. A failed read leaves the
/// position unspecified; callers stop at the first error.
class Decoder {
  public:
    explicit Decoder(ByteSpan data) noexcept : data_(data) {}

    size_t remaining() const noexcept { return data_.size() - pos_; }
    bool empty() const noexcept { return remaining() == 0; }
    size_t position() const noexcept { return pos_; }
    /// Error::invalid_encoding unless every byte was consumed (parity's
    /// DecodeAll).
    Error finish() const noexcept { return empty() ? Error::ok : Error::invalid_encoding; }

    Result<uint8_t> u8() noexcept;
    Result<uint16_t> u16() noexcept;
    Result<uint32_t> u32() noexcept;
    Result<uint64_t> u64() noexcept;
    Result<U128> u128() noexcept;
    /// bool: only 0 and 1 are accepted.
    Result<bool> boolean() noexcept;

    /// Compact<u64>: canonical encodings of values up to 2^64-1.
    Result<uint64_t> compact_u64() noexcept;
    /// Compact<u32>: like compact_u64 but the big-integer mode is limited to
    /// exactly four bytes, as parity-scale-codec's Compact<u32>.
    Result<uint32_t> compact_u32() noexcept;
    /// Compact<u128>.
    Result<U128> compact_u128() noexcept;

    /// The next `n` bytes as a view into the input (no copy).
    Result<ByteSpan> raw(size_t n) noexcept;
    /// A fixed-size array [u8; N].
    template <size_t N>
    Result<ByteArray<N>> array() noexcept {
        auto view = raw(N);
        if (!view) return view.error();
        ByteArray<N> out{};
        for (size_t i = 0; i < N; ++i) out[i] = (*view)[i];
        return out;
    }
    /// Vec<u8> as a view into the input (compact length, then the bytes).
    Result<ByteSpan> bytes_view() noexcept;
    /// Vec<u8>, copied.
    Result<Bytes> bytes();
    /// String: Vec<u8> that must be valid UTF-8.
    Result<std::string> str();

    /// A vector length prefix (Compact<u32>), checked so that `len` items of at
    /// least `min_item_size` bytes each fit in the remaining input. Use it
    /// before reserving memory for the items.
    Result<size_t> length_prefix(size_t min_item_size = 1) noexcept;

    /// Enum variant index: a u8 that must be below `variant_count`.
    Result<uint8_t> enum_tag(uint8_t variant_count) noexcept;
    /// Option<T> tag: false for None (0), true for Some (1); anything else fails.
    Result<bool> option_tag() noexcept;
    /// OptionBool (see Encoder::option_bool): 0 None, 1 Some(true), 2 Some(false).
    Result<std::optional<bool>> option_bool() noexcept;

    /// Option<T>: `decode_value(Decoder&)` returns Result<T>.
    template <class T, class F>
    Result<std::optional<T>> option(F&& decode_value) {
        auto tag = option_tag();
        if (!tag) return tag.error();
        if (!*tag) return std::optional<T>{};
        Result<T> value = decode_value(*this);
        if (!value) return value.error();
        return std::optional<T>{std::move(value).value()};
    }

    /// Vec<T>: `decode_item(Decoder&)` returns Result<T>. `min_item_size` (at
    /// least 1) is a lower bound on one encoded item, used to refuse absurd
    /// lengths before allocating.
    template <class T, class F>
    Result<std::vector<T>> vec(F&& decode_item, size_t min_item_size = 1) {
        auto len = length_prefix(min_item_size);
        if (!len) return len.error();
        std::vector<T> items;
        items.reserve(*len);
        for (size_t i = 0; i < *len; ++i) {
            Result<T> item = decode_item(*this);
            if (!item) return item.error();
            items.push_back(std::move(item).value());
        }
        return items;
    }

  private:
    ByteSpan data_;
    size_t pos_ = 0;
};

/// Encode a single compact integer.
Bytes encode_compact(uint64_t value);

}  // namespace scale
}  // namespace teesigner::core
