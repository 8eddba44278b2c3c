// Keccak-f[1600] permutation and Keccak-256 (the original Keccak padding used
// by Ethereum and BEEFY, not NIST SHA3-256).
#pragma once

#include <cstdint>

#include "teesigner/core/bytes.hpp"

namespace teesigner::core {

/// Apply the 24-round Keccak-f[1600] permutation to a 200-byte state, viewed
/// as 25 little-endian 64-bit lanes.
void keccak_f1600(uint8_t state[200]) noexcept;

/// Keccak-256 (rate 136, domain padding 0x01).
Hash256 keccak_256(ByteSpan data) noexcept;

}  // namespace teesigner::core
