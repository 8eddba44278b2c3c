#include "teesigner/core/ed25519.hpp"

#include <sodium.h>

#include <cstring>

namespace teesigner::core::ed25519 {

static_assert(crypto_sign_SEEDBYTES == kSeedSize);
static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeySize);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_BYTES == kSignatureSize);

Result<KeyPair> keypair_from_seed(ByteSpan seed) noexcept {
    if (seed.size() != kSeedSize) return Error::invalid_length;
    KeyPair pair;
    if (crypto_sign_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data()) != 0)
        return Error::crypto_failure;
    return pair;
}

Signature sign(const KeyPair& pair, ByteSpan message) noexcept {
    Signature sig{};
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                         pair.secret_key.data());
    return sig;
}

Error verify(ByteSpan signature, ByteSpan message, ByteSpan public_key) noexcept {
    if (signature.size() != kSignatureSize || public_key.size() != kPublicKeySize)
        return Error::invalid_length;
    if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                    public_key.data()) != 0)
        return Error::invalid_signature;
    return Error::ok;
}

Result<SecretArray<kSeedSize>> derive_hard(ByteSpan seed, ByteSpan chain_code) noexcept {
    if (seed.size() != kSeedSize || chain_code.size() != kChainCodeSize)
        return Error::invalid_length;
    // SCALE of a &str is a compact length (11 << 2 = 0x2c) and the bytes; the two
    // [u8; 32] arrays are encoded raw.
    static constexpr char kLabel[] = "Ed25519HDKD";
    constexpr size_t kLabelLen = sizeof(kLabel) - 1;
    static_assert(kLabelLen < 64, "single-byte compact length");
    uint8_t buf[1 + kLabelLen + kSeedSize + kChainCodeSize];
    buf[0] = static_cast<uint8_t>(kLabelLen << 2);
    std::memcpy(buf + 1, kLabel, kLabelLen);
    std::memcpy(buf + 1 + kLabelLen, seed.data(), kSeedSize);
    std::memcpy(buf + 1 + kLabelLen + kSeedSize, chain_code.data(), kChainCodeSize);
    SecretArray<kSeedSize> out;
    crypto_generichash_blake2b(out.data(), kSeedSize, buf, sizeof(buf), nullptr, 0);
    secure_wipe(buf, sizeof(buf));  // holds the parent seed
    return out;
}

}  // namespace teesigner::core::ed25519
