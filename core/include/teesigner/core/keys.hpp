// Scheme-generic key pairs with Substrate semantics: what `subkey inspect`,
// `subkey sign` and sp-core's Pair::from_string do, for sr25519, ed25519 and
// ecdsa. This is the API the CLI and the trusted application use; the
// per-scheme modules (sr25519.hpp, ed25519.hpp, ecdsa.hpp) sit below it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core {

enum class Scheme : uint8_t { sr25519 = 0, ed25519 = 1, ecdsa = 2 };

/// "sr25519", "ed25519", "ecdsa".
const char* scheme_name(Scheme s) noexcept;
std::optional<Scheme> scheme_from_name(std::string_view name) noexcept;

/// Public key length: 32 (sr25519, ed25519) or 33 (ecdsa, compressed).
size_t public_key_size(Scheme s) noexcept;
/// Signature length: 64 (sr25519, ed25519) or 65 (ecdsa, recoverable r||s||v).
size_t signature_size(Scheme s) noexcept;

/// A key pair of one scheme. Holds secret material; move-only; wiped on destruction.
class KeyPair {
public:
    /// sp-core Pair::from_string_with_seed: parse a secret URI (phrase, 0x seed,
    /// //hard, /soft, ///password; a URI starting with "/" uses the dev phrase).
    static Result<KeyPair> from_suri(Scheme scheme, std::string_view suri);
    /// From a 32-byte seed (sr25519: mini secret key; ed25519: seed; ecdsa: secret key).
    static Result<KeyPair> from_seed(Scheme scheme, ByteSpan seed);
    /// A fresh key from the installed random source.
    static Result<KeyPair> generate(Scheme scheme);

    KeyPair(KeyPair&&) noexcept;
    KeyPair& operator=(KeyPair&&) noexcept;
    ~KeyPair();

    Scheme scheme() const noexcept { return scheme_; }
    const Bytes& public_key() const noexcept { return public_key_; }
    /// The 32-byte seed this pair was derived from, when known (not for sr25519
    /// soft-derived keys, which have no seed). Only for display on request.
    const std::optional<SecretArray<32>>& seed() const noexcept { return seed_; }

    /// Substrate Pair::sign: sr25519 with signing context "substrate"; ed25519
    /// plain; ecdsa recoverable over blake2_256(message).
    Result<Bytes> sign(ByteSpan message) const;
    /// ecdsa only: recoverable signature over a caller-given 32-byte prehash.
    Result<Bytes> sign_prehashed(ByteSpan prehash) const;

    struct Impl;
    const Impl& impl() const noexcept { return *impl_; }

private:
    KeyPair(Scheme scheme, Impl* impl, Bytes public_key, std::optional<SecretArray<32>> seed);
    Scheme scheme_;
    Impl* impl_;  // owned; type-erased per-scheme secret (see keys.cpp)
    Bytes public_key_;
    std::optional<SecretArray<32>> seed_;
};

/// Substrate Pair::verify (Error::ok when valid, Error::invalid_signature when not,
/// Error::invalid_length for wrongly sized inputs).
Error verify(Scheme scheme, ByteSpan signature, ByteSpan message, ByteSpan public_key);
/// ecdsa verify over a given 32-byte prehash.
Error verify_prehashed(ByteSpan signature, ByteSpan prehash, ByteSpan public_key);

}  // namespace teesigner::core
