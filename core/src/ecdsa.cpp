#include "teesigner/core/ecdsa.hpp"

#include <secp256k1.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include <cstddef>
#include <cstring>

#include "teesigner/core/hash.hpp"
#include "teesigner/core/random.hpp"

namespace teesigner::core::ecdsa {
namespace {

// Since libsecp256k1 0.2 the precomputed tables are static, so a context is a
// few hundred bytes; the buffer leaves ample room and avoids the heap.
alignas(std::max_align_t) unsigned char g_context_buffer[4096];
secp256k1_context* g_context = nullptr;

// libsecp256k1 calls this for API misuse (e.g. a null pointer); the default
// aborts. We never misuse it, but if we did the call must fail, not abort.
void ignore_illegal_argument(const char*, void*) {}

secp256k1_context* context() noexcept {
    if (g_context) return g_context;
    const size_t size = secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE);
    if (size == 0 || size > sizeof(g_context_buffer)) return nullptr;
    secp256k1_context* ctx =
        secp256k1_context_preallocated_create(g_context_buffer, SECP256K1_CONTEXT_NONE);
    if (!ctx) return nullptr;
    secp256k1_context_set_illegal_callback(ctx, ignore_illegal_argument, nullptr);
    uint8_t seed[32];
    random_bytes(seed, sizeof(seed));
    const int ok = secp256k1_context_randomize(ctx, seed);
    secure_wipe(seed, sizeof(seed));
    if (!ok) {
        secp256k1_context_preallocated_destroy(ctx);
        return nullptr;
    }
    g_context = ctx;
    return g_context;
}

// Parse r || s || v into a recoverable signature; v must be 0..3 and s low.
bool parse_signature(const secp256k1_context* ctx, ByteSpan signature,
                     secp256k1_ecdsa_recoverable_signature* out) noexcept {
    const uint8_t v = signature[64];
    if (v > 3) return false;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, out, signature.data(), v))
        return false;
    secp256k1_ecdsa_signature plain;
    if (!secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, out)) return false;
    // normalize() returns 1 when the input had a high s.
    return secp256k1_ecdsa_signature_normalize(ctx, nullptr, &plain) == 0;
}

}  // namespace

Error init() noexcept {
    return context() ? Error::ok : Error::crypto_failure;
}

Result<KeyPair> keypair_from_secret(ByteSpan secret) noexcept {
    if (secret.size() != kSecretKeySize) return Error::invalid_length;
    const secp256k1_context* ctx = context();
    if (!ctx) return Error::crypto_failure;
    if (!secp256k1_ec_seckey_verify(ctx, secret.data())) return Error::crypto_failure;
    KeyPair pair;
    std::memcpy(pair.secret_key.data(), secret.data(), kSecretKeySize);
    secp256k1_pubkey pubkey;
    if (!secp256k1_ec_pubkey_create(ctx, &pubkey, pair.secret_key.data()))
        return Error::crypto_failure;
    size_t len = pair.public_key.size();
    if (!secp256k1_ec_pubkey_serialize(ctx, pair.public_key.data(), &len, &pubkey,
                                       SECP256K1_EC_COMPRESSED) ||
        len != kPublicKeySize)
        return Error::crypto_failure;
    return pair;
}

Result<Signature> sign_prehashed(const KeyPair& pair, ByteSpan prehash) noexcept {
    if (prehash.size() != kPrehashSize) return Error::invalid_length;
    const secp256k1_context* ctx = context();
    if (!ctx) return Error::crypto_failure;
    secp256k1_ecdsa_recoverable_signature rsig;
    // Default nonce function: RFC 6979, as rust-secp256k1 uses in sp-core.
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, prehash.data(), pair.secret_key.data(),
                                          nullptr, nullptr))
        return Error::crypto_failure;
    Signature sig{};
    int recid = 0;
    if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig.data(), &recid, &rsig))
        return Error::crypto_failure;
    sig[64] = static_cast<uint8_t>(recid);
    return sig;
}

Result<Signature> sign(const KeyPair& pair, ByteSpan message) noexcept {
    const Hash256 digest = blake2b_256(message);
    return sign_prehashed(pair, digest);
}

Result<PublicKey> recover_prehashed(ByteSpan signature, ByteSpan prehash) noexcept {
    if (signature.size() != kSignatureSize || prehash.size() != kPrehashSize)
        return Error::invalid_length;
    const secp256k1_context* ctx = context();
    if (!ctx) return Error::crypto_failure;
    secp256k1_ecdsa_recoverable_signature rsig;
    if (!parse_signature(ctx, signature, &rsig)) return Error::invalid_signature;
    secp256k1_pubkey pubkey;
    if (!secp256k1_ecdsa_recover(ctx, &pubkey, &rsig, prehash.data()))
        return Error::invalid_signature;
    PublicKey out{};
    size_t len = out.size();
    if (!secp256k1_ec_pubkey_serialize(ctx, out.data(), &len, &pubkey, SECP256K1_EC_COMPRESSED) ||
        len != kPublicKeySize)
        return Error::crypto_failure;
    return out;
}

Error verify_prehashed(SignatureBytes signature, ByteSpan prehash,
                       PublicKeyBytes public_key) noexcept {
    if (public_key.bytes.size() != kPublicKeySize) return Error::invalid_length;
    auto recovered = recover_prehashed(signature.bytes, prehash);
    if (!recovered) return recovered.error();
    return constant_time_equal(*recovered, public_key.bytes) ? Error::ok : Error::invalid_signature;
}

Error verify(SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key) noexcept {
    const Hash256 digest = blake2b_256(message);
    return verify_prehashed(signature, digest, public_key);
}

Result<SecretArray<kSecretKeySize>> derive_hard(ByteSpan secret, ByteSpan chain_code) noexcept {
    if (secret.size() != kSecretKeySize || chain_code.size() != kChainCodeSize)
        return Error::invalid_length;
    static_assert(kSecretKeySize == 32 && kChainCodeSize == 32);
    return hdkd_hash("Secp256k1HDKD", secret, chain_code);
}

}  // namespace teesigner::core::ecdsa
