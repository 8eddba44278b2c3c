// BLAKE2b (via libsodium), as Substrate uses it.
#pragma once

#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core {

/// BLAKE2b with a 32-byte digest (Substrate's blake2_256).
Hash256 blake2b_256(ByteSpan data) noexcept;
/// BLAKE2b with a 64-byte digest (used by SS58 checksums).
ByteArray<64> blake2b_512(ByteSpan data) noexcept;

/// sp-core's hard derivation of a 32-byte secret (ed25519 seed, ecdsa secret
/// key): blake2_256 of the SCALE encoding of (label: &str, secret: [u8; 32],
/// chain_code: [u8; 32]), with label "Ed25519HDKD" or "Secp256k1HDKD".
/// `label` is shorter than 64 bytes; `secret` and `chain_code` are 32 bytes
/// (callers check). The copy of the secret it hashes from is wiped.
SecretArray<32> hdkd_hash(std::string_view label, ByteSpan secret, ByteSpan chain_code) noexcept;

}  // namespace teesigner::core
