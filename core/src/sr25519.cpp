// sr25519 (schnorrkel) over libsodium's Ristretto255. See sr25519.hpp for the
// formats; the labels below are schnorrkel's and must not change.
#include "teesigner/core/sr25519.hpp"

#include <sodium.h>

#include <initializer_list>

#include "teesigner/core/random.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::sr25519 {
namespace {

using Scalar = ByteArray<32>;  // a public scalar (challenges, proof values)
using Point = ByteArray<32>;   // a compressed Ristretto point

constexpr ByteSpan kEmpty{};

// The group order l = 2^252 + 27742317777372353535851937790883648493, little-endian.
constexpr uint8_t kGroupOrder[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// schnorrkel's DLEQ witness label is b"proving\x000": "proving", a NUL, then '0'.
constexpr uint8_t kProvingLabel[9] = {'p', 'r', 'o', 'v', 'i', 'n', 'g', 0x00, '0'};

// True if s < l. Constant time: computes the borrow of s - l over all bytes.
bool scalar_is_canonical(const uint8_t* s) noexcept {
    unsigned borrow = 0;
    for (size_t i = 0; i < 32; ++i) {
        const unsigned diff = static_cast<unsigned>(s[i]) - kGroupOrder[i] - borrow;
        borrow = (diff >> 8) & 1u;
    }
    return borrow == 1;
}

// x / 8 for a 256-bit little-endian value (schnorrkel divide_scalar_bytes_by_cofactor).
void divide_by_cofactor(const uint8_t* in, uint8_t* out) noexcept {
    for (size_t i = 0; i < 32; ++i) {
        const unsigned next = i + 1 < 32 ? in[i + 1] : 0u;
        out[i] = static_cast<uint8_t>((in[i] >> 3) | (next << 5));
    }
}

// x * 8 mod 2^256 (schnorrkel multiply_scalar_bytes_by_cofactor).
void multiply_by_cofactor(const uint8_t* in, uint8_t* out) noexcept {
    for (size_t i = 32; i-- > 0;) {
        const unsigned prev = i > 0 ? in[i - 1] : 0u;
        out[i] = static_cast<uint8_t>((in[i] << 3) | (prev >> 5));
    }
}

// s * B. libsodium returns -1 when the result is the identity (s = 0 mod l); the
// identity's encoding is all zeros, which we then write ourselves.
void base_mul(uint8_t* out, const uint8_t* s) noexcept {
    if (crypto_scalarmult_ristretto255_base(out, s) != 0) sodium_memzero(out, 32);
}

// s * P for a point already known to be valid. As for base_mul, -1 then means
// the identity. Scalars are reduced, so libsodium's clearing of bit 255 is moot.
void point_mul(uint8_t* out, const uint8_t* s, const uint8_t* p) noexcept {
    if (crypto_scalarmult_ristretto255(out, s, p) != 0) sodium_memzero(out, 32);
}

bool is_valid_point(ByteSpan p) noexcept {
    return p.size() == 32 && crypto_core_ristretto255_is_valid_point(p.data()) == 1;
}

// SigningTranscript::challenge_scalar: 64 challenge bytes reduced mod l.
Scalar challenge_scalar(Transcript& t, std::string_view label) noexcept {
    ByteArray<64> wide;
    t.challenge_bytes(label, wide);
    Scalar out;
    crypto_core_ristretto255_scalar_reduce(out.data(), wide.data());
    return out;
}

// SigningTranscript::witness_bytes for merlin transcripts: rekey a transcript RNG
// with each nonce seed under `label`, then with 32 random bytes.
void witness_bytes(const Transcript& t, ByteSpan label, std::initializer_list<ByteSpan> seeds,
                   const Randomness& randomness, MutableByteSpan out) noexcept {
    Transcript::RngBuilder builder = t.build_rng();
    for (ByteSpan seed : seeds) builder.rekey_with_witness_bytes(label, seed);
    TranscriptRng rng = builder.finalize(randomness);
    rng.fill_bytes(out);
}

// witness_scalar: 64 witness bytes reduced mod l (a secret nonce).
SecretArray<32> witness_scalar(const Transcript& t, ByteSpan label,
                               std::initializer_list<ByteSpan> seeds,
                               const Randomness& randomness) noexcept {
    SecretArray<64> wide;
    witness_bytes(t, label, seeds, randomness, wide.span());
    SecretArray<32> out;
    crypto_core_ristretto255_scalar_reduce(out.data(), wide.data());
    return out;
}

Randomness fresh_randomness() noexcept {
    Randomness r;
    random_bytes(r.data(), r.size());
    return r;
}

void commit_bytes(Transcript& t, std::string_view label, const uint8_t* data, size_t n) noexcept {
    t.append_message(label, ByteSpan(data, n));
}

void proto_name(Transcript& t, std::string_view name) noexcept {
    t.append_message("proto-name", as_bytes(name));
}

PublicKey public_from_scalar(const SecretArray<32>& key) noexcept {
    PublicKey pk;
    base_mul(pk.data(), key.data());
    return pk;
}

// PublicKey::derive_scalar_and_chaincode on a fresh derived_key_simple transcript
// (message b""). Leaves `t` ready for the HDKD-nonce witness.
Scalar derive_scalar_and_chaincode(Transcript& t, const PublicKey& pk, const ChainCode& cc,
                                   ChainCode* next_chain_code) noexcept {
    t.append_message("sign-bytes", kEmpty);
    t.append_message("chain-code", cc);
    t.append_message("public-key", pk);
    Scalar scalar = challenge_scalar(t, "HDKD-scalar");
    ChainCode next;
    t.challenge_bytes("HDKD-chaincode", next);
    if (next_chain_code) *next_chain_code = next;
    return scalar;
}

// schnorrkel Keypair::dleq_proove with kusama = true.
VrfProof dleq_prove(const KeyPair& kp, Transcript& t, const VrfInOut& io,
                    const Randomness& randomness) noexcept {
    proto_name(t, "DLEQProof");
    t.append_message("vrf:h", io.input);
    SecretArray<32> r = witness_scalar(t, ByteSpan(kProvingLabel, sizeof kProvingLabel),
                                       {kp.secret.nonce.span()}, randomness);
    Point big_r, hr;
    base_mul(big_r.data(), r.data());
    t.append_message("vrf:R=g^r", big_r);
    point_mul(hr.data(), r.data(), io.input.data());
    t.append_message("vrf:h^r", hr);
    t.append_message("vrf:pk", kp.public_key);
    t.append_message("vrf:h^sk", io.output);
    const Scalar c = challenge_scalar(t, "prove");

    VrfProof proof;
    SecretArray<32> ck;
    crypto_core_ristretto255_scalar_mul(ck.data(), c.data(), kp.secret.key.data());
    for (size_t i = 0; i < 32; ++i) proof[i] = c[i];
    crypto_core_ristretto255_scalar_sub(proof.data() + 32, r.data(), ck.data());
    return proof;
}

// PublicKey::dleq_verify with kusama = true; `pk` and the in/out points are valid.
Error dleq_verify(const uint8_t* pk, Transcript& t, const VrfInOut& io, ByteSpan proof) noexcept {
    const uint8_t* c = proof.data();
    const uint8_t* s = proof.data() + 32;
    if (!scalar_is_canonical(c) || !scalar_is_canonical(s)) return Error::invalid_signature;

    proto_name(t, "DLEQProof");
    t.append_message("vrf:h", io.input);
    // R = c*pk + s*B and Hr = c*output + s*input.
    Point cp, sb, big_r, co, si, hr;
    point_mul(cp.data(), c, pk);
    base_mul(sb.data(), s);
    if (crypto_core_ristretto255_add(big_r.data(), cp.data(), sb.data()) != 0)
        return Error::crypto_failure;
    t.append_message("vrf:R=g^r", big_r);
    point_mul(co.data(), c, io.output.data());
    point_mul(si.data(), s, io.input.data());
    if (crypto_core_ristretto255_add(hr.data(), co.data(), si.data()) != 0)
        return Error::crypto_failure;
    t.append_message("vrf:h^r", hr);
    commit_bytes(t, "vrf:pk", pk, 32);
    t.append_message("vrf:h^sk", io.output);
    const Scalar expected = challenge_scalar(t, "prove");
    return sodium_memcmp(expected.data(), c, 32) == 0 ? Error::ok : Error::invalid_signature;
}

}  // namespace

// ---------------------------------------------------------------------------
// Keys

Result<KeyPair> keypair_from_mini_secret(ByteSpan mini_secret) {
    if (mini_secret.size() != kMiniSecretSize) return Error::invalid_length;
    SecretArray<64> h;
    crypto_hash_sha512(h.data(), mini_secret.data(), mini_secret.size());
    // Ed25519 clamping, then divide by the cofactor so the scalar is taken mod l
    // (the result lies in [2^251, 2^252), hence is canonical).
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    KeyPair kp;
    divide_by_cofactor(h.data(), kp.secret.key.data());
    for (size_t i = 0; i < 32; ++i) kp.secret.nonce[i] = h[32 + i];
    kp.public_key = public_from_scalar(kp.secret.key);
    return kp;
}

Result<KeyPair> keypair_from_secret(SecretKey secret) {
    if (!scalar_is_canonical(secret.key.data())) return Error::invalid_encoding;
    KeyPair kp;
    kp.public_key = public_from_scalar(secret.key);
    kp.secret = std::move(secret);
    return kp;
}

Result<KeyPair> keypair_from_secret_bytes(ByteSpan key_and_nonce) {
    if (key_and_nonce.size() != kSecretKeySize) return Error::invalid_length;
    SecretKey sk;
    for (size_t i = 0; i < 32; ++i) {
        sk.key[i] = key_and_nonce[i];
        sk.nonce[i] = key_and_nonce[32 + i];
    }
    return keypair_from_secret(std::move(sk));
}

SecretArray<kSecretKeySize> secret_to_bytes(const SecretKey& secret) noexcept {
    SecretArray<kSecretKeySize> out;
    for (size_t i = 0; i < 32; ++i) {
        out[i] = secret.key[i];
        out[32 + i] = secret.nonce[i];
    }
    return out;
}

Result<KeyPair> keypair_from_ed25519_bytes(ByteSpan scalar_times_8_and_nonce) {
    if (scalar_times_8_and_nonce.size() != kSecretKeySize) return Error::invalid_length;
    SecretKey sk;
    divide_by_cofactor(scalar_times_8_and_nonce.data(), sk.key.data());
    for (size_t i = 0; i < 32; ++i) sk.nonce[i] = scalar_times_8_and_nonce[32 + i];
    return keypair_from_secret(std::move(sk));
}

SecretArray<kSecretKeySize> secret_to_ed25519_bytes(const SecretKey& secret) noexcept {
    SecretArray<kSecretKeySize> out;
    multiply_by_cofactor(secret.key.data(), out.data());
    for (size_t i = 0; i < 32; ++i) out[32 + i] = secret.nonce[i];
    return out;
}

bool is_valid_public_key(ByteSpan public_key) noexcept {
    return is_valid_point(public_key);
}

// ---------------------------------------------------------------------------
// Signatures

Transcript signing_transcript(ByteSpan context, ByteSpan message) noexcept {
    Transcript t("SigningContext");
    t.append_message("", context);
    t.append_message("sign-bytes", message);
    return t;
}

Signature sign_with_randomness(const KeyPair& keypair, Transcript t,
                               const Randomness& randomness) noexcept {
    proto_name(t, "Schnorr-sig");
    t.append_message("sign:pk", keypair.public_key);
    SecretArray<32> r =
        witness_scalar(t, as_bytes("signing"), {keypair.secret.nonce.span()}, randomness);

    Signature sig;
    base_mul(sig.data(), r.data());  // R
    commit_bytes(t, "sign:R", sig.data(), 32);
    const Scalar k = challenge_scalar(t, "sign:c");

    SecretArray<32> kx;  // s = k * key + r
    crypto_core_ristretto255_scalar_mul(kx.data(), k.data(), keypair.secret.key.data());
    crypto_core_ristretto255_scalar_add(sig.data() + 32, kx.data(), r.data());
    sig[63] |= 0x80;  // schnorrkel marker: distinguishes sr25519 from ed25519 signatures
    return sig;
}

Signature sign(const KeyPair& keypair, Transcript transcript) noexcept {
    Randomness randomness = fresh_randomness();
    Signature sig = sign_with_randomness(keypair, std::move(transcript), randomness);
    secure_wipe(randomness.data(), randomness.size());
    return sig;
}

Error verify(SignatureBytes signature_bytes, Transcript t,
             PublicKeyBytes public_key_bytes) noexcept {
    const ByteSpan signature = signature_bytes.bytes;
    const ByteSpan public_key = public_key_bytes.bytes;
    if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize)
        return Error::invalid_length;
    if (!is_valid_point(public_key)) return Error::invalid_encoding;
    if ((signature[63] & 0x80) == 0) return Error::invalid_signature;
    Scalar s;
    for (size_t i = 0; i < 32; ++i) s[i] = signature[32 + i];
    s[31] &= 0x7f;
    if (!scalar_is_canonical(s.data())) return Error::invalid_signature;

