// The core never calls the OS for randomness: the embedding (host, soft TEE,
// OP-TEE TA) installs a source. On the host it is libsodium's randombytes; in a
// TA it is TEE_GenerateRandom.
#pragma once

#include <cstddef>
#include <cstdint>

namespace teesigner::core {

using RandomSource = void (*)(uint8_t* out, size_t len);

/// Install the process-wide random source. Must be called before any key
/// generation or signing; the default source aborts via a trap, so a missing
/// installation can never silently yield predictable nonces.
void set_random_source(RandomSource source) noexcept;

/// Fill `out` with random bytes from the installed source.
void random_bytes(uint8_t* out, size_t len) noexcept;

}  // namespace teesigner::core
