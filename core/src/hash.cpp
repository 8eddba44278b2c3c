#include "teesigner/core/hash.hpp"

#include <sodium.h>

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
ByteArray<16> blake2b_128(ByteSpan data) noexcept { return blake2b<16>(data); }
ByteArray<64> blake2b_512(ByteSpan data) noexcept { return blake2b<64>(data); }

ByteArray<64> sha512(ByteSpan data) noexcept {
    ByteArray<64> out;
    crypto_hash_sha512(out.data(), data.data(), data.size());
    return out;
}

}  // namespace teesigner::core