    proto_name(t, "Schnorr-sig");
    t.append_message("sign:pk", public_key);
    t.append_message("sign:R", signature.first(32));
    const Scalar k = challenge_scalar(t, "sign:c");

    // R' = s*B - k*A must encode exactly as the R in the signature.
    Point sb, ka, r;
    base_mul(sb.data(), s.data());
    point_mul(ka.data(), k.data(), public_key.data());
    if (crypto_core_ristretto255_sub(r.data(), sb.data(), ka.data()) != 0)
        return Error::crypto_failure;
    return sodium_memcmp(r.data(), signature.data(), 32) == 0 ? Error::ok
                                                              : Error::invalid_signature;
}

Signature sign_simple(const KeyPair& keypair, ByteSpan context, ByteSpan message) noexcept {
    return sign(keypair, signing_transcript(context, message));
}

Error verify_simple(SignatureBytes signature, ByteSpan context, ByteSpan message,
                    PublicKeyBytes public_key) noexcept {
    return verify(signature, signing_transcript(context, message), public_key);
}

// ---------------------------------------------------------------------------
// HDKD

SecretArray<kMiniSecretSize> hard_derive_mini_secret(const SecretKey& secret, const ChainCode& cc,
                                                     ChainCode* next_chain_code) noexcept {
    Transcript t("SchnorrRistrettoHDKD");
    t.append_message("sign-bytes", kEmpty);
    t.append_message("chain-code", cc);
    t.append_message("secret-key", secret.key.span());
    SecretArray<kMiniSecretSize> mini;
    t.challenge_bytes("HDKD-hard", mini.span());
    ChainCode next;
    t.challenge_bytes("HDKD-chaincode", next);
    if (next_chain_code) *next_chain_code = next;
    return mini;
}

