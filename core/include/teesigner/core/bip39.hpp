// BIP-39 mnemonics (English wordlist) and substrate-bip39 seed derivation.
//
// Substrate does not use the BIP-39 seed of the phrase *text*: sp-core parses
// the phrase into its entropy (rust-bip39 Mnemonic::parse_in) and then runs
// substrate-bip39, PBKDF2-HMAC-SHA512 with the *entropy bytes* as the password,
// "mnemonic" || password as the salt, 2048 iterations and 64 bytes of output;
// the first 32 bytes are the seed of every scheme (sr25519 mini secret key,
// ed25519 seed, ecdsa secret key).
//
// Phrases are parsed like rust-bip39: words are separated by any run of
// whitespace (leading and trailing whitespace ignored), must be lower-case
// words of the English list, and there must be 12, 15, 18, 21 or 24 of them.
// No Unicode normalisation is applied (rust-bip39 applies NFKD, which changes
// nothing for the ASCII phrases a secret URI can carry).
//
// Word look-ups and checksum comparison do not branch on or index memory by
// secret data: each word is compared against the whole list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::bip39 {

/// The well-known development phrase (sp-core DEV_PHRASE).
inline constexpr std::string_view kDevPhrase =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// Number of words in the English list.
inline constexpr size_t kWordCount = 2048;

/// The i-th word of the English list (i < 2048), for tests and display. Not
/// constant-time: do not call with secret indices.
std::string_view word(size_t index) noexcept;

/// Parse a phrase into its entropy (16, 20, 24, 28 or 32 bytes).
/// Error::invalid_mnemonic for a word count other than 12/15/18/21/24 or a
/// word not in the list; Error::invalid_checksum when the checksum bits (the
/// first words/3 bits of SHA-256(entropy)) do not match.
Result<SecretBytes> mnemonic_to_entropy(ByteSpan phrase);
inline Result<SecretBytes> mnemonic_to_entropy(std::string_view phrase) {
    return mnemonic_to_entropy(as_bytes(phrase));
}

/// The phrase for `entropy` (16, 20, 24, 28 or 32 bytes; Error::invalid_length
/// otherwise), words separated by single spaces.
Result<SecretBytes> entropy_to_mnemonic(ByteSpan entropy);

/// A fresh phrase of `words` words (12, 15, 18, 21 or 24; Error::invalid_length
/// otherwise) from the installed random source.
Result<SecretBytes> generate_mnemonic(size_t words);

/// substrate-bip39 seed_from_entropy: PBKDF2-HMAC-SHA512(entropy,
/// "mnemonic" || password, 2048, 64). The entropy must be 16..32 bytes and a
/// multiple of 4 (Error::invalid_length otherwise).
Result<SecretArray<64>> seed_from_entropy(ByteSpan entropy, ByteSpan password);

/// substrate-bip39 mini_secret_from_entropy: the first 32 bytes of
/// seed_from_entropy.
Result<SecretArray<32>> mini_secret_from_entropy(ByteSpan entropy, ByteSpan password);

/// sp-core Pair::from_phrase up to the seed: phrase -> entropy -> first 32
/// bytes of seed_from_entropy. Errors as mnemonic_to_entropy.
Result<SecretArray<32>> mini_secret_from_mnemonic(ByteSpan phrase, ByteSpan password);
inline Result<SecretArray<32>> mini_secret_from_mnemonic(std::string_view phrase,
                                                         std::string_view password) {
    return mini_secret_from_mnemonic(as_bytes(phrase), as_bytes(password));
}

/// PBKDF2 (RFC 8018) with HMAC-SHA512, writing out.size() bytes.
/// Error::invalid_length for zero iterations or an empty output. Intermediate
/// state is wiped.
Error pbkdf2_hmac_sha512(ByteSpan password, ByteSpan salt, uint32_t iterations,
                         MutableByteSpan out) noexcept;

}  // namespace teesigner::core::bip39
