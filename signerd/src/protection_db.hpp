// Host-side slashing-protection state and the audit log, in a relational
// database: embedded SQLite for one signer (the default), PostgreSQL for
// several signerd instances (one per TEE) that hold the same keys.
//
// check_and_record() applies the rules of core/include/teesigner/core/protection.hpp
// (same Signable in, same Decision and Refusal out, so a refusal from the
// database looks exactly like one from the TA) inside a transaction: SQLite
// BEGIN IMMEDIATE, PostgreSQL SERIALIZABLE with bounded retries on
// serialization failures. The record is committed before it returns; a
// refusal writes nothing. Any database error throws ProtectionDbError: the
// caller must not sign (fail closed).
//
// Group commit: concurrent calls queue, and whichever caller finds no batch
// running becomes the leader and runs up to kMaxBatch queued requests in ONE
// transaction, deciding them in arrival order as if they ran one after the
// other (the second of two conflicting votes in a batch is refused). Every
// caller gets its Decision only after that transaction committed; if it
// fails, every caller of the batch gets the ProtectionDbError.
//
// Tables (schema_version 1; readable with sqlite3 or psql; keys and hashes are
// lower-case hex without 0x):
//   records(public_key, rule, major, minor, vote, kind, sides, subject, number,
//           payload_hash, created_at)  primary key (public_key, rule, major, minor, vote)
//       vote = "prevote"/"precommit" (grandpa), "" (babe, beefy), the candidate
//       hash (para: sides OR-ed in one row per candidate)
//   watermarks(public_key, rule, major, minor)  primary key (public_key, rule)
//   audit_log(id, at, instance, client, method, key_type, public_key, rule,
//             major, minor, payload_hash, outcome, code)
//   schema_version(version)
// SQLite stores `records` WITHOUT ROWID (one b-tree in primary-key order); a
// database written before that layout (up to e64422c) is rebuilt once when a
// signer opens it, in one transaction. The columns, the SQL and
// schema_version stay the same, so an earlier signer still opens it.
// Positions are stored as signed 64-bit integers: a position at or above 2^63
// (no real chain reaches it) is refused rather than stored out of order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/protection.hpp"

namespace teesigner::signerd {

class ProtectionDbError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The request itself cannot be recorded (a position at or above 2^63, which
/// the database's signed 64-bit columns cannot hold; a malformed signable):
/// not a database failure, and the same request will never succeed.
class ProtectionDbRequestError : public ProtectionDbError {
  public:
    using ProtectionDbError::ProtectionDbError;
};

struct ProtectionDbOptions {
    /// "sqlite" or "postgres".
    std::string backend = "sqlite";
    /// SQLite: the database file (created 0600 with its directory).
    std::string sqlite_path;
    /// PostgreSQL: a libpq connection URI or key=value string.
    std::string postgres_url;
    /// History kept per key (the core's Limits; para_bucket_records is not
    /// enforced: a database is not short of space).
    core::protection::Limits limits;
    /// PostgreSQL connections: one runs the current batch of checks, the
    /// others serve the audit writer, export, import and health checks.
    unsigned pool_size = 4;
    /// Attempts of one transaction on serialization failures and lost connections.
    int max_attempts = 10;
    /// Audit rows kept (the oldest are pruned now and then); 0 = unbounded.
    uint64_t audit_max_rows = 1'000'000;
    /// Written into each audit row: which signer instance (e.g. its host name).
    std::string instance;
};

/// One audit-log row. Never holds secrets: only public keys, hashes and outcomes.
struct AuditEntry {
    std::string at;  // UTC, ISO 8601 (filled in when empty)
    std::string instance;
    std::string client;
    std::string method;
    std::string key_type;
    std::string public_key;  // hex
    std::string rule;        // "grandpa", ..., "none"
    core::protection::Position position;
    std::string payload_hash;  // hex, empty when none
    std::string outcome;       // "signed", "refused", "error"
    std::string code;          // refusal code or error code, empty when signed
};

/// One request of check_and_record_batch().
struct CheckItem {
    core::ByteSpan public_key;
    const core::protection::Signable* signable = nullptr;
};

/// Group-commit counters (tests, metrics).
struct ProtectionDbStats {
    uint64_t batches = 0;        // transactions of check_and_record requests committed
    uint64_t items = 0;          // requests decided in them
    uint64_t largest_batch = 0;  // most requests in one of them
};

class ProtectionDb {
  public:
    /// Most check_and_record calls one queued transaction decides.
    static constexpr size_t kMaxBatch = 64;

    virtual ~ProtectionDb() = default;

    /// Decide, and when allowed and new, commit the record before returning.
    /// Throws ProtectionDbError when the database cannot decide (do not sign).
    /// Concurrent calls share transactions (group commit, see above).
    virtual core::protection::Decision check_and_record(core::ByteSpan public_key,
                                                        const core::protection::Signable& s) = 0;
    /// Decide `items` in order in one transaction (each against the database
    /// and the items before it) and commit before returning. All or nothing:
    /// throws ProtectionDbError, having recorded none of them, when any item
    /// is invalid or the transaction fails.
    virtual std::vector<core::protection::Decision> check_and_record_batch(
        const std::vector<CheckItem>& items) = 0;
    virtual ProtectionDbStats stats() const { return {}; }
    /// Every key's history (watermarks and records), as export items.
    virtual std::vector<core::protection::History> history() = 0;
    /// history() as an interchange Document.
    core::Bytes export_document() { return core::protection::encode_document(history()); }
    /// Merge a Document conservatively (union of records, local wins, para
    /// sides OR-ed, maximum watermarks), like core::protection::Protector::import.
    /// Throws ProtectionDbError (invalid document or database failure).
    virtual core::protection::ImportReport import_document(core::ByteSpan document) = 0;

    /// Queue one audit row; a background writer stores queued rows in batches.
    virtual void append_audit(const AuditEntry& entry) = 0;
    /// Rows the background writer failed to store since the last call.
    virtual uint64_t take_audit_failures() noexcept = 0;
    /// The newest `n` audit rows, oldest first (tests, tools); waits for queued rows.
    virtual std::vector<AuditEntry> audit_tail(size_t n) = 0;
    /// `at` of the newest audit row with outcome "signed" for the public key
    /// (lower-case hex without 0x), queued rows included; nullopt when none
    /// (signer_retireKeys). Throws ProtectionDbError.
    virtual std::optional<std::string> last_signed_at(const std::string& public_key_hex) = 0;

    /// "sqlite" or "postgres".
    virtual std::string backend() const = 0;
    /// Cheap round trip; throws ProtectionDbError when the database is unreachable.
    virtual void ping() = 0;
};

/// Open (and create the schema of) the database. Throws ProtectionDbError.
std::unique_ptr<ProtectionDb> open_protection_db(const ProtectionDbOptions& options);

/// `url` with any password replaced by "***" (for logs).
std::string redact_postgres_url(const std::string& url);

}  // namespace teesigner::signerd
