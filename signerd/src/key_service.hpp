// The service behind the RPC methods: what signerd asks of the TEE. The RPC
// layer (rpc_methods.hpp) validates and decodes parameters, then calls one of
// these; implementations report failures by throwing ServiceError, which the
// RPC layer turns into the JSON-RPC error with the same code.
//
// The real implementation is TeeKeyService (tee_key_service.hpp), over the GP
// TEE Client API and the signer TA.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "jsonrpc.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/keys.hpp"

namespace teesigner::signerd {

using core::ByteArray;
using core::Bytes;
using core::ByteSpan;
using core::Hash256;
using core::Scheme;

/// sp-core KeyTypeId: four bytes, conventionally ASCII ("babe", "gran").
using KeyTypeId = std::array<uint8_t, 4>;

inline std::string key_type_string(const KeyTypeId& id) {
    return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

/// A failure with the JSON-RPC error code to answer (rpc_error::*) and, for
/// refusals, the rule that refused (counted in teesigner_refusals_total).
class ServiceError : public std::runtime_error {
  public:
    ServiceError(int code, const std::string& message, std::string rule = {},
                 std::optional<nlohmann::json> data = std::nullopt)
        : std::runtime_error(message),
          code_(code),
          rule_(std::move(rule)),
          data_(std::move(data)) {}
    int code() const noexcept { return code_; }
    const std::string& rule() const noexcept { return rule_; }
    /// Becomes the JSON-RPC error's "data" member (e.g. refusal details).
    const std::optional<nlohmann::json>& data() const noexcept { return data_; }

  private:
    int code_;
    std::string rule_;
    std::optional<nlohmann::json> data_;
};

/// One Merlin transcript as sp-core's VrfTranscript::new(label, items) builds
/// it: Transcript::new(label), then append_message(item.first, item.second)
/// for each item, in order.
struct VrfTranscriptData {
    Bytes label;
    std::vector<std::pair<Bytes, Bytes>> items;
};

/// The 64 bytes schnorrkel hashes to the VRF input point: challenge_bytes
/// ("VRFHash", 64) after append_message("vrf-nm-pk", public key) on the input
/// transcript (core::sr25519::vrf_input_hash).
using VrfInputHash = ByteArray<64>;

/// sp-core sr25519::vrf::VrfSignData: the VRF input transcript and the
/// optional extra transcript that is signed but does not affect the output.
/// The input is either `transcript` or, when `input_hash` is set, that hash
/// (then `transcript` is unused): what a forwarder sends when it holds only a
/// finished merlin transcript.
struct VrfSignData {
    VrfTranscriptData transcript;
    std::optional<VrfInputHash> input_hash;
    std::optional<VrfTranscriptData> extra;
};

/// sp-core sr25519::vrf::VrfSignature (SCALE: pre_output ++ proof).
struct VrfSignature {
    ByteArray<32> pre_output{};
    ByteArray<64> proof{};
};

/// Evidence from the TEE itself about the signer TA, bound to an attestation's
/// report_data: OP-TEE's attestation pseudo-TA (signer_ta.h, ATTEST_TEE).
/// Each signature is RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) by the
/// PTA's key over the message report_data ++ digest.
struct TeeEvidence {
    std::string type;      // "optee-attestation-pta"
    uint32_t algorithm{};  // the PTA's algorithm id (0x70414930: RSASSA-PSS SHA-256)
    Bytes rsa_exponent;    // the PTA's public key, big-endian
    Bytes rsa_modulus;
    Hash256 ta_memory_digest{};  // SHA-256 of the TA's read-only memory (caller-bound)
    Bytes ta_memory_signature;
    Hash256 ta_header_digest{};  // the installed .ta file's signed-header digest
    Bytes ta_header_signature;
};

/// What the TA vouches for in answer to an attestation nonce.
struct Attestation {
    // "self-attested" (the TA's own key; the soft TEE, or a TEE without an
    // attestation service), "optee-attestation-pta" (plus `tee`)
    std::string kind;
    Bytes statement;  // the signed statement bytes (format depends on kind)
    Bytes signature;  // signature over the statement
    Bytes attestation_public_key;
    Hash256 report_data{};  // what the evidence binds (nonce and public keys)
    nlohmann::json details = nlohmann::json::object();  // decoded fields, for humans
    std::optional<TeeEvidence> tee;                     // the TEE's own evidence, when it has any
    std::string tee_unavailable;                        // else why not (empty when not asked)
};

/// The structured payloads the typed signing methods take (the TA decodes
/// them and applies slashing protection; see docs/slashing-protection.md).
enum class TypedPayload {
    grandpa_vote,      // SCALE((Message, round: u64, set_id: u64)), ed25519
    babe_header,       // SCALE(Header) without the seal, sr25519 over its blake2_256
    beefy_commitment,  // SCALE(Commitment<u32>), ecdsa over its keccak_256
    para_statement,    // backing / approval / dispute payload, sr25519
};

/// A signature and the hash the protection record keeps for it (blake2_256 of
/// the signed bytes; BABE: the header pre-hash; BEEFY: the keccak prehash).
struct SignedPayload {
    Bytes signature;
    Hash256 payload_hash{};
};

/// One page of the protection history (docs/protection-interchange.md).
struct ProtectionPage {
    Bytes document;
    std::optional<uint64_t> next;  // cursor of the next page, none at the end
};

struct ProtectionImport {
    uint32_t items = 0;
    uint32_t records_added = 0;
    uint32_t records_conflicting = 0;
    uint32_t watermarks_raised = 0;
};

struct KeyServiceHealth {
    bool ok = true;
    std::string backend;  // "soft", "optee", "fake"
    std::string detail;   // last error, if any
    uint64_t restarts = 0;
};

/// The answer to an asynchronous call: a value, or the exception the blocking
/// method would have thrown (a ServiceError for every expected failure).
template <class T>
struct Outcome {
    T value{};
    std::exception_ptr error;
};
template <class T>
using Completion = std::function<void(Outcome<T>)>;

class KeyService {
  public:
    virtual ~KeyService() = default;

    /// author_rotateKeys: a fresh Kusama/Polkadot SessionKeys set generated
    /// in the TEE; returns the SCALE blob (the public keys concatenated).
    virtual Bytes rotate_session_keys() = 0;
    /// The (public key, key type) pairs a SessionKeys blob holds; throws
    /// ServiceError(kInvalidParams) if the blob is not a valid encoding.
    virtual std::vector<std::pair<Bytes, KeyTypeId>> decode_session_keys(ByteSpan blob) = 0;
    /// sp-keystore has_keys: every (public, key type) is held.
    virtual bool has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>& keys) = 0;
    /// Public keys of one key type and scheme.
    virtual std::vector<Bytes> public_keys(const KeyTypeId& key_type, Scheme scheme) = 0;
    /// A new key; `seed` (a secret URI) only where development seeds are
    /// allowed, else ServiceError(kPolicyRefused).
    virtual Bytes generate_new(const KeyTypeId& key_type, Scheme scheme,
                               const std::optional<std::string>& seed) = 0;
    /// Substrate Pair::sign with the stored key; ServiceError(kKeyNotFound)
    /// when the key is not held.
    virtual Bytes sign(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                       ByteSpan message) = 0;
    virtual VrfSignature sr25519_vrf_sign(const KeyTypeId& key_type, ByteSpan public_key,
                                          const VrfSignData& data) = 0;
    virtual Bytes ecdsa_sign_prehashed(const KeyTypeId& key_type, ByteSpan public_key,
                                       const ByteArray<32>& prehash) = 0;
    virtual Attestation attest(ByteSpan nonce) = 0;
    virtual KeyServiceHealth health() = 0;

    // ---- Slashing protection (defaults: ServiceError(kNotSupported)) ----------

    /// Sign a structured payload under slashing protection. A refusal is
    /// ServiceError(kSlashingRefused or kPolicyRefused) with the details in data().
    virtual SignedPayload sign_typed(TypedPayload kind, const KeyTypeId& key_type,
                                     ByteSpan public_key, ByteSpan payload);
    virtual ProtectionPage export_protection(uint64_t cursor, uint32_t max_bytes);
    virtual ProtectionImport import_protection(ByteSpan document);
    /// The effective opaque-signing policy: (key type, allowed) pairs.
    virtual std::vector<std::pair<KeyTypeId, bool>> protection_policy();
    /// Replace the explicit policy entries (unlisted types return to defaults).
    virtual void set_protection_policy(const std::vector<std::pair<KeyTypeId, bool>>& entries);

    // ---- Key retirement (signer_retireKeys) --------------------------------------

    /// Delete the key from the TEE (TA DELETE_KEY): it never signs again.
    /// ServiceError(kKeyNotFound) when it is not held. Default: kNotSupported.
    virtual void retire_key(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key);
    /// The latest signature with `public_key` that a shared record (the host
    /// protection database's audit log) knows of, in unix seconds; nullopt
    /// when none or no such record exists (the default).
    virtual std::optional<int64_t> last_signed_at(ByteSpan public_key);

    // ---- Asynchronous signing (defaults: not offered) -------------------------
    //
    // The signing methods without waiting for other callers: an RPC I/O thread
    // calls these so that a signature needs no hand-off to a worker thread and
    // back. Each returns false, without calling `done`, when this service
    // cannot answer that request without blocking on something other than the
    // TEE (e.g. the host protection database); the caller then uses the
    // blocking method on a worker. Returning true means `done` is called
    // exactly once, on this thread before the call returns (the TEE was idle:
    // the command ran here) or later on the thread that runs the TEE batch.
    // `done` must not throw and should not block.

    virtual bool sign_async(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                            ByteSpan message, Completion<Bytes> done);
    virtual bool sr25519_vrf_sign_async(const KeyTypeId& key_type, ByteSpan public_key,
                                        const VrfSignData& data, Completion<VrfSignature> done);
    virtual bool sign_typed_async(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                                  ByteSpan payload, Completion<SignedPayload> done);

    /// has_key (author_hasKey): one key of a type, any scheme.
    bool has_key(ByteSpan public_key, const KeyTypeId& key_type) {
        return has_keys({{Bytes(public_key.begin(), public_key.end()), key_type}});
    }
    /// author_hasSessionKeys: decode, then has_keys.
    bool has_session_keys(ByteSpan blob) { return has_keys(decode_session_keys(blob)); }
};

/// The Kusama/Polkadot SessionKeys layout, runtime order: (key type, scheme).
struct SessionKeySlot {
    const char* key_type;
    Scheme scheme;
};
inline constexpr SessionKeySlot kSessionKeySlots[] = {
    {"gran", Scheme::ed25519}, {"babe", Scheme::sr25519}, {"para", Scheme::sr25519},
    {"asgn", Scheme::sr25519}, {"audi", Scheme::sr25519}, {"beef", Scheme::ecdsa},
};
inline constexpr size_t kSessionKeysSize = 5 * 32 + 33;

/// Split a SessionKeys blob by kSessionKeySlots; ServiceError(kInvalidParams)
/// on a wrong length.
std::vector<std::pair<Bytes, KeyTypeId>> split_session_keys(ByteSpan blob);

}  // namespace teesigner::signerd
