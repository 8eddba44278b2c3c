#include "teesigner/core/bip39.hpp"

#include <sodium.h>

#include "teesigner/core/random.hpp"

namespace teesigner::core::bip39 {

namespace {

// Every English word has 3..8 letters; a ninth byte holds the terminator, and
// unused bytes are zero so a word compares as a fixed 8-byte block.
constexpr size_t kMaxWordLength = 8;
constexpr char kWords[kWordCount][kMaxWordLength + 1] = {
#include "bip39_english.inc"
};

constexpr size_t kMinWords = 12;
constexpr size_t kMaxWords = 24;
constexpr size_t kBitsPerWord = 11;
constexpr uint32_t kPbkdf2Rounds = 2048;
constexpr char kSaltPrefix[] = "mnemonic";

bool valid_word_count(size_t n) noexcept {
    return n >= kMinWords && n <= kMaxWords && n % 3 == 0;
}

bool valid_entropy_size(size_t n) noexcept {
    return n >= 16 && n <= 32 && n % 4 == 0;
}

// All-ones when a == b, zero otherwise, without branching.
uint32_t ct_eq_mask(uint32_t a, uint32_t b) noexcept {
    uint32_t x = a ^ b;
    // (x | -x) has its top bit set iff x != 0.
    return ((x | (0u - x)) >> 31) - 1u;
}

// Length in bytes of the whitespace character starting at s[i] (Rust's
// char::is_whitespace, i.e. Unicode White_Space, in UTF-8), or 0.
size_t whitespace_at(ByteSpan s, size_t i) noexcept {
    const uint8_t c = s[i];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return 1;
    const size_t left = s.size() - i;
    if (c == 0xc2 && left >= 2 && (s[i + 1] == 0x85 || s[i + 1] == 0xa0)) return 2;
    if (left < 3) return 0;
    const uint8_t c1 = s[i + 1], c2 = s[i + 2];
    if (c == 0xe1 && c1 == 0x9a && c2 == 0x80) return 3;  // U+1680
    if (c == 0xe2 && c1 == 0x80 && (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf))
        return 3;                                         // U+2000..200A, 2028, 2029, 202F
    if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f) return 3;  // U+205F
    if (c == 0xe3 && c1 == 0x80 && c2 == 0x80) return 3;  // U+3000
    return 0;
}

struct Token {
    size_t begin;
    size_t length;
};

// Split on whitespace runs. Returns the number of words found, stopping at
// kMaxWords + 1 (enough to know the count is invalid).
size_t tokenize(ByteSpan phrase, Token (&tokens)[kMaxWords + 1]) noexcept {
    size_t count = 0;
    size_t i = 0;
    while (i < phrase.size() && count <= kMaxWords) {
        if (size_t ws = whitespace_at(phrase, i)) {
            i += ws;
            continue;
        }
        const size_t begin = i;
        while (i < phrase.size() && whitespace_at(phrase, i) == 0) ++i;
        tokens[count++] = Token{begin, i - begin};
    }
    // Count any further words without storing them.
    while (i < phrase.size()) {
        if (size_t ws = whitespace_at(phrase, i)) {
            i += ws;
            continue;
        }
        ++count;
        while (i < phrase.size() && whitespace_at(phrase, i) == 0) ++i;
    }
    return count;
}

// Index of `candidate` (zero-padded to 8 bytes) in the list, scanning every
// word so the time does not depend on which word it is. `found` is set to
// all-ones when present.
uint32_t find_word(const uint8_t (&candidate)[kMaxWordLength], uint32_t& found) noexcept {
    uint32_t index = 0;
    found = 0;
    for (uint32_t w = 0; w < kWordCount; ++w) {
        uint32_t diff = 0;
        for (size_t k = 0; k < kMaxWordLength; ++k)
            diff |= static_cast<uint8_t>(static_cast<uint8_t>(kWords[w][k]) ^ candidate[k]);
        const uint32_t mask = ct_eq_mask(diff, 0);
        index |= w & mask;
        found |= mask;
    }
    return index;
}

// Big-endian bit writer/reader over a byte buffer.
void put_bits(uint8_t* buf, size_t bit_offset, uint32_t value, size_t nbits) noexcept {
    for (size_t b = 0; b < nbits; ++b) {
        const uint32_t bit = (value >> (nbits - 1 - b)) & 1u;
        const size_t pos = bit_offset + b;
        buf[pos / 8] = static_cast<uint8_t>(buf[pos / 8] | (bit << (7 - pos % 8)));
    }
}

uint32_t get_bits(const uint8_t* buf, size_t bit_offset, size_t nbits) noexcept {
    uint32_t value = 0;
    for (size_t b = 0; b < nbits; ++b) {
        const size_t pos = bit_offset + b;
        value = (value << 1) | ((buf[pos / 8] >> (7 - pos % 8)) & 1u);
    }
    return value;
}

}  // namespace

