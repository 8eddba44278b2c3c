#include "protected_key_service.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "key_usage.hpp"
#include "refusal.hpp"
#include "teesigner/core/payloads.hpp"

namespace teesigner::signerd {
namespace {

namespace prot = core::protection;
namespace payloads = core::payloads;

thread_local std::string t_client;
thread_local std::string t_method;

// The payload of a typed request reduced to what the rules compare; nothing
// when it does not decode (the TA then answers the precise error itself).
std::optional<prot::Signable> typed_signable(TypedPayload kind, ByteSpan payload) {
    switch (kind) {
        case TypedPayload::grandpa_vote: {
            auto vote = payloads::decode_grandpa_vote(payload);
            if (!vote) return std::nullopt;
            auto s = prot::signable_grandpa(*vote);
            if (!s) return std::nullopt;  // primary proposals are not slashable
            return std::move(s).value();
        }
        case TypedPayload::babe_header: {
            auto request = payloads::decode_babe_seal_request(payload);
            if (!request) return std::nullopt;
            return prot::signable_babe(*request);
        }
        case TypedPayload::beefy_commitment: {
            auto commitment = payloads::decode_beefy_commitment(payload);
            if (!commitment) return std::nullopt;
            return prot::signable_beefy(*commitment, payloads::beefy_prehash(payload));
        }
        case TypedPayload::para_statement: {
            auto statement = payloads::decode_para_statement(payload);
            if (!statement) return std::nullopt;
            return prot::signable_para(*statement, payload);
        }
    }
    return std::nullopt;
}

const char* typed_method(TypedPayload kind) {
    switch (kind) {
        case TypedPayload::grandpa_vote:
            return "signer_signGrandpaVote";
        case TypedPayload::babe_header:
            return "signer_signBabeHeader";
        case TypedPayload::beefy_commitment:
            return "signer_signBeefyCommitment";
        case TypedPayload::para_statement:
            return "signer_signParaStatement";
    }
    return "sign_typed";
}

}  // namespace

void set_audit_context(const std::string& client, const std::string& method) {
    t_client = client;
    t_method = method;
}

ProtectedKeyService::ProtectedKeyService(KeyService& inner, ProtectionDb& db, Metrics* metrics)
    : inner_(inner), db_(db), metrics_(metrics) {}

std::optional<bool> ProtectedKeyService::holds_cached(ByteSpan public_key,
                                                      const KeyTypeId& key_type) {
    std::pair<Bytes, KeyTypeId> key{Bytes(public_key.begin(), public_key.end()), key_type};
    std::lock_guard lock(held_mu_);
    if (auto it = held_.find(key); it != held_.end()) return it->second;
    return std::nullopt;
}

bool ProtectedKeyService::holds(ByteSpan public_key, const KeyTypeId& key_type) {
    if (auto known = holds_cached(public_key, key_type)) return *known;
    std::pair<Bytes, KeyTypeId> key{Bytes(public_key.begin(), public_key.end()), key_type};
    const bool held = inner_.has_keys({key});
    std::lock_guard lock(held_mu_);
    if (held_.size() > 4096) held_.clear();  // bounded: a client may probe many keys
    held_[std::move(key)] = held;
    return held;
}

ProtectedKeyService::Caller ProtectedKeyService::caller(const char* method) {
    return {t_client.empty() ? "local" : t_client, t_method.empty() ? method : t_method};
}

std::optional<int64_t> ProtectedKeyService::last_signed_at(ByteSpan public_key) {
    try {
        const auto at = db_.last_signed_at(core::to_hex(public_key, false));
        if (!at) return std::nullopt;
        return parse_iso_utc(*at);
    } catch (const ProtectionDbError& e) {
        // Unknown is not "never": refuse the retirement rather than guess.
        throw ServiceError(rpc_error::kTeeUnavailable,
                           std::string("protection database unavailable: ") + e.what());
    }
}

void ProtectedKeyService::audit(const Caller& who, const KeyTypeId& key_type, ByteSpan public_key,
                                const prot::Signable* s, const std::string& outcome,
                                const std::string& code) {
    AuditEntry e;
    e.client = who.client;
    e.method = who.method;
    e.key_type = key_type_string(key_type);
    e.public_key = core::to_hex(public_key, false);
    e.rule = prot::rule_name(s ? s->rule : prot::Rule::none);
    if (s) {
        e.position = s->position;
        e.payload_hash = core::to_hex(s->payload_hash, false);
    }
    e.outcome = outcome;
    e.code = code;
    if (const uint64_t failed = db_.take_audit_failures(); failed > 0 && metrics_)
        metrics_->inc("teesigner_audit_failures_total", {}, static_cast<double>(failed));
    try {
        db_.append_audit(e);
    } catch (const std::exception& ex) {
        // The audit trail is not a safety mechanism: its loss must not stop signing.
        if (metrics_) metrics_->inc("teesigner_audit_failures_total");
        spdlog::error("audit log: cannot append ({} {} {}): {}", e.method, e.outcome, e.code,
                      ex.what());
    }
}

void ProtectedKeyService::guard(const KeyTypeId& key_type, ByteSpan public_key,
                                const prot::Signable& s, const char* method) {
    prot::Decision d;
    // Timed whatever the outcome: a database that is slow to fail matters too.
    struct Timed {
        LazyHistogram& metric;
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        ~Timed() { metric.add(seconds_since(start)); }
    } timed{db_check_metric_};
    try {
        d = db_.check_and_record(public_key, s);
    } catch (const ProtectionDbRequestError& e) {
        // Not an outage: this request can never be recorded, so say so.
        audit(method, key_type, public_key, &s, "error", "protection_request_unrecordable");
        throw ServiceError(rpc_error::kInvalidParams,
                           std::string("not signed: the slashing protection database cannot "
                                       "record this payload (") +
                               e.what() + ")",
                           "protection_request_unrecordable");
    } catch (const std::exception& e) {
        spdlog::error("slashing protection database failed ({}): refusing to sign: {}",
                      db_.backend(), e.what());
        audit(method, key_type, public_key, &s, "error", "protection_db_unavailable");
        throw ServiceError(
            rpc_error::kInternalError,
            std::string("slashing protection database unavailable; not signed (") + e.what() + ")",
            "protection_db_unavailable");
    }
    if (d.allowed) return;
    ServiceError error = refusal_error(d.refusal);
    spdlog::warn(
        "slashing protection ({} database): refused {} for {} by {}: {} (earlier payload {})",
        db_.backend(), t_method.empty() ? method : t_method.c_str(), core::to_hex(public_key),
        t_client.empty() ? "local" : t_client.c_str(), error.what(),
        core::to_hex(d.refusal.earlier_payload_hash));
    audit(method, key_type, public_key, &s, "refused", error.rule());
    throw error;
}

void ProtectedKeyService::audit_failure(const Caller& who, const KeyTypeId& key_type,
                                        ByteSpan public_key, const prot::Signable* s,
                                        const ServiceError& e) {
    const bool refused =
        e.code() == rpc_error::kSlashingRefused || e.code() == rpc_error::kPolicyRefused;
    audit(who, key_type, public_key, s, refused ? "refused" : "error",
          e.rule().empty() ? std::to_string(e.code()) : e.rule());
}

template <class F>
auto ProtectedKeyService::signed_by_inner(const char* method, const KeyTypeId& key_type,
                                          ByteSpan public_key, const prot::Signable* s, F&& call) {
    try {
        auto result = call();
        audit(method, key_type, public_key, s, "signed", "");
        return result;
    } catch (const ServiceError& e) {
        audit_failure(caller(method), key_type, public_key, s, e);
        throw;
    }
}

template <class T, class Start>
bool ProtectedKeyService::audited_async(const char* method, const KeyTypeId& key_type,
                                        ByteSpan public_key, Completion<T> done, Start&& start) {
    return start([this, who = caller(method), key_type,
                  public_key = Bytes(public_key.begin(), public_key.end()),
                  done = std::move(done)](Outcome<T> outcome) {
        if (!outcome.error) {
            audit(who, key_type, public_key, nullptr, "signed", "");
        } else {
            try {
                std::rethrow_exception(outcome.error);
            } catch (const ServiceError& e) {
                audit_failure(who, key_type, public_key, nullptr, e);
            } catch (...) {  // not audited, as in signed_by_inner
            }
        }
        done(std::move(outcome));
    });
}

Bytes ProtectedKeyService::sign(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                                ByteSpan message) {
    // Every key type the key is held under decides how the bytes are read,
    // as in the TA (a GRANDPA key stored under "test" is still a GRANDPA key).
    std::vector<prot::KeyTypeId> types{key_type};
    for (const auto& t : {prot::kGrandpaKeyType, prot::kParaKeyType})
        if (t != key_type && holds(public_key, t)) types.push_back(t);
    const prot::Classified c = prot::classify_message(types, message);
    const prot::Signable* s = nullptr;
    if (c.cls == prot::MessageClass::protected_payload) {
        guard(key_type, public_key, c.signable, "keystore_sign");
        s = &c.signable;
    }
    return signed_by_inner("keystore_sign", key_type, public_key, s,
                           [&] { return inner_.sign(key_type, scheme, public_key, message); });
}

Bytes ProtectedKeyService::ecdsa_sign_prehashed(const KeyTypeId& key_type, ByteSpan public_key,
                                                const ByteArray<32>& prehash) {
    // A prehash is opaque: the TA's opaque-signing policy decides.
    return signed_by_inner("keystore_ecdsaSignPrehashed", key_type, public_key, nullptr, [&] {
        return inner_.ecdsa_sign_prehashed(key_type, public_key, prehash);
    });
}

bool ProtectedKeyService::sign_async(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                                     ByteSpan message, Completion<Bytes> done) {
    std::vector<prot::KeyTypeId> types{key_type};
    for (const auto& t : {prot::kGrandpaKeyType, prot::kParaKeyType}) {
        if (t == key_type) continue;
        const std::optional<bool> held = holds_cached(public_key, t);
        if (!held) return false;  // asking the TEE blocks: sign() on a worker learns it
        if (*held) types.push_back(t);
    }
    if (prot::classify_message(types, message).cls == prot::MessageClass::protected_payload)
        return false;  // the database decides first, and that blocks
    return audited_async(
        "keystore_sign", key_type, public_key, std::move(done), [&](Completion<Bytes> audited) {
            return inner_.sign_async(key_type, scheme, public_key, message, std::move(audited));
        });
}

bool ProtectedKeyService::sign_typed_async(TypedPayload kind, const KeyTypeId& key_type,
                                           ByteSpan public_key, ByteSpan payload,
                                           Completion<SignedPayload> done) {
    if (typed_signable(kind, payload)) return false;  // the database decides first
    return audited_async(typed_method(kind), key_type, public_key, std::move(done),
                         [&](Completion<SignedPayload> audited) {
                             return inner_.sign_typed_async(kind, key_type, public_key, payload,
                                                            std::move(audited));
                         });
}

SignedPayload ProtectedKeyService::sign_typed(TypedPayload kind, const KeyTypeId& key_type,
                                              ByteSpan public_key, ByteSpan payload) {
    const char* method = typed_method(kind);
    const std::optional<prot::Signable> s = typed_signable(kind, payload);
    if (s) guard(key_type, public_key, *s, method);
    return signed_by_inner(method, key_type, public_key, s ? &*s : nullptr,
                           [&] { return inner_.sign_typed(kind, key_type, public_key, payload); });
}

KeyServiceHealth ProtectedKeyService::health() {
    KeyServiceHealth h = inner_.health();
    try {
        db_.ping();
    } catch (const std::exception& e) {
        h.ok = false;
        if (!h.detail.empty()) h.detail += "; ";
        h.detail += std::string("protection database (") + db_.backend() + "): " + e.what();
    }
    return h;
}

ProtectionPage ProtectedKeyService::export_protection(uint64_t cursor, uint32_t max_bytes) {
    // Merge both histories through a core Protector: the same conservative
    // rules as an import (union of records, maximum watermarks).
    prot::MemoryBlobStore store;
    prot::Protector merged(store);
    for (uint64_t c = 0;;) {
        ProtectionPage page = inner_.export_protection(c, 0);
        if (!merged.import(page.document))
            throw ServiceError(rpc_error::kInternalError, "the TEE exported an invalid document");
        if (!page.next) break;
        c = *page.next;
    }
    try {
        if (!merged.import(db_.export_document()))
            throw ServiceError(rpc_error::kInternalError,
                               "the protection database exported an invalid document");
    } catch (const ProtectionDbError& e) {
        throw ServiceError(rpc_error::kInternalError,
                           std::string("slashing protection database unavailable: ") + e.what());
    }
    auto all = merged.export_all();
    if (!all) throw ServiceError(rpc_error::kInternalError, "cannot merge the protection history");
    auto items = prot::decode_document(*all);
    if (!items)
        throw ServiceError(rpc_error::kInternalError, "cannot merge the protection history");

    // Pages of whole items, under max_bytes unless one item is larger.
    const size_t limit = max_bytes == 0 ? 64 * 1024 : max_bytes;
    if (cursor > items->size())
        throw ServiceError(rpc_error::kInvalidParams, "cursor: out of range");
    std::vector<prot::History> page;
    size_t size = 16;  // magic, version, vector length
    size_t i = static_cast<size_t>(cursor);
    for (; i < items->size(); ++i) {
        const size_t item_size = prot::encode_document({(*items)[i]}).size();
        if (!page.empty() && size + item_size > limit) break;
        page.push_back((*items)[i]);
        size += item_size;
    }
    ProtectionPage out;
    out.document = prot::encode_document(page);
    if (i < items->size()) out.next = i;
    return out;
}

ProtectionImport ProtectedKeyService::import_protection(ByteSpan document) {
    ProtectionImport report = inner_.import_protection(document);
    try {
        const prot::ImportReport db = db_.import_document(document);
        spdlog::info(
            "protection import into the {} database: {} items, {} records added, {} "
            "conflicting, {} watermarks raised",
            db_.backend(), db.items, db.records_added, db.records_conflicting,
            db.watermarks_raised);
    } catch (const ProtectionDbError& e) {
        throw ServiceError(rpc_error::kInternalError,
                           std::string("imported into the TEE but not into the protection "
                                       "database: ") +
                               e.what());
    }
    return report;
}

}  // namespace teesigner::signerd