KeyPair derive_hard(const KeyPair& parent, const ChainCode& cc,
                    ChainCode* next_chain_code) noexcept {
    const SecretArray<kMiniSecretSize> mini =
        hard_derive_mini_secret(parent.secret, cc, next_chain_code);
    // Cannot fail: the length is right by construction.
    return keypair_from_mini_secret(mini.span()).value();
}

KeyPair derive_soft_with_randomness(const KeyPair& parent, const ChainCode& cc,
                                    const Randomness& randomness,
                                    ChainCode* next_chain_code) noexcept {
    Transcript t("SchnorrRistrettoHDKD");
    const Scalar scalar = derive_scalar_and_chaincode(t, parent.public_key, cc, next_chain_code);

    KeyPair child;
    // The nonce only guards signatures against bad RNGs; schnorrkel draws it from
    // the transcript RNG over the parent's nonce and full secret key.
    const SecretArray<kSecretKeySize> parent_bytes = secret_to_bytes(parent.secret);
    witness_bytes(t, as_bytes("HDKD-nonce"), {parent.secret.nonce.span(), parent_bytes.span()},
                  randomness, child.secret.nonce.span());
    crypto_core_ristretto255_scalar_add(child.secret.key.data(), parent.secret.key.data(),
                                        scalar.data());
    child.public_key = public_from_scalar(child.secret.key);
    return child;
}

