// Scheme-generic key pairs with Substrate semantics: what `subkey inspect`,
// `subkey sign` and sp-core's Pair::from_string do, for sr25519, ed25519 and
// ecdsa. This is the API the CLI and the trusted application use; the
// per-scheme modules (sr25519.hpp, ed25519.hpp, ecdsa.hpp) sit below it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"
#include "teesigner/core/suri.hpp"  // DeriveJunction

namespace teesigner::core {

namespace sr25519 {
struct KeyPair;
}
namespace ed25519 {
struct KeyPair;
}
namespace ecdsa {
struct KeyPair;
}

enum class Scheme : uint8_t { sr25519 = 0, ed25519 = 1, ecdsa = 2 };

/// "sr25519", "ed25519", "ecdsa".
const char* scheme_name(Scheme s) noexcept;
/// Inverse of scheme_name (exact, lower-case match).
std::optional<Scheme> scheme_from_name(std::string_view name) noexcept;

/// Public key length: 32 (sr25519, ed25519) or 33 (ecdsa, compressed).
size_t public_key_size(Scheme s) noexcept;
/// Signature length: 64 (sr25519, ed25519) or 65 (ecdsa, recoverable r||s||v).
size_t signature_size(Scheme s) noexcept;

/// sp-runtime MultiSigner::into_account: the 32-byte account id of a public
/// key. The key itself for sr25519 and ed25519; blake2_256 of the compressed key
/// for ecdsa. Error::invalid_length if the key has the wrong size for `scheme`.
Result<Hash256> account_id(Scheme scheme, ByteSpan public_key);

/// A key pair of one scheme. Holds secret material; move-only; wiped on destruction.
class KeyPair {
  public:
    /// sp-core Pair::from_string_with_seed(suri, password_override): parse a
    /// secret URI (phrase, 0x seed, //hard, /soft, ///password; a URI starting
    /// with "/" uses the dev phrase). A phrase goes through substrate-bip39 with
    /// the password (`password_override` wins over the URI's ///password); a 0x
    /// seed of exactly 32 bytes is used directly and any password is ignored, as
    /// in sp-core. The junctions are then applied in order; ed25519 and ecdsa
    /// refuse soft junctions with Error::unsupported.
    /// Errors: Error::invalid_uri (syntax), Error::invalid_encoding /
    /// Error::invalid_length (a 0x seed that is not 32 bytes of hex),
    /// Error::invalid_mnemonic / Error::invalid_checksum (phrase),
    /// Error::unsupported (soft junction), Error::crypto_failure (ecdsa seed not
    /// a valid secret key).
    static Result<KeyPair> from_suri(Scheme scheme, std::string_view suri,
                                     std::optional<std::string_view> password_override = {});
    /// From a 32-byte seed (sr25519: mini secret key; ed25519: seed; ecdsa: secret key).
    /// Error::invalid_length unless 32 bytes; Error::crypto_failure for an
    /// invalid ecdsa secret.
    static Result<KeyPair> from_seed(Scheme scheme, ByteSpan seed);
    /// From a 32-byte seed, then the junctions in order (sp-core Pair::derive
    /// with the seed tracked as sp-core does: an sr25519 key keeps a seed until
    /// the first soft junction).
    static Result<KeyPair> from_seed_and_path(Scheme scheme, ByteSpan seed,
                                              std::span<const DeriveJunction> path);
    /// A fresh key from a 32-byte seed drawn from the installed random source.
    static Result<KeyPair> generate(Scheme scheme);

    KeyPair(KeyPair&&) noexcept;
    KeyPair& operator=(KeyPair&&) noexcept;
    KeyPair(const KeyPair&) = delete;
    KeyPair& operator=(const KeyPair&) = delete;
    ~KeyPair();

    Scheme scheme() const noexcept { return scheme_; }
    const Bytes& public_key() const noexcept { return public_key_; }
    /// The 32-byte seed this pair was derived from, when known (not for sr25519
    /// soft-derived keys, which have no seed). Only for display on request.
    const std::optional<SecretArray<32>>& seed() const noexcept { return seed_; }

    /// Substrate Pair::sign: sr25519 with signing context "substrate" (randomised);
    /// ed25519 plain; ecdsa recoverable over blake2_256(message).
    Result<Bytes> sign(ByteSpan message) const;
    /// ecdsa only: recoverable signature over a caller-given 32-byte prehash.
    /// Error::unsupported for other schemes, Error::invalid_length unless 32 bytes.
    Result<Bytes> sign_prehashed(ByteSpan prehash) const;

    /// The per-scheme key, or nullptr when this pair is of another scheme.
    const sr25519::KeyPair* as_sr25519() const noexcept;
    const ed25519::KeyPair* as_ed25519() const noexcept;
    const ecdsa::KeyPair* as_ecdsa() const noexcept;

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
/// Error::invalid_length for wrongly sized inputs, Error::invalid_encoding for an
/// sr25519 public key that is not a valid point).
Error verify(Scheme scheme, SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key);
/// ecdsa verify over a given 32-byte prehash.
Error verify_prehashed(SignatureBytes signature, ByteSpan prehash, PublicKeyBytes public_key);

}  // namespace teesigner::core
