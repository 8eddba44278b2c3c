#include "teesigner/core/ed25519.hpp"

#include <sodium.h>

#include <cstring>

#include "teesigner/core/hash.hpp"

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

Error verify(SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key) noexcept {
    if (signature.bytes.size() != kSignatureSize || public_key.bytes.size() != kPublicKeySize)
        return Error::invalid_length;
    if (crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                    public_key.bytes.data()) != 0)
        return Error::invalid_signature;
    return Error::ok;
}

Result<SecretArray<kSeedSize>> derive_hard(ByteSpan seed, ByteSpan chain_code) noexcept {
    if (seed.size() != kSeedSize || chain_code.size() != kChainCodeSize)
        return Error::invalid_length;
    static_assert(kSeedSize == 32 && kChainCodeSize == 32);
    return hdkd_hash("Ed25519HDKD", seed, chain_code);
}

}  // namespace teesigner::core::ed25519
