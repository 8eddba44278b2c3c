// KeyService over the GlobalPlatform TEE Client API and the signer TA
// (ta/include/signer_ta.h): each method is one TEEC_InvokeCommand with a
// SCALE request and response. Works with the soft TEE (a sandboxed child
// process) and, built against libteec, with OP-TEE.
#pragma once

#include <memory>
#include <string>

#include "key_service.hpp"
#include "metrics.hpp"

namespace teesigner::signerd {

struct TeeOptions {
    /// "soft" or "optee".
    std::string backend = "soft";
    /// Soft TEE: directory of sealed objects (created 0700).
    std::string softtee_storage;
    /// Soft TEE: TA executable (empty = the one the library was built with).
    std::string softtee_ta;
    /// Soft TEE: per-call timeout in milliseconds (0 = library default).
    unsigned softtee_timeout_ms = 0;
    /// keystore_generateNew may import a secret URI (needs a TA built with
    /// development commands).
    bool allow_dev_seeds = false;
};

class TeeKeyService : public KeyService {
  public:
    /// Connects to the TEE and opens a session with the signer TA. Throws
    /// StartupError (errors.hpp) with the TEE's reason when that fails, and
    /// ConfigError for unusable TEE settings. `metrics`
    /// may be null; it must outlive the service otherwise.
    TeeKeyService(TeeOptions options, Metrics* metrics);
    ~TeeKeyService() override;

    Bytes rotate_session_keys() override;
    std::vector<std::pair<Bytes, KeyTypeId>> decode_session_keys(ByteSpan blob) override;
    bool has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>& keys) override;
    std::vector<Bytes> public_keys(const KeyTypeId& key_type, Scheme scheme) override;
    Bytes generate_new(const KeyTypeId& key_type, Scheme scheme,
                       const std::optional<std::string>& seed) override;
    Bytes sign(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
               ByteSpan message) override;
    VrfSignature sr25519_vrf_sign(const KeyTypeId& key_type, ByteSpan public_key,
                                  const VrfSignData& data) override;
    Bytes ecdsa_sign_prehashed(const KeyTypeId& key_type, ByteSpan public_key,
                               const ByteArray<32>& prehash) override;
    Attestation attest(ByteSpan nonce) override;
    KeyServiceHealth health() override;
    SignedPayload sign_typed(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                             ByteSpan payload) override;
    /// The asynchronous forms join the same group commit as the blocking ones
    /// (always offered: they never wait for anything but the TEE).
    bool sign_async(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key, ByteSpan message,
                    Completion<Bytes> done) override;
    void retire_key(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key) override;
    bool sr25519_vrf_sign_async(const KeyTypeId& key_type, ByteSpan public_key,
                                const VrfSignData& data, Completion<VrfSignature> done) override;
    bool sign_typed_async(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                          ByteSpan payload, Completion<SignedPayload> done) override;
    ProtectionPage export_protection(uint64_t cursor, uint32_t max_bytes) override;
    ProtectionImport import_protection(ByteSpan document) override;
    std::vector<std::pair<KeyTypeId, bool>> protection_policy() override;
    void set_protection_policy(const std::vector<std::pair<KeyTypeId, bool>>& entries) override;

    /// Soft TEE: process id of the TA process (for diagnostics and tests);
    /// -1 when none runs or for other backends.
    long tee_process_id();

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

/// The TEEC_InitializeContext name for the options ("softtee:storage=...",
/// or empty for the default TEE). Throws on values the name cannot carry.
std::string tee_context_name(const TeeOptions& options);

}  // namespace teesigner::signerd