std::string_view word(size_t index) noexcept {
    if (index >= kWordCount) return {};
    return kWords[index];
}

Result<SecretBytes> mnemonic_to_entropy(ByteSpan phrase) {
    Token tokens[kMaxWords + 1];
    const size_t nwords = tokenize(phrase, tokens);
    if (!valid_word_count(nwords)) return Error::invalid_mnemonic;

    // entropy bits || checksum bits, at most 24 * 11 = 264 bits.
    SecretArray<(kMaxWords * kBitsPerWord + 7) / 8> bits;
    uint32_t all_found = ~0u;
    for (size_t w = 0; w < nwords; ++w) {
        const Token& t = tokens[w];
        uint8_t candidate[kMaxWordLength] = {};
        // A token longer than any word cannot match; its bytes are never compared.
        const bool fits = t.length <= kMaxWordLength;
        if (fits)
            for (size_t k = 0; k < t.length; ++k) candidate[k] = phrase[t.begin + k];
        uint32_t found;
        const uint32_t index = find_word(candidate, found);
        secure_wipe(candidate, sizeof candidate);
        all_found &= fits ? found : 0u;
        put_bits(bits.data(), w * kBitsPerWord, index, kBitsPerWord);
    }
    if (all_found == 0) return Error::invalid_mnemonic;

    const size_t checksum_bits = nwords / 3;
    const size_t entropy_size = (nwords * kBitsPerWord - checksum_bits) / 8;
    SecretArray<crypto_hash_sha256_BYTES> digest;
    crypto_hash_sha256(digest.data(), bits.data(), entropy_size);
    const uint32_t expected = get_bits(digest.data(), 0, checksum_bits);
    const uint32_t actual = get_bits(bits.data(), entropy_size * 8, checksum_bits);
    if (ct_eq_mask(expected, actual) == 0) return Error::invalid_checksum;

    SecretBytes entropy;
    entropy.reserve(entropy_size);
    entropy.append(ByteSpan(bits.data(), entropy_size));
    return entropy;
}

Result<SecretBytes> entropy_to_mnemonic(ByteSpan entropy) {
    if (!valid_entropy_size(entropy.size())) return Error::invalid_length;
    const size_t nwords = entropy.size() * 3 / 4;
    const size_t checksum_bits = nwords / 3;

    SecretArray<(kMaxWords * kBitsPerWord + 7) / 8> bits;
    for (size_t i = 0; i < entropy.size(); ++i) bits[i] = entropy[i];
    SecretArray<crypto_hash_sha256_BYTES> digest;
    crypto_hash_sha256(digest.data(), entropy.data(), entropy.size());
    put_bits(bits.data(), entropy.size() * 8, get_bits(digest.data(), 0, checksum_bits),
             checksum_bits);

    SecretBytes phrase;
    phrase.reserve(nwords * (kMaxWordLength + 1));
    for (size_t w = 0; w < nwords; ++w) {
        const uint32_t index = get_bits(bits.data(), w * kBitsPerWord, kBitsPerWord);
        // Select the word by scanning the whole list (no secret-indexed load).
        uint8_t chosen[kMaxWordLength] = {};
        for (uint32_t i = 0; i < kWordCount; ++i) {
            const auto mask = static_cast<uint8_t>(ct_eq_mask(i, index));
            for (size_t k = 0; k < kMaxWordLength; ++k)
                chosen[k] =
                    static_cast<uint8_t>(chosen[k] | (static_cast<uint8_t>(kWords[i][k]) & mask));
        }
        size_t length = 0;
        while (length < kMaxWordLength && chosen[length] != 0) ++length;
        if (w != 0) {
            const uint8_t space = ' ';
            phrase.append(ByteSpan(&space, 1));
        }
        phrase.append(ByteSpan(chosen, length));
        secure_wipe(chosen, sizeof chosen);
    }
    return phrase;
}

