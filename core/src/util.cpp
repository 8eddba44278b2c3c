#include <sodium.h>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core {

const char* error_message(Error e) noexcept {
    switch (e) {
        case Error::ok: return "ok";
        case Error::invalid_length: return "invalid length";
        case Error::invalid_encoding: return "invalid encoding";
        case Error::invalid_checksum: return "invalid checksum";
        case Error::invalid_mnemonic: return "invalid mnemonic phrase";
        case Error::invalid_uri: return "invalid secret URI";
        case Error::invalid_signature: return "invalid signature";
        case Error::unsupported: return "operation not supported for this scheme";
        case Error::crypto_failure: return "cryptographic operation failed";
        case Error::out_of_memory: return "out of memory";
        case Error::storage_failure: return "persistent storage failure";
    }
    return "unknown error";
}

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

[[noreturn]] void missing_random_source(uint8_t*, size_t) noexcept { __builtin_trap(); }

RandomSource g_random_source = missing_random_source;
}  // namespace

std::string to_hex(ByteSpan data, bool prefix) {
    std::string out;
    out.reserve(data.size() * 2 + 2);
    if (prefix) out += "0x";
    for (uint8_t b : data) {
        out += kHexDigits[b >> 4];
        out += kHexDigits[b & 0x0f];
    }
    return out;
}

Result<Bytes> from_hex(std::string_view hex) {
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    if (hex.size() % 2 != 0) return Error::invalid_encoding;
    Bytes out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return Error::invalid_encoding;
        out[i] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return out;
}

bool constant_time_equal(ByteSpan a, ByteSpan b) noexcept {
    if (a.size() != b.size()) return false;
    uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
    return diff == 0;
}

void secure_wipe(void* data, size_t size) noexcept { sodium_memzero(data, size); }

void SecretBytes::reserve(size_t n) {
    if (n <= data_.capacity()) return;
    std::vector<uint8_t> bigger;
    bigger.reserve(n);
    bigger.assign(data_.begin(), data_.end());
    wipe();
    data_ = std::move(bigger);
}

void SecretBytes::append(std::span<const uint8_t> src) {
    if (data_.size() + src.size() > data_.capacity()) reserve((data_.size() + src.size()) * 2);
    data_.insert(data_.end(), src.begin(), src.end());
}

void SecretBytes::resize(size_t n) {
    if (n > data_.capacity()) reserve(n);
    if (n < data_.size()) secure_wipe(data_.data() + n, data_.size() - n);
    data_.resize(n);
}

void set_random_source(RandomSource source) noexcept {
    g_random_source = source ? source : missing_random_source;
}

void random_bytes(uint8_t* out, size_t len) noexcept { g_random_source(out, len); }

}  // namespace teesigner::core
