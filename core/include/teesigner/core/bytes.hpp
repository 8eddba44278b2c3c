// Byte containers and helpers shared by the whole core.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "teesigner/core/result.hpp"

namespace teesigner::core {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;
template <size_t N>
using ByteArray = std::array<uint8_t, N>;

using Hash256 = ByteArray<32>;

/// View a string's characters as bytes (no copy).
inline ByteSpan as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// A signature's bytes and a public key's bytes, as every verify function
/// takes them (in the order signature, message, public key): distinct types
/// with explicit constructors, so that a call passing the two the wrong way
/// round does not compile. Views: no copy, no size check (verify checks).
struct SignatureBytes {
    explicit SignatureBytes(ByteSpan b) noexcept : bytes(b) {}
    ByteSpan bytes;
};
struct PublicKeyBytes {
    explicit PublicKeyBytes(ByteSpan b) noexcept : bytes(b) {}
    ByteSpan bytes;
};

/// Lower-case hex with a "0x" prefix, as Substrate tools print it.
///
/// The one hex convention: what the signer prints or accepts on its
/// interfaces (JSON-RPC, CLI, logs, documents) is to_hex(data), with "0x";
/// bare hex is to_hex(data, false), only where a stored or external format
/// wants it (the protection database's columns, test vectors). Local helpers
/// named hex() exist only in tests, where they convert test vectors.
std::string to_hex(ByteSpan data, bool prefix = true);

/// Decode hex; accepts an optional "0x" prefix, either case. Odd length or a
/// non-hex digit is Error::invalid_encoding.
Result<Bytes> from_hex(std::string_view hex);

/// Decode hex into exactly N bytes (Error::invalid_length otherwise).
template <size_t N>
Result<ByteArray<N>> from_hex_fixed(std::string_view hex) {
    auto bytes = from_hex(hex);
    if (!bytes) return bytes.error();
    if (bytes->size() != N) return Error::invalid_length;
    ByteArray<N> out{};
    for (size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
    return out;
}

/// Constant-time equality of two equal-length buffers (false if lengths differ).
bool constant_time_equal(ByteSpan a, ByteSpan b) noexcept;

}  // namespace teesigner::core
