// Hash functions used across Substrate: BLAKE2b (via libsodium) and SHA-512.
#pragma once

#include "teesigner/core/bytes.hpp"

namespace teesigner::core {

/// BLAKE2b with a 32-byte digest (Substrate's blake2_256).
Hash256 blake2b_256(ByteSpan data) noexcept;
/// BLAKE2b with a 16-byte digest (Substrate's blake2_128).
ByteArray<16> blake2b_128(ByteSpan data) noexcept;
/// BLAKE2b with a 64-byte digest (used by SS58 checksums).
ByteArray<64> blake2b_512(ByteSpan data) noexcept;
/// SHA-512.
ByteArray<64> sha512(ByteSpan data) noexcept;

}  // namespace teesigner::core
