// sr25519: Schnorr signatures, HDKD and the VRF over Ristretto255, bit-compatible
// with w3f/schnorrkel 0.11 as polkadot-sdk's sp-core uses it (KUSAMA_VRF = true).
//
// Group and scalar arithmetic come from libsodium (crypto_core_ristretto255_*,
// crypto_scalarmult_ristretto255*); transcripts are our Merlin (merlin.hpp).
//
// Encodings follow schnorrkel exactly:
//   public key     32 bytes, compressed Ristretto point
//   secret key     64 bytes, canonical scalar (32, little-endian) || nonce (32)
//   signature      64 bytes, R (32) || s (32) with bit 7 of byte 63 set (marker)
//   VRF pre-output 32 bytes, compressed Ristretto point (key * input)
//   VRF proof      64 bytes, c (32) || s (32), both canonical scalars
//
// Randomness: signing, VRF proving and soft derivation of secret keys draw 32
// bytes from core::random_bytes and mix them with secret nonce material through
// a Merlin transcript RNG, as schnorrkel does. The *_with_randomness variants
// take those 32 bytes from the caller so results can be reproduced in tests
// against other implementations; production code uses the plain variants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::scale {
class Decoder;
}  // namespace teesigner::core::scale

namespace teesigner::core::sr25519 {

inline constexpr size_t kMiniSecretSize = 32;
inline constexpr size_t kSecretKeySize = 64;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kChainCodeSize = 32;
inline constexpr size_t kVrfPreOutputSize = 32;
inline constexpr size_t kVrfProofSize = 64;

/// The signing context Substrate uses for every sr25519 signature (sp-core SIGNING_CTX).
inline constexpr std::string_view kSubstrateContext = "substrate";

using PublicKey = ByteArray<kPublicKeySize>;
using Signature = ByteArray<kSignatureSize>;
using ChainCode = ByteArray<kChainCodeSize>;
using VrfPreOutput = ByteArray<kVrfPreOutputSize>;
using VrfProof = ByteArray<kVrfProofSize>;
/// 32 bytes of caller-chosen randomness for the *_with_randomness variants.
using Randomness = ByteArray<32>;

/// schnorrkel::SecretKey: a canonical scalar mod l and a 32-byte nonce seed.
/// Build it with the keypair_from_* functions, which check that the scalar is
/// canonical; the operations below assume it is.
struct SecretKey {
    SecretArray<32> key;    // canonical little-endian scalar
    SecretArray<32> nonce;  // seeds the signing and VRF nonces
    SecretKey clone() const noexcept { return {key.clone(), nonce.clone()}; }
};

/// schnorrkel::Keypair: a secret key with its public key (key * basepoint).
struct KeyPair {
    SecretKey secret;
    PublicKey public_key{};
    KeyPair clone() const noexcept { return {secret.clone(), public_key}; }
};

// ---------------------------------------------------------------------------
// Keys

/// MiniSecretKey::expand_to_keypair(ExpansionMode::Ed25519): SHA-512 of the 32-byte
/// mini secret; the first half is clamped as in Ed25519 and divided by the cofactor
/// 8 to give the scalar, the second half is the nonce. This is sp-core's
/// Pair::from_seed. Error::invalid_length unless 32 bytes.
Result<KeyPair> keypair_from_mini_secret(ByteSpan mini_secret);

/// From schnorrkel's 64-byte SecretKey::to_bytes (canonical scalar || nonce), the
/// format we seal. Error::invalid_length unless 64 bytes, Error::invalid_encoding if
/// the scalar is not canonical (>= l).
Result<KeyPair> keypair_from_secret_bytes(ByteSpan key_and_nonce);

/// schnorrkel SecretKey::to_bytes: canonical scalar || nonce (64 bytes).
SecretArray<kSecretKeySize> secret_to_bytes(const SecretKey& secret) noexcept;

/// From schnorrkel's SecretKey::to_ed25519_bytes layout (scalar * 8 || nonce), which
/// @polkadot/util-crypto and @scure/sr25519 use for their 64-byte "secretKey".
/// Error::invalid_length unless 64 bytes, Error::invalid_encoding if the scalar
/// divided by 8 is not canonical.
Result<KeyPair> keypair_from_ed25519_bytes(ByteSpan scalar_times_8_and_nonce);

/// schnorrkel SecretKey::to_ed25519_bytes: (scalar * 8) || nonce.
SecretArray<kSecretKeySize> secret_to_ed25519_bytes(const SecretKey& secret) noexcept;

/// Complete a secret key with its public key. Error::invalid_encoding if the key
/// scalar is not canonical.
Result<KeyPair> keypair_from_secret(SecretKey secret);

/// True if `public_key` is 32 bytes and a canonical Ristretto encoding
/// (schnorrkel PublicKey::from_bytes). Like schnorrkel, the identity is accepted.
bool is_valid_public_key(ByteSpan public_key) noexcept;

// ---------------------------------------------------------------------------
// Signatures

/// schnorrkel signing_context(context).bytes(message): Transcript "SigningContext",
/// append_message("", context), append_message("sign-bytes", message).
Transcript signing_transcript(ByteSpan context, ByteSpan message) noexcept;

/// schnorrkel SecretKey::sign: proto-name "Schnorr-sig", "sign:pk", nonce r from
/// witness "signing" over the secret nonce, R = r*B, "sign:R", k = challenge
/// "sign:c", s = k*key + r. The marker bit is set in the returned bytes.
Signature sign(const KeyPair& keypair, Transcript transcript) noexcept;
Signature sign_with_randomness(const KeyPair& keypair, Transcript transcript,
                               const Randomness& randomness) noexcept;

/// schnorrkel PublicKey::verify. Error::ok when valid; Error::invalid_length for
/// wrongly sized inputs; Error::invalid_encoding for a public key that is not a
/// valid point; Error::invalid_signature for a missing marker bit, a non-canonical
/// s, or a failed equation. As in schnorrkel (and so on chain), R is compared by
/// its encoding and the identity public key is not refused.
Error verify(SignatureBytes signature, Transcript transcript, PublicKeyBytes public_key) noexcept;

/// Sign `message` under a signing context (Substrate: kSubstrateContext).
Signature sign_simple(const KeyPair& keypair, ByteSpan context, ByteSpan message) noexcept;
/// Verify a signature made with sign_simple (same errors as verify()).
Error verify_simple(SignatureBytes signature, ByteSpan context, ByteSpan message,
                    PublicKeyBytes public_key) noexcept;

// ---------------------------------------------------------------------------
// Hierarchical deterministic key derivation (schnorrkel derive.rs, as sp-core
// Pair::derive uses it: the chain code is the 32-byte junction id).

/// schnorrkel SecretKey::hard_derive_mini_secret_key(Some(cc), b""): Transcript
/// "SchnorrRistrettoHDKD", "sign-bytes" (empty), "chain-code", "secret-key"
/// (canonical scalar), challenge "HDKD-hard" (32) -> mini secret, then challenge
/// "HDKD-chaincode" -> next chain code (written to `next_chain_code` if given).
SecretArray<kMiniSecretSize> hard_derive_mini_secret(const SecretKey& secret, const ChainCode& cc,
                                                     ChainCode* next_chain_code = nullptr) noexcept;

/// sp-core derive_hard_junction followed by the Ed25519-mode expansion.
KeyPair derive_hard(const KeyPair& parent, const ChainCode& cc,
                    ChainCode* next_chain_code = nullptr) noexcept;

/// schnorrkel Keypair::derived_key_simple(cc, b""): scalar from "HDKD-scalar" over
/// ("chain-code", "public-key"), added to the parent scalar; the new nonce is a
/// transcript witness "HDKD-nonce" over the parent nonce and secret (randomised,
/// as in schnorrkel, so only the public key is reproducible across implementations).
KeyPair derive_soft(const KeyPair& parent, const ChainCode& cc,
                    ChainCode* next_chain_code = nullptr) noexcept;
KeyPair derive_soft_with_randomness(const KeyPair& parent, const ChainCode& cc,
                                    const Randomness& randomness,
                                    ChainCode* next_chain_code = nullptr) noexcept;

/// schnorrkel PublicKey::derived_key_simple(cc, b""): public + scalar*B, the same
/// public key derive_soft gives. Error::invalid_length / invalid_encoding for a bad key.
Result<PublicKey> derive_soft_public(ByteSpan public_key, const ChainCode& cc,
                                     ChainCode* next_chain_code = nullptr) noexcept;

// ---------------------------------------------------------------------------
// VRF (schnorrkel vrf.rs with KUSAMA_VRF = true, as sp-core vrf_sign/vrf_verify,
// BABE and approval assignments use it).

/// A VRF input point and the matching output (pre-output) point, both compressed.
struct VrfInOut {
    ByteArray<32> input{};
    ByteArray<32> output{};
};

/// A VRF signature as sp-core encodes it: pre-output then proof (96 bytes).
struct VrfSignature {
    VrfPreOutput pre_output{};
    VrfProof proof{};
};

/// The extra transcript sp-core uses when VrfSignData has no extra: Transcript "VRF".
Transcript vrf_default_extra() noexcept;

/// sp-core's VrfTranscript in the SCALE form the signer TA's VRF_SIGN takes
/// (ta/include/signer_ta.h): (label: Vec<u8>, items: Vec<(Vec<u8>, Vec<u8>)>),
/// replayed as Transcript::new(label) and one append_message per item.
/// nullopt when it does not decode (what follows it in `d` is left there).
std::optional<Transcript> decode_vrf_transcript(scale::Decoder& d);

/// The extra transcript @polkadot/util-crypto (sr25519VrfSign) and @scure/sr25519
/// (vrf.sign) build from their `extra` bytes: Transcript "VRF", then
/// append_message("", extra) only when extra is non-empty. Their input transcript
/// is signing_transcript(ctx, msg).
Transcript vrf_extra_from_bytes(ByteSpan extra) noexcept;

/// schnorrkel PublicKey::vrf_hash (non-malleable): append "vrf-nm-pk" = public key,
/// challenge "VRFHash" (64 bytes), hash to a Ristretto point.
ByteArray<32> vrf_input_point(const PublicKey& public_key, Transcript input) noexcept;

/// schnorrkel Keypair::vrf_create_hash: input point and output = key * input.
VrfInOut vrf_create_inout(const KeyPair& keypair, Transcript input) noexcept;

// The VRF input given as its hash. schnorrkel's non-malleable VRF uses the input
// transcript only to derive the input point: append_message("vrf-nm-pk", public
// key), challenge_bytes("VRFHash", 64 bytes), ristretto255 from_hash. A caller
// that holds a transcript it cannot serialize (sp-core's VrfTranscript wraps a
// finished merlin transcript) computes those 64 bytes from a clone of it, and a
// signer makes the same VRF from them. The hash binds the public key: one
// computed for another key gives a VRF that verifies for no transcript of this
// key. Choosing the 64 bytes freely lets the caller choose the input point
// itself (a static Diffie-Hellman oracle key * P); see docs/protocol.md §4.

using VrfInputHash = ByteArray<64>;

/// The 64 bytes vrf_input_point hashes to a point: append_message("vrf-nm-pk",
/// public_key) to `input`, then challenge_bytes("VRFHash", 64).
VrfInputHash vrf_input_hash(const PublicKey& public_key, Transcript input) noexcept;

/// ristretto255 from_hash (schnorrkel RistrettoPoint::from_uniform_bytes) of an
/// input hash: vrf_input_point(pk, t) == vrf_input_point_from_hash(vrf_input_hash(pk, t)).
ByteArray<32> vrf_input_point_from_hash(const VrfInputHash& input_hash) noexcept;

/// vrf_create_inout for an input given as its hash.
VrfInOut vrf_create_inout_hashed(const KeyPair& keypair, const VrfInputHash& input_hash) noexcept;

/// schnorrkel Keypair::vrf_sign_extra: the in/out pair, then a DLEQ proof over
/// `extra` (proto-name "DLEQProof", "vrf:h", witness "proving\0""0" over the nonce,
/// "vrf:R=g^r", "vrf:h^r", "vrf:pk", "vrf:h^sk", c = challenge "prove",
/// s = r - c*key). `inout`, if given, receives the in/out pair for make_bytes.
VrfSignature vrf_sign(const KeyPair& keypair, Transcript input, Transcript extra,
                      VrfInOut* inout = nullptr) noexcept;
/// vrf_sign with the default extra transcript (sp-core VrfSignData without extra).
VrfSignature vrf_sign(const KeyPair& keypair, Transcript input, VrfInOut* inout = nullptr) noexcept;
VrfSignature vrf_sign_with_randomness(const KeyPair& keypair, Transcript input, Transcript extra,
                                      const Randomness& randomness,
                                      VrfInOut* inout = nullptr) noexcept;

/// vrf_sign for an input given as its hash: exactly the signature (and in/out
/// pair) vrf_sign gives for any input transcript t with
/// vrf_input_hash(keypair.public_key, t) == input_hash, so vrf_verify accepts it
/// for t. `extra` is the extra transcript, as in vrf_sign.
VrfSignature vrf_sign_hashed(const KeyPair& keypair, const VrfInputHash& input_hash,
                             Transcript extra, VrfInOut* inout = nullptr) noexcept;
/// vrf_sign_hashed with the default extra transcript.
VrfSignature vrf_sign_hashed(const KeyPair& keypair, const VrfInputHash& input_hash,
                             VrfInOut* inout = nullptr) noexcept;
VrfSignature vrf_sign_hashed_with_randomness(const KeyPair& keypair, const VrfInputHash& input_hash,
                                             Transcript extra, const Randomness& randomness,
                                             VrfInOut* inout = nullptr) noexcept;

/// sp-core Pair::vrf_pre_output: key * input point, the pre-output vrf_sign
/// returns for `input` (no proof, no randomness).
VrfPreOutput vrf_pre_output(const KeyPair& keypair, Transcript input) noexcept;
/// vrf_pre_output for an input given as its hash.
VrfPreOutput vrf_pre_output_hashed(const KeyPair& keypair, const VrfInputHash& input_hash) noexcept;

/// schnorrkel VRFPreOut::attach_input_hash: the in/out pair for a claimed
/// pre-output, without checking any proof. Error::invalid_length /
/// invalid_encoding for a bad key or pre-output (the identity is refused).
Result<VrfInOut> vrf_attach_pre_output(ByteSpan public_key, Transcript input,
                                       ByteSpan pre_output) noexcept;

/// schnorrkel PublicKey::vrf_verify_extra. Returns the verified in/out pair (for
/// vrf_make_bytes). Errors: invalid_length for wrong sizes; invalid_encoding for a
/// bad public key or pre-output (non-canonical or identity); invalid_signature for
/// non-canonical proof scalars or a proof that does not verify.
Result<VrfInOut> vrf_verify(ByteSpan public_key, Transcript input, ByteSpan pre_output,
                            ByteSpan proof, Transcript extra) noexcept;
/// vrf_verify with the default extra transcript.
Result<VrfInOut> vrf_verify(ByteSpan public_key, Transcript input, ByteSpan pre_output,
                            ByteSpan proof) noexcept;

/// vrf_verify for an input given as its hash: accepts exactly what vrf_verify
/// accepts for any transcript t with vrf_input_hash(public_key, t) == input_hash
/// (same errors). For tests and callers that hold only the hash.
Result<VrfInOut> vrf_verify_hashed(ByteSpan public_key, const VrfInputHash& input_hash,
                                   ByteSpan pre_output, ByteSpan proof, Transcript extra) noexcept;

/// schnorrkel VRFInOut::make_bytes: Transcript "VRFResult", append_message("",
/// context), "vrf-in", "vrf-out", challenge "" into `out` (any length).
void vrf_make_bytes(const VrfInOut& inout, ByteSpan context, MutableByteSpan out) noexcept;

template <size_t N>
ByteArray<N> vrf_make_bytes(const VrfInOut& inout, ByteSpan context) noexcept {
    ByteArray<N> out{};
    vrf_make_bytes(inout, context, out);
    return out;
}

}  // namespace teesigner::core::sr25519
