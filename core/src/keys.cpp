#include "teesigner/core/keys.hpp"

#include <new>
#include <utility>
#include <variant>

#include "teesigner/core/bip39.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/sr25519.hpp"
#include "teesigner/core/suri.hpp"

namespace teesigner::core {

struct KeyPair::Impl {
    std::variant<sr25519::KeyPair, ed25519::KeyPair, ecdsa::KeyPair> key;
};

const char* scheme_name(Scheme s) noexcept {
    switch (s) {
        case Scheme::sr25519:
            return "sr25519";
        case Scheme::ed25519:
            return "ed25519";
        case Scheme::ecdsa:
            return "ecdsa";
    }
    return "unknown";
}

std::optional<Scheme> scheme_from_name(std::string_view name) noexcept {
    if (name == "sr25519") return Scheme::sr25519;
    if (name == "ed25519") return Scheme::ed25519;
    if (name == "ecdsa") return Scheme::ecdsa;
    return std::nullopt;
}

size_t public_key_size(Scheme s) noexcept {
    return s == Scheme::ecdsa ? ecdsa::kPublicKeySize : 32;
}

size_t signature_size(Scheme s) noexcept {
    return s == Scheme::ecdsa ? ecdsa::kSignatureSize : 64;
}

Result<Hash256> account_id(Scheme scheme, ByteSpan public_key) {
    if (public_key.size() != public_key_size(scheme)) return Error::invalid_length;
    if (scheme == Scheme::ecdsa) return blake2b_256(public_key);
    Hash256 out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = public_key[i];
    return out;
}

// ---------------------------------------------------------------------------
// KeyPair plumbing

KeyPair::KeyPair(Scheme scheme, Impl* impl, Bytes public_key, std::optional<SecretArray<32>> seed)
    : scheme_(scheme), impl_(impl), public_key_(std::move(public_key)), seed_(std::move(seed)) {}

KeyPair::KeyPair(KeyPair&& other) noexcept
    : scheme_(other.scheme_),
      impl_(std::exchange(other.impl_, nullptr)),
      public_key_(std::move(other.public_key_)),
      seed_(std::move(other.seed_)) {
    other.seed_.reset();
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
    if (this != &other) {
        delete impl_;
        scheme_ = other.scheme_;
        impl_ = std::exchange(other.impl_, nullptr);
        public_key_ = std::move(other.public_key_);
        seed_ = std::move(other.seed_);
        other.seed_.reset();
    }
    return *this;
}

KeyPair::~KeyPair() {
    delete impl_;
}  // the per-scheme secrets wipe themselves

const sr25519::KeyPair* KeyPair::as_sr25519() const noexcept {
    return impl_ ? std::get_if<sr25519::KeyPair>(&impl_->key) : nullptr;
}
const ed25519::KeyPair* KeyPair::as_ed25519() const noexcept {
    return impl_ ? std::get_if<ed25519::KeyPair>(&impl_->key) : nullptr;
}
const ecdsa::KeyPair* KeyPair::as_ecdsa() const noexcept {
    return impl_ ? std::get_if<ecdsa::KeyPair>(&impl_->key) : nullptr;
}

namespace {

template <class Key>
Result<KeyPair::Impl*> make_impl(Key key) {
    auto* impl = new (std::nothrow) KeyPair::Impl{std::move(key)};
    if (!impl) return Error::out_of_memory;
    return impl;
}

// A freshly built per-scheme key and its public key.
struct Derived {
    KeyPair::Impl* impl = nullptr;
    Bytes public_key;
};

// Hard/soft junctions for sr25519, following sp-core sr25519::Pair::derive: hard
// junctions re-expand a mini secret (kept as the seed while no soft junction was
// applied), soft junctions add to the scalar and lose the seed.
Result<Derived> derive_sr25519(ByteSpan seed, std::span<const DeriveJunction> path,
                               std::optional<SecretArray<32>>& seed_out) {
    auto kp = sr25519::keypair_from_mini_secret(seed);
    if (!kp) return kp.error();
    sr25519::KeyPair acc = std::move(*kp);
    for (const auto& j : path) {
        if (j.hard) {
            auto mini = sr25519::hard_derive_mini_secret(acc.secret, j.chain_code);
            auto next = sr25519::keypair_from_mini_secret(mini.span());
            if (!next) return next.error();
            acc = std::move(*next);
            if (seed_out) seed_out = std::move(mini);
        } else {
            acc = sr25519::derive_soft(acc, j.chain_code);
            seed_out.reset();
        }
    }
    Bytes pub(acc.public_key.begin(), acc.public_key.end());
    auto impl = make_impl(std::move(acc));
    if (!impl) return impl.error();
    return Derived{*impl, std::move(pub)};
}

// ed25519 and ecdsa: hard junctions only, each hashing (label, seed, chain code).
template <class DeriveHard>
Error derive_seed_hard_only(std::span<const DeriveJunction> path, SecretArray<32>& seed,
                            DeriveHard derive_hard) {
    for (const auto& j : path) {
        if (!j.hard) return Error::unsupported;  // sp-core DeriveError::SoftKeyInPath
        auto next = derive_hard(seed.span(), j.chain_code);
        if (!next) return next.error();
        seed = std::move(*next);
    }
    return Error::ok;
}

}  // namespace

Result<KeyPair> KeyPair::from_seed_and_path(Scheme scheme, ByteSpan seed,
                                            std::span<const DeriveJunction> path) {
    if (seed.size() != 32) return Error::invalid_length;
    std::optional<SecretArray<32>> final_seed(
        SecretArray<32>(std::span<const uint8_t, 32>(seed.data(), 32)));
    switch (scheme) {
        case Scheme::sr25519: {
            auto d = derive_sr25519(seed, path, final_seed);
            if (!d) return d.error();
            return KeyPair(scheme, d->impl, std::move(d->public_key), std::move(final_seed));
        }
        case Scheme::ed25519: {
            TS_TRY(derive_seed_hard_only(path, *final_seed, ed25519::derive_hard));
            auto kp = ed25519::keypair_from_seed(final_seed->span());
            if (!kp) return kp.error();
            Bytes pub(kp->public_key.begin(), kp->public_key.end());
            auto impl = make_impl(std::move(*kp));
            if (!impl) return impl.error();
            return KeyPair(scheme, *impl, std::move(pub), std::move(final_seed));
        }
        case Scheme::ecdsa: {
            TS_TRY(derive_seed_hard_only(path, *final_seed, ecdsa::derive_hard));
            auto kp = ecdsa::keypair_from_secret(final_seed->span());
            if (!kp) return kp.error();
            Bytes pub(kp->public_key.begin(), kp->public_key.end());
            auto impl = make_impl(std::move(*kp));
            if (!impl) return impl.error();
            return KeyPair(scheme, *impl, std::move(pub), std::move(final_seed));
        }
    }
    return Error::unsupported;
}

Result<KeyPair> KeyPair::from_seed(Scheme scheme, ByteSpan seed) {
    return from_seed_and_path(scheme, seed, {});
}

Result<KeyPair> KeyPair::generate(Scheme scheme) {
    SecretArray<32> seed;
    // An ecdsa secret must be in [1, n); a uniformly random value misses with
    // probability ~2^-128, but retry rather than fail.
    for (int attempt = 0; attempt < 8; ++attempt) {
        random_bytes(seed.data(), seed.size());
        auto kp = from_seed(scheme, seed.span());
        if (kp || kp.error() != Error::crypto_failure) return kp;
    }
    return Error::crypto_failure;
}

Result<KeyPair> KeyPair::from_suri(Scheme scheme, std::string_view suri,
                                   std::optional<std::string_view> password_override) {
    auto parsed = parse_secret_uri(suri);
    if (!parsed) return parsed.error();
    std::optional<ByteSpan> password;
    if (password_override) password = as_bytes(*password_override);
    auto seed = secret_uri_seed(*parsed, password);
    if (!seed) return seed.error();
    return from_seed_and_path(scheme, seed->span(), parsed->junctions);
}

// ---------------------------------------------------------------------------
// Signing and verification

Result<Bytes> KeyPair::sign(ByteSpan message) const {
    if (const auto* sr = as_sr25519()) {
        const auto sig = sr25519::sign_simple(*sr, as_bytes(sr25519::kSubstrateContext), message);
        return Bytes(sig.begin(), sig.end());
    }
    if (const auto* ed = as_ed25519()) {
        const auto sig = ed25519::sign(*ed, message);
        return Bytes(sig.begin(), sig.end());
    }
    if (const auto* ec = as_ecdsa()) {
        auto sig = ecdsa::sign(*ec, message);
        if (!sig) return sig.error();
        return Bytes(sig->begin(), sig->end());
    }
    return Error::unsupported;
}

Result<Bytes> KeyPair::sign_prehashed(ByteSpan prehash) const {
    const auto* ec = as_ecdsa();
    if (!ec) return Error::unsupported;
    auto sig = ecdsa::sign_prehashed(*ec, prehash);
    if (!sig) return sig.error();
    return Bytes(sig->begin(), sig->end());
}

Error verify(Scheme scheme, SignatureBytes signature, ByteSpan message, PublicKeyBytes public_key) {
    switch (scheme) {
        case Scheme::sr25519:
            return sr25519::verify_simple(signature, as_bytes(sr25519::kSubstrateContext), message,
                                          public_key);
        case Scheme::ed25519:
            return ed25519::verify(signature, message, public_key);
        case Scheme::ecdsa:
            return ecdsa::verify(signature, message, public_key);
    }
    return Error::unsupported;
}

Error verify_prehashed(SignatureBytes signature, ByteSpan prehash, PublicKeyBytes public_key) {
    return ecdsa::verify_prehashed(signature, prehash, public_key);
}

}  // namespace teesigner::core
