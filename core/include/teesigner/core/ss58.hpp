// SS58 addresses as sp-core's Ss58Codec writes and reads them:
//   base58(prefix || key || checksum)
// where prefix is one byte for network ids 0..63 and two bytes for 64..16383,
// and checksum is the first two bytes of blake2b_512("SS58PRE" || prefix || key).
// Keys are 32 bytes (account ids, sr25519/ed25519 public keys) or 33 bytes
// (compressed ecdsa public keys, subkey's "ss58PublicKey" for ecdsa).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"

namespace teesigner::core {

/// Well-known network prefixes.
inline constexpr uint16_t kSs58Polkadot = 0;
inline constexpr uint16_t kSs58Kusama = 2;
inline constexpr uint16_t kSs58Substrate = 42;
/// Largest prefix SS58 can express (14 bits).
inline constexpr uint16_t kSs58MaxPrefix = 16383;

/// "polkadot" -> 0, "kusama" -> 2, "substrate" -> 42; nullopt otherwise.
std::optional<uint16_t> ss58_prefix_from_network(std::string_view name) noexcept;

/// True for prefixes the SS58 registry reserves (46, 47): sp-core refuses to
/// decode addresses that carry them.
bool ss58_prefix_reserved(uint16_t prefix) noexcept;

/// Encode a 32- or 33-byte key under `prefix`. Error::invalid_length for other
/// key sizes, Error::invalid_encoding for a prefix above kSs58MaxPrefix.
Result<std::string> ss58_encode(ByteSpan key, uint16_t prefix);

struct Ss58Address {
    Bytes key;        // 32 or 33 bytes
    uint16_t prefix;  // network id
};

/// Decode and verify an SS58 address (any key size of 32 or 33 bytes, any
/// unreserved prefix). Errors, in sp-core's order of checks:
///   Error::invalid_encoding  not base58, or a prefix byte above 127;
///   Error::invalid_length    the decoded length fits no prefix/key size;
///   Error::invalid_encoding  reserved prefix (46, 47);
///   Error::invalid_checksum  the two checksum bytes do not match.
Result<Ss58Address> ss58_decode(std::string_view address);

/// Like ss58_decode, but the key must be exactly `key_size` bytes
/// (Error::invalid_length otherwise), as sp-core's typed decoders require.
Result<Ss58Address> ss58_decode(std::string_view address, size_t key_size);

/// sp-core's AccountId32 for an ecdsa key: blake2_256 of the 33-byte
/// compressed public key (what subkey prints as "accountId" and encodes as
/// "ss58Address" for ecdsa). Error::invalid_length unless 33 bytes.
Result<Hash256> ecdsa_account_id(ByteSpan compressed_public_key);

}  // namespace teesigner::core