Result<SecretBytes> generate_mnemonic(size_t words) {
    if (!valid_word_count(words)) return Error::invalid_length;
    SecretArray<32> entropy;
    const size_t size = words * 4 / 3;
    random_bytes(entropy.data(), size);
    return entropy_to_mnemonic(ByteSpan(entropy.data(), size));
}

Error pbkdf2_hmac_sha512(ByteSpan password, ByteSpan salt, uint32_t iterations,
                         MutableByteSpan out) noexcept {
    if (iterations == 0 || out.empty()) return Error::invalid_length;
    constexpr size_t kHashSize = crypto_auth_hmacsha512_BYTES;

    // Key the HMAC once and copy the keyed state for every invocation.
    crypto_auth_hmacsha512_state keyed;
    crypto_auth_hmacsha512_init(&keyed, password.data(), password.size());
    crypto_auth_hmacsha512_state st;
    uint8_t u[kHashSize];
    uint8_t t[kHashSize];

    size_t written = 0;
    for (uint32_t block = 1; written < out.size(); ++block) {
        const uint8_t counter[4] = {static_cast<uint8_t>(block >> 24),
                                    static_cast<uint8_t>(block >> 16),
                                    static_cast<uint8_t>(block >> 8), static_cast<uint8_t>(block)};
        st = keyed;
        crypto_auth_hmacsha512_update(&st, salt.data(), salt.size());
        crypto_auth_hmacsha512_update(&st, counter, sizeof counter);
        crypto_auth_hmacsha512_final(&st, u);
        for (size_t k = 0; k < kHashSize; ++k) t[k] = u[k];
        for (uint32_t i = 1; i < iterations; ++i) {
            st = keyed;
            crypto_auth_hmacsha512_update(&st, u, sizeof u);
            crypto_auth_hmacsha512_final(&st, u);
            for (size_t k = 0; k < kHashSize; ++k) t[k] ^= u[k];
        }
        const size_t n = out.size() - written < kHashSize ? out.size() - written : kHashSize;
        for (size_t k = 0; k < n; ++k) out[written + k] = t[k];
        written += n;
    }

    secure_wipe(&keyed, sizeof keyed);
    secure_wipe(&st, sizeof st);
    secure_wipe(u, sizeof u);
    secure_wipe(t, sizeof t);
    return Error::ok;
}

Result<SecretArray<64>> seed_from_entropy(ByteSpan entropy, ByteSpan password) {
    if (!valid_entropy_size(entropy.size())) return Error::invalid_length;
    SecretBytes salt;
    salt.reserve(sizeof kSaltPrefix - 1 + password.size());
    salt.append(as_bytes(std::string_view(kSaltPrefix, sizeof kSaltPrefix - 1)));
    salt.append(password);
    SecretArray<64> seed;
    TS_TRY(pbkdf2_hmac_sha512(entropy, salt.span(), kPbkdf2Rounds, seed.span()));
    return seed;
}

Result<SecretArray<32>> mini_secret_from_entropy(ByteSpan entropy, ByteSpan password) {
    auto seed = seed_from_entropy(entropy, password);
    if (!seed) return seed.error();
    return SecretArray<32>(seed->span().first<32>());
}

Result<SecretArray<32>> mini_secret_from_mnemonic(ByteSpan phrase, ByteSpan password) {
    auto entropy = mnemonic_to_entropy(phrase);
    if (!entropy) return entropy.error();
    return mini_secret_from_entropy(entropy->span(), password);
}

}  // namespace teesigner::core::bip39
