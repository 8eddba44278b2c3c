// Ed25519 (RFC 8032) via libsodium, with Substrate's hard key derivation
// (sp-core ed25519::Pair). Used for GRANDPA session keys.
#pragma once

#include <cstddef>
#include <cstdint>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::ed25519 {

inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kChainCodeSize = 32;

using PublicKey = ByteArray<kPublicKeySize>;
using Signature = ByteArray<kSignatureSize>;

/// An Ed25519 key pair. `secret_key` is libsodium's 64-byte form (seed || public
/// key), wiped on destruction; the 32-byte seed is what Substrate calls the
/// secret seed and what HDKD works on.
struct KeyPair {
    SecretArray<64> secret_key;
    PublicKey public_key{};

    /// The 32-byte seed (the first half of `secret_key`).
    std::span<const uint8_t, kSeedSize> seed() const noexcept {
        return secret_key.span().first<kSeedSize>();
    }
};

/// Key pair from a 32-byte seed (sp-core ed25519::Pair::from_seed_slice).
/// Error::invalid_length unless `seed` has 32 bytes.
Result<KeyPair> keypair_from_seed(ByteSpan seed) noexcept;

/// Deterministic RFC 8032 signature over `message`.
Signature sign(const KeyPair& pair, ByteSpan message) noexcept;

/// Error::ok when `signature` is a valid signature of `message` under
/// `public_key`; Error::invalid_length for wrongly sized inputs;
/// Error::invalid_signature otherwise. Uses libsodium's rules (canonical S,
/// canonical non-small-order public key and R), which are stricter than
/// ed25519-zebra's ZIP-215 rules for adversarial edge cases only.
Error verify(SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key) noexcept;

/// Substrate hard derivation: new seed = blake2_256(SCALE(("Ed25519HDKD", seed,
/// chain_code))), i.e. blake2_256(0x2c || "Ed25519HDKD" || seed || chain_code).
/// Error::invalid_length unless both inputs have 32 bytes.
Result<SecretArray<kSeedSize>> derive_hard(ByteSpan seed, ByteSpan chain_code) noexcept;

/// Ed25519 has no soft (public) derivation in Substrate: always Error::unsupported.
inline Error derive_soft() noexcept {
    return Error::unsupported;
}

}  // namespace teesigner::core::ed25519
