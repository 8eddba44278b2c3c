// Verifying the answer of `signer_attest` (docs/protocol.md) on the operator's
// side: the TA's self-attested statement (ed25519) and, where the TEE gave
// it, OP-TEE's attestation pseudo-TA evidence (RSASSA-PSS), both bound to the
// nonce the operator chose. Used by `tee-signer verify-attestation`.
//
// What a passing verification proves depends on what the operator pinned
// (docs/testing-on-optee.md, "Attestation"): without a pinned PTA public key
// the RSA signatures only prove that *some* holder of the returned key signed.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace teesigner::client::attestation {

using Bytes = std::vector<uint8_t>;
using Digest = std::array<uint8_t, 32>;

/// An RSA public key as OP-TEE's attestation PTA returns it: big-endian
/// modulus and exponent, no leading zero bytes required.
struct RsaPublicKey {
    Bytes modulus;
    Bytes exponent;
};

/// true iff `signature` is an RSASSA-PSS signature (SHA-256, MGF1 with
/// SHA-256, salt length exactly 32) by `key` over the message nonce ++ digest,
/// i.e. over the hash SHA-256(nonce ++ digest): the construction of OP-TEE's
/// attestation PTA (its output is digest ++ signature). false for a malformed
/// key or signature as for a wrong one.
bool verify_pta_signature(const RsaPublicKey& key, std::span<const uint8_t> nonce,
                          const Digest& digest, std::span<const uint8_t> signature);

/// `key` as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block, for pinning it
/// in a file; empty when the key is malformed.
std::string rsa_public_key_pem(const RsaPublicKey& key);

/// Reads a PEM "PUBLIC KEY" block (SubjectPublicKeyInfo, as written by
/// rsa_public_key_pem or `openssl rsa -pubout`) into modulus and exponent;
/// nullopt when it is not an RSA public key.
std::optional<RsaPublicKey> rsa_public_key_from_pem(const std::string& pem);

/// The digest a .ta file's signed header carries (struct shdr: magic
/// 0x4f545348, then img_type, img_size, algo as u32, hash_size and sig_size as
/// u16, then the hash), which the PTA's header measurement returns; nullopt
/// when `ta_file` does not start with such a header with a 32-byte hash.
std::optional<Digest> ta_file_header_digest(std::span<const uint8_t> ta_file);

/// What the operator expects. Only `nonce` is required.
struct Expectations {
    Bytes nonce;                                 // what the operator sent to signer_attest
    std::optional<RsaPublicKey> pta_public_key;  // pinned PTA key (enrolment)
    std::optional<Digest> ta_header_digest;      // e.g. ta_file_header_digest(the .ta)
    std::optional<Digest> ta_memory_digest;      // a measurement recorded at enrolment
    std::optional<Bytes> attestation_key;        // the TA's pinned ed25519 key
    bool allow_self_attested = false;            // accept an answer with no TEE evidence
};

/// One line per check; ok only when every check passed.
struct Report {
    bool ok = true;
    std::string kind;
    std::vector<std::string> lines;  // "PASS <check>: ..." / "FAIL <check>: ..."
    std::vector<std::string> keys;   // "<key type> <scheme> 0x<public>"
    std::optional<Digest> ta_memory_digest, ta_header_digest;  // as signed, when verified
    std::optional<RsaPublicKey> pta_public_key;                // as returned
};

/// Verifies `result` (signer_attest's result object) against `expect`:
/// the statement decodes, carries `expect.nonce`, its report_data is
/// blake2_256(nonce ++ public keys) and equals "reportData", its ed25519
/// signature verifies under the statement's attestation key; for kind
/// "optee-attestation-pta" the evidence's nonce is that report_data and both
/// RSASSA-PSS signatures verify under the returned key; then every pinned
/// value matches. An answer without TEE evidence fails unless
/// `allow_self_attested`. Never throws for bad input: it is a failed check.
Report verify(const nlohmann::json& result, const Expectations& expect);

}  // namespace teesigner::client::attestation
