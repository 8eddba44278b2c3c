#include "teesigner/core/ss58.hpp"

#include <sodium.h>

#include "teesigner/core/base58.hpp"
#include "teesigner/core/hash.hpp"

namespace teesigner::core {

namespace {

constexpr size_t kChecksumSize = 2;
constexpr char kChecksumContext[] = "SS58PRE";

// blake2b_512("SS58PRE" || data), first two bytes.
ByteArray<kChecksumSize> checksum(ByteSpan data) noexcept {
    crypto_generichash_blake2b_state state;
    uint8_t digest[64];
    crypto_generichash_blake2b_init(&state, nullptr, 0, sizeof digest);
    crypto_generichash_blake2b_update(&state, reinterpret_cast<const uint8_t*>(kChecksumContext),
                                      sizeof kChecksumContext - 1);
    crypto_generichash_blake2b_update(&state, data.data(), data.size());
    crypto_generichash_blake2b_final(&state, digest, sizeof digest);
    return {digest[0], digest[1]};
}

bool valid_key_size(size_t n) noexcept {
    return n == 32 || n == 33;
}

}  // namespace

std::optional<uint16_t> ss58_prefix_from_network(std::string_view name) noexcept {
    if (name == "polkadot") return kSs58Polkadot;
    if (name == "kusama") return kSs58Kusama;
    if (name == "substrate") return kSs58Substrate;
    return std::nullopt;
}

bool ss58_prefix_reserved(uint16_t prefix) noexcept {
    return prefix == 46 || prefix == 47 || prefix > kSs58MaxPrefix;
}

Result<std::string> ss58_encode(ByteSpan key, uint16_t prefix) {
    if (!valid_key_size(key.size())) return Error::invalid_length;
    if (prefix > kSs58MaxPrefix) return Error::invalid_encoding;
    Bytes data;
    data.reserve(2 + key.size() + kChecksumSize);
    if (prefix < 64) {
        data.push_back(static_cast<uint8_t>(prefix));
    } else {
        // 01aaaaaa bbcccccc: aaaaaa = bits 2..7 of the id, bb = bits 0..1,
        // cccccc = bits 8..13 (the little-endian id with its top two bits
        // removed, as sp-core lays it out).
        data.push_back(static_cast<uint8_t>(0x40 | ((prefix & 0xfc) >> 2)));
        data.push_back(static_cast<uint8_t>((prefix >> 8) | ((prefix & 0x03) << 6)));
    }
    data.insert(data.end(), key.begin(), key.end());
    const auto sum = checksum(data);
    data.insert(data.end(), sum.begin(), sum.end());
    return base58_encode(data);
}

Result<Ss58Address> ss58_decode(std::string_view address) {
    auto decoded = base58_decode(address);
    if (!decoded) return decoded.error();
    const Bytes& data = *decoded;
    if (data.size() < 2) return Error::invalid_length;

    size_t prefix_size;
    uint16_t prefix;
    if (data[0] < 64) {
        prefix_size = 1;
        prefix = data[0];
    } else if (data[0] < 128) {
        prefix_size = 2;
        const auto lower = static_cast<uint8_t>((data[0] << 2) | (data[1] >> 6));
        const auto upper = static_cast<uint8_t>(data[1] & 0x3f);
        prefix = static_cast<uint16_t>(lower | (upper << 8));
    } else {
        return Error::invalid_encoding;
    }

    if (data.size() < prefix_size + kChecksumSize) return Error::invalid_length;
    const size_t key_size = data.size() - prefix_size - kChecksumSize;
    if (!valid_key_size(key_size)) return Error::invalid_length;
    if (ss58_prefix_reserved(prefix)) return Error::invalid_encoding;

    const ByteSpan body(data.data(), prefix_size + key_size);
    const auto expected = checksum(body);
    if (data[body.size()] != expected[0] || data[body.size() + 1] != expected[1])
        return Error::invalid_checksum;

    return Ss58Address{Bytes(data.begin() + static_cast<std::ptrdiff_t>(prefix_size),
                             data.begin() + static_cast<std::ptrdiff_t>(body.size())),
                       prefix};
}

Result<Ss58Address> ss58_decode(std::string_view address, size_t key_size) {
    auto decoded = ss58_decode(address);
    if (!decoded) return decoded.error();
    if (decoded->key.size() != key_size) return Error::invalid_length;
    return decoded;
}

Result<Hash256> ecdsa_account_id(ByteSpan compressed_public_key) {
    if (compressed_public_key.size() != 33) return Error::invalid_length;
    return blake2b_256(compressed_public_key);
}

}  // namespace teesigner::core
