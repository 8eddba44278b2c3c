#include "teesigner/core/suri.hpp"

#include "teesigner/core/bip39.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/scale.hpp"

namespace teesigner::core {

namespace {

bool is_phrase_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ';
}

bool starts_with(std::string_view s, size_t pos, std::string_view prefix) noexcept {
    return s.substr(pos, prefix.size()) == prefix;
}

// Rust's u64::from_str: optional '+', then one or more ASCII digits, no overflow.
std::optional<uint64_t> parse_u64(std::string_view s) noexcept {
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    uint64_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

// The value of a hex digit, without branching on it (seeds are secret); sets
// `bad` to 1 when c is not a hex digit.
uint32_t hex_nibble(uint8_t c, uint32_t& bad) noexcept {
    const uint32_t num = static_cast<uint32_t>(c) ^ 0x30u;  // '0'..'9' -> 0..9
    const uint32_t num_ok = ((num - 10u) >> 31) & 1u;
    const uint32_t alpha = (static_cast<uint32_t>(c) | 0x20u) - 0x61u + 10u;  // 'a'..'f' -> 10..15
    const uint32_t alpha_ok = (~((alpha - 10u) >> 31) & ((alpha - 16u) >> 31)) & 1u;
    bad |= 1u ^ (num_ok | alpha_ok);
    return (num & (0u - num_ok)) | (alpha & (0u - alpha_ok));
}

SecretBytes secret_from(std::string_view s) {
    SecretBytes out;
    out.reserve(s.size());
    out.append(as_bytes(s));
    return out;
}

}  // namespace

DeriveJunction DeriveJunction::from_encoded(ByteSpan scale_encoded, bool hard) {
    DeriveJunction j;
    j.hard = hard;
    if (scale_encoded.size() > kChainCodeSize) {
        j.chain_code = blake2b_256(scale_encoded);
    } else {
        for (size_t i = 0; i < scale_encoded.size(); ++i) j.chain_code[i] = scale_encoded[i];
    }
    return j;
}

DeriveJunction DeriveJunction::from_index(uint64_t index, bool hard) {
    scale::Encoder enc;
    enc.u64(index);
    return from_encoded(enc.bytes(), hard);
}

DeriveJunction DeriveJunction::from_name(std::string_view name, bool hard) {
    // Reserve up front so no reallocation leaves an unwiped copy of the name.
    Bytes buffer;
    buffer.reserve(name.size() + 5);
    scale::Encoder enc(std::move(buffer));
    enc.str(name);
    DeriveJunction j = from_encoded(enc.bytes(), hard);
    Bytes encoded = enc.take();
    secure_wipe(encoded.data(), encoded.size());  // junction names can be private
    return j;
}

DeriveJunction DeriveJunction::from_path_element(std::string_view element) {
    const bool hard = !element.empty() && element[0] == '/';
    if (hard) element.remove_prefix(1);
    if (auto index = parse_u64(element)) return from_index(*index, hard);
    return from_name(element, hard);
}

Result<SecretUri> parse_secret_uri(std::string_view uri) {
    if (!valid_utf8(as_bytes(uri))) return Error::invalid_uri;

    SecretUri out;
    size_t i = 0;
    while (i < uri.size() && is_phrase_char(uri[i])) ++i;
    out.phrase = secret_from(i > 0 ? uri.substr(0, i) : bip39::kDevPhrase);

    while (i < uri.size()) {
        if (starts_with(uri, i, "///")) {
            i += 3;
            const size_t begin = i;
            while (i < uri.size() && uri[i] != '\n') ++i;
            out.password = secret_from(uri.substr(begin, i - begin));
            // A newline is the only thing that can stop the password: refuse it.
            if (i < uri.size()) return Error::invalid_uri;
        } else {
            const bool hard = starts_with(uri, i, "//");
            if (!hard && uri[i] != '/') return Error::invalid_uri;
            i += hard ? 2 : 1;
            const size_t begin = i;
            while (i < uri.size() && uri[i] != '/') ++i;
            if (i == begin) return Error::invalid_uri;  // empty junction name
            DeriveJunction j = DeriveJunction::from_path_element(uri.substr(begin, i - begin));
            j.hard = hard;
            out.junctions.push_back(j);
        }
    }
    return out;
}

bool is_hex_seed(ByteSpan phrase) noexcept {
    return phrase.size() >= 2 && phrase[0] == '0' && phrase[1] == 'x';
}

Result<SecretArray<32>> decode_hex_seed(ByteSpan phrase) {
    if (!is_hex_seed(phrase)) return Error::invalid_encoding;
    ByteSpan digits = phrase.subspan(2);
    // array_bytes::hex2bytes strips an optional "0x" of its own.
    if (is_hex_seed(digits)) digits = digits.subspan(2);
    if (digits.empty() || digits.size() % 2 != 0) return Error::invalid_encoding;
    uint32_t bad = 0;
    for (uint8_t c : digits) hex_nibble(c, bad);
    if (bad != 0) return Error::invalid_encoding;
    if (digits.size() != 64) return Error::invalid_length;
    SecretArray<32> seed;
    for (size_t k = 0; k < 32; ++k) {
        const uint32_t hi = hex_nibble(digits[2 * k], bad);
        const uint32_t lo = hex_nibble(digits[2 * k + 1], bad);
        seed[k] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return seed;
}

Result<SecretArray<32>> secret_uri_seed(const SecretUri& uri,
                                        std::optional<ByteSpan> password_override) {
    if (is_hex_seed(uri.phrase.span())) return decode_hex_seed(uri.phrase.span());
    ByteSpan password;
    if (password_override) {
        password = *password_override;
    } else if (uri.password) {
        password = uri.password->span();
    }
    return bip39::mini_secret_from_mnemonic(uri.phrase.span(), password);
}

}  // namespace teesigner::core