KeyPair derive_soft(const KeyPair& parent, const ChainCode& cc,
                    ChainCode* next_chain_code) noexcept {
    Randomness randomness = fresh_randomness();
    KeyPair child = derive_soft_with_randomness(parent, cc, randomness, next_chain_code);
    secure_wipe(randomness.data(), randomness.size());
    return child;
}

Result<PublicKey> derive_soft_public(ByteSpan public_key, const ChainCode& cc,
                                     ChainCode* next_chain_code) noexcept {
    if (public_key.size() != kPublicKeySize) return Error::invalid_length;
    if (!is_valid_point(public_key)) return Error::invalid_encoding;
    PublicKey parent;
    for (size_t i = 0; i < 32; ++i) parent[i] = public_key[i];
    Transcript t("SchnorrRistrettoHDKD");
    const Scalar scalar = derive_scalar_and_chaincode(t, parent, cc, next_chain_code);
    Point sb;
    PublicKey child;
    base_mul(sb.data(), scalar.data());
    if (crypto_core_ristretto255_add(child.data(), parent.data(), sb.data()) != 0)
        return Error::crypto_failure;
    return child;
}

// ---------------------------------------------------------------------------
// VRF

Transcript vrf_default_extra() noexcept {
    return Transcript("VRF");
}

std::optional<Transcript> decode_vrf_transcript(scale::Decoder& d) {
    auto label = d.bytes_view();
    if (!label) return std::nullopt;
    Transcript t(*label);
    auto n = d.length_prefix(2);
    if (!n) return std::nullopt;
    for (size_t i = 0; i < *n; ++i) {
        auto item_label = d.bytes_view();
        auto item = d.bytes_view();
        if (!item_label || !item) return std::nullopt;
        t.append_message(*item_label, *item);
    }
    return t;
}

