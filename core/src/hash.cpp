#include "teesigner/core/hash.hpp"

#include <sodium.h>

#include <cstring>

namespace teesigner::core {
namespace {
template <size_t N>
ByteArray<N> blake2b(ByteSpan data) noexcept {
    ByteArray<N> out;
    crypto_generichash_blake2b(out.data(), N, data.data(), data.size(), nullptr, 0);
    return out;
}
}  // namespace

Hash256 blake2b_256(ByteSpan data) noexcept { return blake2b<32>(data); }
ByteArray<64> blake2b_512(ByteSpan data) noexcept { return blake2b<64>(data); }

SecretArray<32> hdkd_hash(std::string_view label, ByteSpan secret, ByteSpan chain_code) noexcept {
    // SCALE of a &str is a compact length (one byte below 64: len << 2) and
    // the bytes; the two [u8; 32] arrays are encoded raw.
    uint8_t buf[1 + 63 + 32 + 32];
    const size_t n = 1 + label.size() + 32 + 32;
    buf[0] = static_cast<uint8_t>(label.size() << 2);
    std::memcpy(buf + 1, label.data(), label.size());
    std::memcpy(buf + 1 + label.size(), secret.data(), 32);
    std::memcpy(buf + 1 + label.size() + 32, chain_code.data(), 32);
    SecretArray<32> out;
    crypto_generichash_blake2b(out.data(), 32, buf, n, nullptr, 0);
    secure_wipe(buf, sizeof(buf));  // holds the parent secret
    return out;
}

}  // namespace teesigner::core
