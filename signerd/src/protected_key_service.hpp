// ProtectedKeyService: a KeyService decorator that runs the host-side slashing
// protection database (protection_db.hpp) in front of the TEE.
//
// For a typed signing request, and for raw bytes that classify as a protected
// payload (core::protection::classify_message with every key type the key is
// held under), it decodes the payload on the host and calls
// ProtectionDb::check_and_record first: a conflict is refused with the same
// ServiceError (-32010, refusal code, rule, position, earlier payload hash) the
// TA path answers, and the TEE is never asked. Only when the database has
// committed the record does the inner service (the TA) sign, applying its own
// sealed-state check again. So a crash can lose a signature but never allow a
// conflicting one, and several signers sharing one PostgreSQL database cannot
// both sign two sides of a vote. A database failure refuses (fail closed).
//
// Every signing call is appended to the audit log (client, method, key type,
// public key, rule, position, payload hash, outcome); never message bytes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "key_service.hpp"
#include "metrics.hpp"
#include "protection_db.hpp"

namespace teesigner::signerd {

/// The calling client and RPC method, for audit rows written on this thread.
/// serve.cpp sets it for each call before the handler runs.
void set_audit_context(const std::string& client, const std::string& method);

class ProtectedKeyService final : public KeyService {
  public:
    /// `inner`, `db` and `metrics` (may be null) must outlive this object.
    ProtectedKeyService(KeyService& inner, ProtectionDb& db, Metrics* metrics);

    Bytes rotate_session_keys() override {
        forget_key_types();
        return inner_.rotate_session_keys();
    }
    std::vector<std::pair<Bytes, KeyTypeId>> decode_session_keys(ByteSpan blob) override {
        return inner_.decode_session_keys(blob);
    }
    bool has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>& keys) override {
        return inner_.has_keys(keys);
    }
    std::vector<Bytes> public_keys(const KeyTypeId& key_type, Scheme scheme) override {
        return inner_.public_keys(key_type, scheme);
    }
    Bytes generate_new(const KeyTypeId& key_type, Scheme scheme,
                       const std::optional<std::string>& seed) override {
        forget_key_types();
        return inner_.generate_new(key_type, scheme, seed);
    }
    Bytes sign(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
               ByteSpan message) override;
    VrfSignature sr25519_vrf_sign(const KeyTypeId& key_type, ByteSpan public_key,
                                  const VrfSignData& data) override {
        return inner_.sr25519_vrf_sign(key_type, public_key, data);
    }
    Bytes ecdsa_sign_prehashed(const KeyTypeId& key_type, ByteSpan public_key,
                               const ByteArray<32>& prehash) override;
    Attestation attest(ByteSpan nonce) override { return inner_.attest(nonce); }
    /// The TEE's health, unhealthy too when the database does not answer.
    KeyServiceHealth health() override;

    SignedPayload sign_typed(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                             ByteSpan payload) override;
    /// Asynchronous only where the database has no say (opaque bytes, VRFs,
    /// typed payloads without a protected position) and the key types a key
    /// is held under are known: a database check blocks, so those return
    /// false and the RPC layer runs the blocking method on a worker.
    bool sign_async(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key, ByteSpan message,
                    Completion<Bytes> done) override;
    bool sr25519_vrf_sign_async(const KeyTypeId& key_type, ByteSpan public_key,
                                const VrfSignData& data, Completion<VrfSignature> done) override {
        return inner_.sr25519_vrf_sign_async(key_type, public_key, data, std::move(done));
    }
    bool sign_typed_async(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                          ByteSpan payload, Completion<SignedPayload> done) override;
    /// The TA's history merged with the database's (conservatively, through a
    /// core Protector), paged by whole items.
    ProtectionPage export_protection(uint64_t cursor, uint32_t max_bytes) override;
    /// Into the TA, then into the database; the TA's report is returned.
    ProtectionImport import_protection(ByteSpan document) override;
    std::vector<std::pair<KeyTypeId, bool>> protection_policy() override {
        return inner_.protection_policy();
    }
    void set_protection_policy(const std::vector<std::pair<KeyTypeId, bool>>& entries) override {
        inner_.set_protection_policy(entries);
    }
    void retire_key(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key) override {
        forget_key_types();
        inner_.retire_key(key_type, scheme, public_key);
        forget_key_types();
    }
    /// The newest "signed" row of the audit log for the key (every instance
    /// sharing the database writes there).
    std::optional<int64_t> last_signed_at(ByteSpan public_key) override;

  private:
    /// Refuse (throw) unless the database allows `s`; the record is committed
    /// when this returns.
    void guard(const KeyTypeId& key_type, ByteSpan public_key, const core::protection::Signable& s,
               const char* method);
    bool holds(ByteSpan public_key, const KeyTypeId& key_type);
    /// holds() from the cache only: nullopt when the TEE would have to be asked.
    std::optional<bool> holds_cached(ByteSpan public_key, const KeyTypeId& key_type);
    /// A key may have been added under another type: ask the TEE again.
    void forget_key_types() {
        std::lock_guard lock(held_mu_);
        held_.clear();
    }
    /// Who is calling, for audit rows: the thread's audit context
    /// (set_audit_context), captured before an asynchronous call moves on.
    struct Caller {
        std::string client;
        std::string method;
    };
    static Caller caller(const char* method);
    void audit(const char* method, const KeyTypeId& key_type, ByteSpan public_key,
               const core::protection::Signable* s, const std::string& outcome,
               const std::string& code) {
        audit(caller(method), key_type, public_key, s, outcome, code);
    }
    void audit(const Caller& who, const KeyTypeId& key_type, ByteSpan public_key,
               const core::protection::Signable* s, const std::string& outcome,
               const std::string& code);
    /// Audit the outcome of a signing call's ServiceError as signed_by_inner does.
    void audit_failure(const Caller& who, const KeyTypeId& key_type, ByteSpan public_key,
                       const core::protection::Signable* s, const ServiceError& e);
    /// Start the inner asynchronous call `start(completion)`, auditing its outcome.
    template <class T, class Start>
    bool audited_async(const char* method, const KeyTypeId& key_type, ByteSpan public_key,
                       Completion<T> done, Start&& start);
    /// Run the inner signing call, auditing its outcome.
    template <class F>
    auto signed_by_inner(const char* method, const KeyTypeId& key_type, ByteSpan public_key,
                         const core::protection::Signable* s, F&& call);

    KeyService& inner_;
    ProtectionDb& db_;
    Metrics* metrics_;
    LazyHistogram db_check_metric_{metrics_, Metrics::kProtectionDbCheck};
    std::mutex held_mu_;
    // has_key answers (keys are added and retired only through this object,
    // which clears them then).
    std::map<std::pair<Bytes, KeyTypeId>, bool> held_;
};

}  // namespace teesigner::signerd