Transcript vrf_extra_from_bytes(ByteSpan extra) noexcept {
    Transcript t("VRF");
    // Appending even an empty message would change the transcript, so the JS
    // libraries only append non-empty extra data.
    if (!extra.empty()) t.append_message("", extra);
    return t;
}

VrfInputHash vrf_input_hash(const PublicKey& public_key, Transcript input) noexcept {
    input.append_message("vrf-nm-pk", public_key);
    VrfInputHash h;
    input.challenge_bytes("VRFHash", h);
    return h;
}

ByteArray<32> vrf_input_point_from_hash(const VrfInputHash& input_hash) noexcept {
    Point p;
    crypto_core_ristretto255_from_hash(p.data(), input_hash.data());
    return p;
}

ByteArray<32> vrf_input_point(const PublicKey& public_key, Transcript input) noexcept {
    return vrf_input_point_from_hash(vrf_input_hash(public_key, std::move(input)));
}

VrfInOut vrf_create_inout_hashed(const KeyPair& keypair, const VrfInputHash& input_hash) noexcept {
    VrfInOut io;
    io.input = vrf_input_point_from_hash(input_hash);
    point_mul(io.output.data(), keypair.secret.key.data(), io.input.data());
    return io;
}

VrfInOut vrf_create_inout(const KeyPair& keypair, Transcript input) noexcept {
    return vrf_create_inout_hashed(keypair, vrf_input_hash(keypair.public_key, std::move(input)));
}

VrfSignature vrf_sign_hashed_with_randomness(const KeyPair& keypair, const VrfInputHash& input_hash,
                                             Transcript extra, const Randomness& randomness,
                                             VrfInOut* inout) noexcept {
    const VrfInOut io = vrf_create_inout_hashed(keypair, input_hash);
    VrfSignature sig;
    sig.pre_output = io.output;
    sig.proof = dleq_prove(keypair, extra, io, randomness);
    if (inout) *inout = io;
    return sig;
}

VrfSignature vrf_sign_with_randomness(const KeyPair& keypair, Transcript input, Transcript extra,
                                      const Randomness& randomness, VrfInOut* inout) noexcept {
    return vrf_sign_hashed_with_randomness(keypair,
                                           vrf_input_hash(keypair.public_key, std::move(input)),
                                           std::move(extra), randomness, inout);
}

VrfSignature vrf_sign_hashed(const KeyPair& keypair, const VrfInputHash& input_hash,
                             Transcript extra, VrfInOut* inout) noexcept {
    Randomness randomness = fresh_randomness();
    VrfSignature sig =
        vrf_sign_hashed_with_randomness(keypair, input_hash, std::move(extra), randomness, inout);
    secure_wipe(randomness.data(), randomness.size());
    return sig;
}

