// Secret URIs ("SURI") and derivation junctions, as sp-core parses them
// (SecretUri::from_str via AddressUri::parse, DeriveJunction::from, and the
// seed handling of Pair::from_string_with_seed):
//
//   <phrase>[/soft|//hard]...[///password]
//
//  - phrase: the leading run of ASCII letters, digits and spaces; it may be
//    empty, and then the well-known dev phrase is used ("//Alice" is the dev
//    phrase with one hard junction "Alice"). It is a BIP-39 phrase, or a seed
//    written as "0x" followed by hex digits.
//  - "//name" is a hard junction and "/name" a soft one; a name runs to the
//    next '/' and must not be empty.
//  - "///" starts the password, which runs to the end and must not contain a
//    newline. An empty password ("phrase///") is allowed.
// Anything else (e.g. '.' or '-' in the phrase, "//" at the end) is
// Error::invalid_uri. The URI must be valid UTF-8 (a Rust &str).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core {

/// Length of a junction's chain code (sp-core JUNCTION_ID_LEN).
inline constexpr size_t kChainCodeSize = 32;

/// One step of a derivation path.
struct DeriveJunction {
    bool hard = false;
    ByteArray<kChainCodeSize> chain_code{};

    /// sp-core DeriveJunction::soft(value) from the value's SCALE encoding:
    /// zero-padded to 32 bytes, or blake2_256 of it when longer than 32 bytes.
    static DeriveJunction from_encoded(ByteSpan scale_encoded, bool hard);
    /// A numeric junction: the SCALE u64 (8 bytes little-endian), zero-padded.
    static DeriveJunction from_index(uint64_t index, bool hard);
    /// A named junction: the SCALE string (compact length, bytes).
    static DeriveJunction from_name(std::string_view name, bool hard);
    /// sp-core DeriveJunction::from(&str): a leading '/' makes it hard and is
    /// dropped; the rest is a number if Rust's u64::from_str accepts it (an
    /// optional '+', then decimal digits, at most 2^64-1; leading zeros are
    /// fine), otherwise a name.
    static DeriveJunction from_path_element(std::string_view element);

    friend bool operator==(const DeriveJunction&, const DeriveJunction&) = default;
};

/// A parsed secret URI. Secret parts stay in wiped buffers.
struct SecretUri {
    /// The phrase as written (BIP-39 words or "0x" hex), or the dev phrase.
    SecretBytes phrase;
    std::vector<DeriveJunction> junctions;
    /// Present when the URI has "///", possibly empty.
    std::optional<SecretBytes> password;
};

/// Parse a secret URI (Error::invalid_uri when it does not parse).
Result<SecretUri> parse_secret_uri(std::string_view uri);

/// True when the phrase is a hex seed: it starts with the literal "0x", as
/// Pair::from_string_with_seed checks (an upper-case "0X" is not a seed and
/// will fail as a phrase).
bool is_hex_seed(ByteSpan phrase) noexcept;

/// Decode a "0x" hex seed of exactly 32 bytes, as from_string_with_seed does
/// (array_bytes::hex2bytes, which accepts either case and tolerates a second
/// "0x" after the first). Error::invalid_encoding for bad hex or a missing
/// "0x", Error::invalid_length for another size.
Result<SecretArray<32>> decode_hex_seed(ByteSpan phrase);

/// The 32-byte root seed a URI denotes, before its junctions are applied: the
/// hex seed itself (the password is then ignored, as in sp-core), or the first
/// 32 bytes of substrate-bip39's seed_from_entropy(phrase entropy, password or
/// ""). `password_override`, when given, replaces the URI's password (sp-core's
/// password_override). Errors from decode_hex_seed or
/// bip39::mnemonic_to_entropy.
Result<SecretArray<32>> secret_uri_seed(const SecretUri& uri,
                                        std::optional<ByteSpan> password_override = std::nullopt);

}  // namespace teesigner::core
