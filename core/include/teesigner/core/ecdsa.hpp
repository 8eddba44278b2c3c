// ECDSA over secp256k1 via libsecp256k1 (recovery module), as sp-core
// ecdsa::Pair does it: 33-byte compressed public keys, 65-byte recoverable
// signatures r || s || v (v = recovery id 0..3) over blake2_256(message) or over
// a caller-given 32-byte prehash (BEEFY signs keccak_256 of its commitment),
// and Substrate hard derivation. Used for BEEFY session keys.
//
// One libsecp256k1 context is created lazily in a static buffer (no heap) and
// randomised with 32 bytes from core::random_bytes (side-channel blinding of
// the signing multiplication). Creation is not synchronised: in a
// multi-threaded embedding call init() once before other threads use this module.
#pragma once

#include <cstddef>
#include <cstdint>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::ecdsa {

inline constexpr size_t kSecretKeySize = 32;
inline constexpr size_t kPublicKeySize = 33;
inline constexpr size_t kSignatureSize = 65;
inline constexpr size_t kPrehashSize = 32;
inline constexpr size_t kChainCodeSize = 32;

using PublicKey = ByteArray<kPublicKeySize>;
using Signature = ByteArray<kSignatureSize>;

/// A secp256k1 key pair. The 32-byte secret key is also Substrate's "seed".
struct KeyPair {
    SecretArray<kSecretKeySize> secret_key;
    PublicKey public_key{};
};

/// Create and randomise the shared context if that has not happened yet.
/// Error::crypto_failure if libsecp256k1 refuses. Called implicitly by every
/// function below; call it explicitly only to control when it happens.
Error init() noexcept;

/// Key pair from a 32-byte secret key (sp-core ecdsa::Pair::from_seed_slice).
/// Error::invalid_length unless 32 bytes; Error::crypto_failure when the value is
/// zero or not below the group order (libsecp256k1 rejects it).
Result<KeyPair> keypair_from_secret(ByteSpan secret) noexcept;

/// Recoverable signature over blake2_256(message) (sp-core Pair::sign).
/// Deterministic (RFC 6979) and always low-s.
Result<Signature> sign(const KeyPair& pair, ByteSpan message) noexcept;

/// Recoverable signature over a 32-byte prehash (sp-core Pair::sign_prehashed).
/// Error::invalid_length unless `prehash` has 32 bytes.
Result<Signature> sign_prehashed(const KeyPair& pair, ByteSpan prehash) noexcept;

/// Recover the compressed public key from a signature over a 32-byte prehash
/// (sp-core Signature::recover_prehashed). Requires v in 0..3 and low s.
/// Error::invalid_length for wrongly sized inputs, Error::invalid_signature
/// when nothing can be recovered.
Result<PublicKey> recover_prehashed(ByteSpan signature, ByteSpan prehash) noexcept;

/// Verify over blake2_256(message): recover the key and compare it with
/// `public_key` (sp-core Pair::verify). Error::ok when valid,
/// Error::invalid_length for wrongly sized inputs, Error::invalid_signature
/// otherwise. High-s signatures are rejected (sp-core's native path would
/// accept them; its no_std k256 path, as run on chain, does not).
Error verify(SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key) noexcept;

/// As verify(), over a caller-given 32-byte prehash (sp-core Pair::verify_prehashed).
Error verify_prehashed(SignatureBytes signature, ByteSpan prehash,
                       PublicKeyBytes public_key) noexcept;

/// Substrate hard derivation: new secret = blake2_256(SCALE(("Secp256k1HDKD",
/// secret, chain_code))) = blake2_256(0x34 || "Secp256k1HDKD" || secret || chain_code).
/// The result may (with negligible probability) be an invalid secret key;
/// keypair_from_secret() reports that.
Result<SecretArray<kSecretKeySize>> derive_hard(ByteSpan secret, ByteSpan chain_code) noexcept;

/// ECDSA has no soft (public) derivation in Substrate: always Error::unsupported.
inline Error derive_soft() noexcept {
    return Error::unsupported;
}

}  // namespace teesigner::core::ecdsa