VrfSignature vrf_sign_hashed(const KeyPair& keypair, const VrfInputHash& input_hash,
                             VrfInOut* inout) noexcept {
    return vrf_sign_hashed(keypair, input_hash, vrf_default_extra(), inout);
}

VrfPreOutput vrf_pre_output(const KeyPair& keypair, Transcript input) noexcept {
    return vrf_create_inout(keypair, std::move(input)).output;
}

VrfPreOutput vrf_pre_output_hashed(const KeyPair& keypair,
                                   const VrfInputHash& input_hash) noexcept {
    return vrf_create_inout_hashed(keypair, input_hash).output;
}

VrfSignature vrf_sign(const KeyPair& keypair, Transcript input, Transcript extra,
                      VrfInOut* inout) noexcept {
    Randomness randomness = fresh_randomness();
    VrfSignature sig =
        vrf_sign_with_randomness(keypair, std::move(input), std::move(extra), randomness, inout);
    secure_wipe(randomness.data(), randomness.size());
    return sig;
}

VrfSignature vrf_sign(const KeyPair& keypair, Transcript input, VrfInOut* inout) noexcept {
    return vrf_sign(keypair, std::move(input), vrf_default_extra(), inout);
}

namespace {

// vrf_attach_pre_output's checks, the input point from `input_hash` or, when
// that is null, from `input`.
Result<VrfInOut> attach_pre_output(ByteSpan public_key, const VrfInputHash* input_hash,
                                   Transcript* input, ByteSpan pre_output) noexcept {
    if (public_key.size() != kPublicKeySize || pre_output.size() != kVrfPreOutputSize)
        return Error::invalid_length;
    if (!is_valid_point(public_key) || !is_valid_point(pre_output)) return Error::invalid_encoding;
    // schnorrkel refuses an identity pre-output (encoded as all zeros).
    if (sodium_is_zero(pre_output.data(), pre_output.size())) return Error::invalid_encoding;
    PublicKey pk;
    VrfInOut io;
    for (size_t i = 0; i < 32; ++i) {
        pk[i] = public_key[i];
        io.output[i] = pre_output[i];
    }
    io.input = input_hash != nullptr ? vrf_input_point_from_hash(*input_hash)
                                     : vrf_input_point(pk, std::move(*input));
    return io;
}

}  // namespace

Result<VrfInOut> vrf_attach_pre_output(ByteSpan public_key, Transcript input,
                                       ByteSpan pre_output) noexcept {
    return attach_pre_output(public_key, nullptr, &input, pre_output);
}

Result<VrfInOut> vrf_verify(ByteSpan public_key, Transcript input, ByteSpan pre_output,
                            ByteSpan proof, Transcript extra) noexcept {
    if (proof.size() != kVrfProofSize) return Error::invalid_length;
    Result<VrfInOut> io = attach_pre_output(public_key, nullptr, &input, pre_output);
    if (!io) return io.error();
    TS_TRY(dleq_verify(public_key.data(), extra, *io, proof));
    return io;
}

Result<VrfInOut> vrf_verify_hashed(ByteSpan public_key, const VrfInputHash& input_hash,
                                   ByteSpan pre_output, ByteSpan proof, Transcript extra) noexcept {
    if (proof.size() != kVrfProofSize) return Error::invalid_length;
    Result<VrfInOut> io = attach_pre_output(public_key, &input_hash, nullptr, pre_output);
    if (!io) return io.error();
    TS_TRY(dleq_verify(public_key.data(), extra, *io, proof));
    return io;
}

Result<VrfInOut> vrf_verify(ByteSpan public_key, Transcript input, ByteSpan pre_output,
                            ByteSpan proof) noexcept {
    return vrf_verify(public_key, std::move(input), pre_output, proof, vrf_default_extra());
}

void vrf_make_bytes(const VrfInOut& inout, ByteSpan context, MutableByteSpan out) noexcept {
    Transcript t("VRFResult");
    t.append_message("", context);
    t.append_message("vrf-in", inout.input);
    t.append_message("vrf-out", inout.output);
    t.challenge_bytes("", out);
}

}  // namespace teesigner::core::sr25519
