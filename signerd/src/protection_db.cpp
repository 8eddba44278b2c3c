#include "protection_db.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "sql_session.hpp"

namespace teesigner::signerd {
namespace {

namespace prot = core::protection;
using core::Bytes;
using core::ByteSpan;
using core::Hash256;
using prot::Decision;
using prot::Position;
using prot::Record;
using prot::Rule;
using prot::Signable;
using sqldb::DbError;
using sqldb::Pool;
using sqldb::Row;
using sqldb::Session;

constexpr int kSchemaVersion = 1;
constexpr uint64_t kMaxStored = uint64_t{1} << 63;

// ---- Helpers ----------------------------------------------------------------------------

// Keys and hashes are stored as bare lower-case hex (no "0x": the stored format).
std::string db_text(ByteSpan b) {
    return core::to_hex(b, false);
}

Hash256 hash_of(const std::string& text) {
    auto h = core::from_hex_fixed<32>(text);
    if (!h) throw ProtectionDbError("corrupt protection database: bad hash \"" + text + "\"");
    return *h;
}

int64_t to_db(uint64_t v) {
    return static_cast<int64_t>(v);
}

uint64_t from_db(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str() || *end != '\0' || v < 0)
        throw ProtectionDbError("corrupt protection database: bad integer \"" + text + "\"");
    return static_cast<uint64_t>(v);
}

const char* rule_text(Rule r) {
    return prot::rule_name(r);
}

Rule rule_of(const std::string& text) {
    for (Rule r : {Rule::grandpa, Rule::babe, Rule::beefy, Rule::para})
        if (text == prot::rule_name(r)) return r;
    throw ProtectionDbError("corrupt protection database: unknown rule \"" + text + "\"");
}

// What identifies a vote within its position (part of the primary key).
std::string vote_key(Rule rule, const Record& r) {
    if (rule == Rule::grandpa) return r.kind == 0 ? "prevote" : "precommit";
    if (rule == Rule::para) return db_text(r.subject);
    return "";
}

std::string now_utc() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[128];  // room for any int values (GCC checks the worst case)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

// ---- The database --------------------------------------------------------------------------

const char* kRecordColumns = "major, minor, kind, sides, subject, number, payload_hash";

Record record_of(const Row& row) {
    Record r;
    r.position = {from_db(row[0]), from_db(row[1])};
    r.kind = static_cast<uint8_t>(from_db(row[2]));
    r.sides = static_cast<uint8_t>(from_db(row[3]));
    r.subject = hash_of(row[4]);
    r.number = static_cast<uint32_t>(from_db(row[5]));
    r.payload_hash = hash_of(row[6]);
    return r;
}

class SqlProtectionDb final : public ProtectionDb {
  public:
    SqlProtectionDb(const ProtectionDbOptions& o, std::function<std::unique_ptr<Session>()> factory,
                    unsigned pool_size)
        : options_(o), pool_(std::move(factory), pool_size) {
        audit_writer_ = std::thread([this] { write_audit_rows(); });
    }

    ~SqlProtectionDb() override {
        {
            std::lock_guard lock(audit_mu_);
            audit_stop_ = true;
        }
        audit_wake_.notify_all();
        audit_writer_.join();  // writes what is still queued first
    }

    // SQLite keeps `records` WITHOUT ROWID: one b-tree ordered by the primary
    // key instead of a rowid table plus an index on that key, so each insert
    // and each pruning delete touches one tree and writes about half the WAL
    // frames (the largest part of the signing batch's time in SQLite:
    // docs/PERFORMANCE.md). The columns and the SQL are the same either way.
    static std::string records_ddl(const std::string& table, bool without_rowid) {
        return "CREATE TABLE IF NOT EXISTS " + table +
               " ("
               " public_key TEXT NOT NULL, rule TEXT NOT NULL, major BIGINT NOT NULL,"
               " minor BIGINT NOT NULL, vote TEXT NOT NULL, kind INTEGER NOT NULL,"
               " sides INTEGER NOT NULL, subject TEXT NOT NULL, number BIGINT NOT NULL,"
               " payload_hash TEXT NOT NULL, created_at TEXT NOT NULL,"
               " PRIMARY KEY (public_key, rule, major, minor, vote))" +
               (without_rowid ? " WITHOUT ROWID;" : ";");
    }

    // A protection database written before `records` was WITHOUT ROWID gets
    // its table rebuilt once, inside the schema transaction: a failure rolls
    // back to the old table, and a signer of an earlier version still reads
    // the new one (same columns, same schema_version).
    static void migrate_records_without_rowid(Session& s) {
        const auto table =
            s.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'", {});
        if (table.size() != 1 || table[0].empty())
            throw ProtectionDbError("protection database: no records table after creating it");
        std::string sql = table[0][0];
        std::transform(sql.begin(), sql.end(), sql.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (sql.find("WITHOUT ROWID") != std::string::npos) return;
        const char* columns =
            "public_key, rule, major, minor, vote, kind, sides, subject, number, payload_hash,"
            " created_at";
        s.exec("DROP TABLE IF EXISTS records_without_rowid;" +
               records_ddl("records_without_rowid", true));
        s.exec(std::string("INSERT INTO records_without_rowid (") + columns + ") SELECT " +
               columns + " FROM records;");
        const uint64_t old_rows = from_db(s.query("SELECT COUNT(*) FROM records", {})[0][0]);
        const uint64_t new_rows =
            from_db(s.query("SELECT COUNT(*) FROM records_without_rowid", {})[0][0]);
        if (old_rows != new_rows)
            throw ProtectionDbError("protection database: rebuilding the records table copied " +
                                    std::to_string(new_rows) + " of " + std::to_string(old_rows) +
                                    " rows; left unchanged");
        s.exec("DROP TABLE records; ALTER TABLE records_without_rowid RENAME TO records;");
        spdlog::info("protection database: records table rebuilt WITHOUT ROWID ({} records), once",
                     old_rows);
    }

    void create_schema() {
        const bool pg = options_.backend == "postgres";
        const std::string id = pg ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY";
        const std::string ddl =
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);" +
            records_ddl("records", !pg) +
            "CREATE TABLE IF NOT EXISTS watermarks ("
            " public_key TEXT NOT NULL, rule TEXT NOT NULL, major BIGINT NOT NULL,"
            " minor BIGINT NOT NULL, PRIMARY KEY (public_key, rule));"
            "CREATE TABLE IF NOT EXISTS audit_log (" +
            id +
            ", at TEXT NOT NULL, instance TEXT NOT NULL, client TEXT NOT NULL,"
            " method TEXT NOT NULL, key_type TEXT NOT NULL, public_key TEXT NOT NULL,"
            " rule TEXT NOT NULL, major BIGINT NOT NULL, minor BIGINT NOT NULL,"
            " payload_hash TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL);";
        transact([&](Session& s) {
            // Instances starting together must not race on CREATE TABLE.
            if (pg) s.exec("SELECT pg_advisory_xact_lock(7346029115)");
            s.exec(ddl);
            auto rows = s.query("SELECT version FROM schema_version", {});
            if (rows.empty()) {
                s.query("INSERT INTO schema_version (version) VALUES (?1)",
                        {int64_t{kSchemaVersion}});
            } else if (rows.size() != 1 || from_db(rows[0][0]) != kSchemaVersion) {
                throw ProtectionDbError("protection database has schema version " + rows[0][0] +
                                        "; this signer understands " +
                                        std::to_string(kSchemaVersion));
            }
            if (!pg) migrate_records_without_rowid(s);
            return true;
        });
    }

    // Queued: whichever caller finds no batch running becomes the leader and
    // decides everything queued (up to kMaxBatch) in one transaction, like the
    // TEE's group commit (tee_key_service.cpp). Each caller waits for the
    // commit of the batch that holds its request.
    Decision check_and_record(ByteSpan public_key, const Signable& s) override {
        validate(public_key, s);  // a bad request must not fail the others' batch
        if (s.rule == Rule::none) return prot::allowed(false);
        Job job{db_text(public_key), &s};
        std::unique_lock lock(queue_mu_);
        queue_.push_back(&job);
        while (!job.done) {
            if (leading_) {
                job.wake.wait(lock);
                continue;
            }
            leading_ = true;
            std::vector<Job*> jobs;
            while (!queue_.empty() && jobs.size() < kMaxBatch) {
                jobs.push_back(queue_.front());
                queue_.pop_front();
            }
            lock.unlock();
            run_jobs(jobs);
            lock.lock();
            leading_ = false;
            // Wake only this batch's callers and the next leader, not every
            // waiting thread (64 RPC workers may wait here).
            for (Job* j : jobs) {
                j->done = true;
                j->wake.notify_one();
            }
            if (!queue_.empty()) queue_.front()->wake.notify_one();
        }
        if (job.error) std::rethrow_exception(job.error);
        return std::move(job.decision);
    }

    std::vector<Decision> check_and_record_batch(const std::vector<CheckItem>& items) override {
        std::deque<Job> jobs;  // Job is not movable
        for (const CheckItem& item : items) {
            if (item.signable == nullptr) throw ProtectionDbError("batch item without a request");
            validate(item.public_key, *item.signable);
            jobs.emplace_back(db_text(item.public_key), item.signable);
        }
        std::vector<const Job*> order;
        for (const Job& j : jobs) order.push_back(&j);
        return decide_batch(order);
    }

    ProtectionDbStats stats() const override {
        std::lock_guard lock(stats_mu_);
        return stats_;
    }

    std::vector<prot::History> history() override {
        return transact([&](Session& db) {
            std::map<std::pair<std::string, std::string>, prot::History> items;
            for (const Row& w :
                 db.query("SELECT public_key, rule, major, minor FROM watermarks", {})) {
                prot::History& h = item(items, w[0], w[1]);
                h.watermark = {from_db(w[2]), from_db(w[3])};
            }
            for (const Row& r : db.query(
                     std::string("SELECT public_key, rule, ") + kRecordColumns + " FROM records",
                     {})) {
                prot::History& h = item(items, r[0], r[1]);
                h.records.push_back(record_of(Row(r.begin() + 2, r.end())));
            }
            std::vector<prot::History> out;
            for (auto& [key, h] : items) {
                std::sort(h.records.begin(), h.records.end(),
                          [rule = h.rule](const Record& a, const Record& b) {
                              return prot::record_less(rule, a, b);
                          });
                out.push_back(std::move(h));
            }
            return out;
        });
    }

    prot::ImportReport import_document(ByteSpan document) override {
        auto decoded = prot::decode_document(document);
        if (!decoded) throw ProtectionDbError("not a valid protection interchange document");
        for (const prot::History& h : *decoded) {
            if (h.watermark.major >= kMaxStored || h.watermark.minor >= kMaxStored)
                throw ProtectionDbError("document: a watermark is out of the database's range");
            for (const Record& r : h.records)
                if (r.position.major >= kMaxStored || r.position.minor >= kMaxStored)
                    throw ProtectionDbError("document: a position is out of the database's range");
        }
        return transact([&](Session& db) {
            carried_stale_ = true;  // our own commit does not move SQLite's data_version
            prot::ImportReport report;
            for (const prot::History& h : *decoded) merge(db, h, report);
            return report;
        });
    }

    // Audit rows are queued and written by one background thread, many rows per
    // transaction: a transaction (and, for PostgreSQL, an fsync) per signature
    // would put the audit trail, which is not a safety mechanism, on the path of
    // every request. A full queue makes callers wait (nothing is dropped).
    void append_audit(const AuditEntry& e) override {
        AuditEntry row = e;
        if (row.at.empty()) row.at = now_utc();
        if (row.instance.empty()) row.instance = options_.instance;
        std::unique_lock lock(audit_mu_);
        audit_idle_.wait(lock, [this] { return audit_queue_.size() < kAuditQueueMax; });
        audit_queue_.push_back(std::move(row));
        // The writer waits for a first row, then lingers until a batch is full.
        if (audit_queue_.size() == 1 || audit_queue_.size() == kAuditBatch)
            audit_wake_.notify_one();
    }

    uint64_t take_audit_failures() noexcept override { return audit_failures_.exchange(0); }

    std::vector<AuditEntry> audit_tail(size_t n) override {
        flush_audit();
        auto rows = transact([&](Session& db) {
            return db.query(
                "SELECT at, instance, client, method, key_type, public_key, rule, major, minor, "
                "payload_hash, outcome, code FROM audit_log ORDER BY id DESC LIMIT ?1",
                {static_cast<int64_t>(n)});
        });
        std::vector<AuditEntry> out;
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
            const Row& r = *it;
            AuditEntry e;
            e.at = r[0];
            e.instance = r[1];
            e.client = r[2];
            e.method = r[3];
            e.key_type = r[4];
            e.public_key = r[5];
            e.rule = r[6];
            e.position = {from_db(r[7]), from_db(r[8])};
            e.payload_hash = r[9];
            e.outcome = r[10];
            e.code = r[11];
            out.push_back(std::move(e));
        }
        return out;
    }

    std::optional<std::string> last_signed_at(const std::string& public_key_hex) override {
        flush_audit();
        auto rows = transact([&](Session& db) {
            return db.query(
                "SELECT at FROM audit_log WHERE public_key = ?1 AND outcome = 'signed' "
                "ORDER BY id DESC LIMIT 1",
                {public_key_hex});
        });
        if (rows.empty() || rows[0].empty()) return std::nullopt;
        return rows[0][0];
    }

    std::string backend() const override { return options_.backend; }

    void ping() override {
        transact([](Session& db) {
            db.query("SELECT 1", {});
            return true;
        });
    }

  private:
    static constexpr size_t kAuditQueueMax = 10'000;
    static constexpr size_t kAuditBatch = 512;
    static constexpr std::chrono::milliseconds kAuditLinger{20};

    struct Job {
        Job(std::string key, const Signable* s) : pk(std::move(key)), signable(s) {}
        std::string pk;  // hex
        const Signable* signable = nullptr;
        Decision decision;
        std::exception_ptr error;
        bool done = false;             // under queue_mu_
        std::condition_variable wake;  // done, or the next leader is wanted
    };

    static void validate(ByteSpan public_key, const Signable& s) {
        if (s.rule == Rule::none) return;
        if (public_key.empty() || public_key.size() > 64)
            throw ProtectionDbRequestError("public key: 1 to 64 bytes");
        if (s.position.major >= kMaxStored || s.position.minor >= kMaxStored)
            throw ProtectionDbRequestError("position out of the database's range (>= 2^63)");
        if (s.rule == Rule::para && s.candidates.empty())
            throw ProtectionDbRequestError("para statement without candidates");
        if (s.rule == Rule::grandpa && s.kind > 1)
            throw ProtectionDbRequestError("grandpa: only prevotes and precommits are recorded");
    }

    // The leader's part: one transaction for `jobs`; every job gets its
    // decision only after the commit, or the batch's error (fail closed).
    void run_jobs(const std::vector<Job*>& jobs) {
        try {
            std::vector<const Job*> order(jobs.begin(), jobs.end());
            std::vector<Decision> decisions = decide_batch(order);
            for (size_t i = 0; i < jobs.size(); ++i) jobs[i]->decision = std::move(decisions[i]);
        } catch (...) {
            const std::exception_ptr error = std::current_exception();
            for (Job* j : jobs) j->error = error;
        }
    }

    // State of one (key, rule) while a batch runs: the watermark and the newest
    // positions on record, so that the core's prune rule (keep the newest
    // `limit` positions) is applied in memory per request and written to the
    // database once per key at the end of the batch, not queried per record.
    struct KeyState {
        Position watermark;
        std::set<Position> positions;  // the newest limit+1 distinct positions (at most)
        bool pruned = false;           // the watermark rose: write it, delete below it
    };
    using BatchState = std::map<std::pair<std::string, Rule>, KeyState>;

    std::vector<Decision> decide_batch(const std::vector<const Job*>& jobs) {
        std::vector<std::string> locks;
        for (const Job* j : jobs)
            if (j->signable->rule != Rule::none)
                locks.push_back(j->pk + ":" + rule_text(j->signable->rule));
        // Sorted: two signers locking overlapping sets of keys cannot deadlock.
        std::sort(locks.begin(), locks.end());
        locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
        BatchState state;
        std::optional<int64_t> version;  // SQLite: the others' commits, to carry `state` over
        auto decisions = transact(
            [&](Session& db) {
                // Rebuilt on every attempt: a retried transaction starts from
                // the database, or from what the last committed batch left.
                state.clear();
                version = db.others_commit_version();
                if (version) take_carried_state(db, *version, state);
                std::vector<Decision> out;
                out.reserve(jobs.size());
                for (const Job* j : jobs) out.push_back(decide(db, state, j->pk, *j->signable));
                for (auto& [key, k] : state) {
                    if (!k.pruned) continue;
                    set_watermark(db, key.first, key.second, k.watermark);
                    delete_below(db, key.first, key.second, k.watermark);
                }
                return out;
            },
            locks,
            [&](Session& db) {
                if (version) carry_state(db, *version, state);
            });
        std::lock_guard lock(stats_mu_);
        ++stats_.batches;
        stats_.items += jobs.size();
        stats_.largest_batch = std::max<uint64_t>(stats_.largest_batch, jobs.size());
        return decisions;
    }

    void write_audit_rows() {
        std::unique_lock lock(audit_mu_);
        for (;;) {
            audit_wake_.wait(lock, [this] { return audit_stop_ || !audit_queue_.empty(); });
            if (audit_queue_.empty()) return;  // stopping, nothing left
            // Linger for more rows: fewer, larger audit transactions hold the
            // connection (which SQLite shares with the signing batches) less.
            audit_wake_.wait_for(lock, kAuditLinger, [this] {
                return audit_stop_ || audit_hurry_ || audit_queue_.size() >= kAuditBatch;
            });
            audit_hurry_ = false;
            std::vector<AuditEntry> rows;
            rows.swap(audit_queue_);
            audit_writing_ = true;
            lock.unlock();
            audit_idle_.notify_all();
            insert_audit_rows(rows);
            lock.lock();
            audit_writing_ = false;
            audit_idle_.notify_all();
        }
    }

    void insert_audit_rows(const std::vector<AuditEntry>& rows) {
        try {
            transact([&](Session& db) {
                for (const AuditEntry& e : rows) {
                    db.query(
                        "INSERT INTO audit_log (at, instance, client, method, key_type, "
                        "public_key, rule, major, minor, payload_hash, outcome, code) VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                        {e.at, e.instance, e.client, e.method, e.key_type, e.public_key, e.rule,
                         to_db(std::min(e.position.major, kMaxStored - 1)),
                         to_db(std::min(e.position.minor, kMaxStored - 1)), e.payload_hash,
                         e.outcome, e.code});
                }
                // Bounded: now and then drop what is older than the newest audit_max_rows.
                const uint64_t before = audit_appends_.fetch_add(rows.size());
                if (options_.audit_max_rows > 0 && before / 1000 != (before + rows.size()) / 1000)
                    db.query(
                        "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?1",
                        {to_db(options_.audit_max_rows)});
                return true;
            });
        } catch (const std::exception& ex) {
            audit_failures_ += rows.size();
            spdlog::error("audit log: cannot append {} rows: {}", rows.size(), ex.what());
        }
    }

    /// Wait until every row queued so far is written (or has failed).
    void flush_audit() {
        std::unique_lock lock(audit_mu_);
        audit_hurry_ = true;
        audit_wake_.notify_one();
        audit_idle_.wait(lock, [this] { return audit_queue_.empty() && !audit_writing_; });
    }

    static prot::History& item(std::map<std::pair<std::string, std::string>, prot::History>& items,
                               const std::string& pk, const std::string& rule) {
        auto [it, inserted] = items.try_emplace({pk, rule});
        if (inserted) {
            it->second.rule = rule_of(rule);
            auto bytes = core::from_hex(pk);
            if (!bytes || bytes->empty())
                throw ProtectionDbError("corrupt protection database: bad public key");
            it->second.public_key = std::move(bytes).value();
        }
        return it->second;
    }

    // SQLite only: the batch state of every key, carried from one committed
    // batch to the next, so that a batch need not read each key's watermark
    // and newest positions again (most of a batch's statements when batches
    // are small). Valid only for the connection and data_version it was
    // left under: another connection's commit, a failed or rolled-back
    // transaction of ours, or an import through this handle (which does not
    // move data_version: our own commit) drops it. Touched only inside
    // transactions, which the single SQLite connection serializes.
    struct CarriedState {
        const Session* session = nullptr;
        int64_t version = 0;
        bool valid = false;
        BatchState keys;
    };
    static constexpr size_t kCarriedKeysMax = 256;

    void take_carried_state(const Session& db, int64_t version, BatchState& state) {
        const bool stale = carried_stale_.exchange(false);
        if (carried_.valid && !stale && carried_.session == &db && carried_.version == version)
            state = std::move(carried_.keys);
        // Until this batch commits and leaves its own.
        carried_.valid = false;
        carried_.keys.clear();
    }

    void carry_state(const Session& db, int64_t version, BatchState& state) {
        if (state.size() > kCarriedKeysMax) return;  // bounded; the next batch reads afresh
        for (auto& entry : state) entry.second.pruned = false;  // written by this commit
        carried_.keys = std::move(state);
        carried_.session = &db;
        carried_.version = version;
        carried_.valid = true;
    }

    // Runs `body` in one transaction, again on retryable failures, holding the
    // (sorted) `lock_keys` around it. A body that only refuses rolls back: a
    // refusal never writes. `committed` runs right after the commit, while the
    // connection is still held.
    template <class F, class C = void (*)(Session&)>
    auto transact(
        F&& body, const std::vector<std::string>& lock_keys = {}, C&& committed = [](Session&) {})
        -> decltype(body(std::declval<Session&>())) {
        std::optional<std::minstd_rand> jitter;  // seeded on the first retry: random_device is slow
        for (int attempt = 1;; ++attempt) {
            try {
                auto lease = pool_.acquire();
                size_t locked = 0;
                auto unlock = [&]() noexcept {
                    while (locked > 0) (*lease)->unlock(lock_keys[--locked]);
                };
                try {
                    (*lease)->ensure_connected();
                    for (; locked < lock_keys.size(); ++locked) (*lease)->lock(lock_keys[locked]);
                    (*lease)->begin();
                    auto result = body(**lease);
                    if (rolls_back(result)) {
                        (*lease)->rollback();
                    } else {
                        (*lease)->commit();
                        committed(**lease);
                    }
                    unlock();
                    return result;
                } catch (const DbError& e) {
                    (*lease)->rollback();
                    unlock();
                    if (e.connection_lost()) lease->discard();
                    throw;
                } catch (...) {
                    (*lease)->rollback();
                    unlock();
                    throw;
                }
            } catch (const DbError& e) {
                if (!e.retryable() || attempt >= options_.max_attempts) throw;
                spdlog::debug("protection database: retrying ({}): {}", attempt, e.what());
                const int cap = std::min(200, 2 << std::min(attempt, 7));
                if (!jitter) jitter.emplace(std::random_device{}());
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(1 + static_cast<int>((*jitter)() % cap)));
            }
        }
    }
    template <class T>
    static bool rolls_back(const T&) {
        return false;
    }
    static bool rolls_back(const Decision& d) { return !d.allowed || !d.recorded; }

    Position watermark(Session& db, const std::string& pk, Rule rule) {
        auto rows =
            db.query("SELECT major, minor FROM watermarks WHERE public_key = ?1 AND rule = ?2",
                     {pk, std::string(rule_text(rule))});
        if (rows.empty()) return {};
        return {from_db(rows[0][0]), from_db(rows[0][1])};
    }

    std::optional<Record> find(Session& db, const std::string& pk, Rule rule, Position p,
                               const std::string& vote) {
        auto rows =
            db.query(std::string("SELECT ") + kRecordColumns +
                         " FROM records WHERE public_key = ?1 AND rule = ?2 AND major = ?3 "
                         "AND minor = ?4 AND vote = ?5",
                     {pk, std::string(rule_text(rule)), to_db(p.major), to_db(p.minor), vote});
        if (rows.empty()) return std::nullopt;
        return record_of(rows[0]);
    }

    void insert(Session& db, const std::string& pk, Rule rule, const Record& r) {
        db.query(
            "INSERT INTO records (public_key, rule, major, minor, vote, kind, sides, subject, "
            "number, payload_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
            "?11)",
            {pk, std::string(rule_text(rule)), to_db(r.position.major), to_db(r.position.minor),
             vote_key(rule, r), int64_t{r.kind}, int64_t{r.sides}, db_text(r.subject),
             int64_t{r.number}, db_text(r.payload_hash), now_utc()});
    }

    void set_watermark(Session& db, const std::string& pk, Rule rule, Position wm) {
        db.query(
            "INSERT INTO watermarks (public_key, rule, major, minor) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (public_key, rule) DO UPDATE SET major = excluded.major, "
            "minor = excluded.minor",
            {pk, std::string(rule_text(rule)), to_db(wm.major), to_db(wm.minor)});
    }

    // Keep the newest `limit` positions: the watermark rises to the oldest kept
    // one and everything below it is deleted (the core's prune_positions).
    Position prune(Session& db, const std::string& pk, Rule rule, Position wm) {
        const uint32_t limit = position_limit(options_.limits, rule);
        if (limit == 0) return wm;
        auto rows = db.query(
            "SELECT major, minor FROM (SELECT DISTINCT major, minor FROM records WHERE "
            "public_key = ?1 AND rule = ?2) AS p ORDER BY major DESC, minor DESC LIMIT 2 OFFSET ?3",
            {pk, std::string(rule_text(rule)), int64_t{limit} - 1});
        if (rows.size() < 2) return wm;  // at most `limit` positions
        const Position cut{from_db(rows[0][0]), from_db(rows[0][1])};
        if (cut > wm) wm = cut;
        set_watermark(db, pk, rule, wm);
        delete_below(db, pk, rule, wm);
        return wm;
    }

    void delete_below(Session& db, const std::string& pk, Rule rule, Position wm) {
        db.query(
            "DELETE FROM records WHERE public_key = ?1 AND rule = ?2 AND (major < ?3 OR "
            "(major = ?3 AND minor < ?4))",
            {pk, std::string(rule_text(rule)), to_db(wm.major), to_db(wm.minor)});
    }

    // The batch's view of (pk, rule), read from the database on first use.
    KeyState& key_state(Session& db, BatchState& state, const std::string& pk, Rule rule) {
        auto [it, inserted] = state.try_emplace({pk, rule});
        KeyState& k = it->second;
        if (!inserted) return k;
        k.watermark = watermark(db, pk, rule);
        const uint32_t limit = position_limit(options_.limits, rule);
        if (limit == 0) return k;
        for (const Row& row : db.query(
                 "SELECT DISTINCT major, minor FROM records WHERE public_key = ?1 AND rule = ?2 "
                 "ORDER BY major DESC, minor DESC LIMIT ?3",
                 {pk, std::string(rule_text(rule)), int64_t{limit} + 1}))
            k.positions.insert({from_db(row[0]), from_db(row[1])});
        return k;
    }

    // A new record at `p` is about to be written: apply the prune rule (keep
    // the newest `limit` positions, the watermark rises to the oldest kept)
    // as prune() would right after the insert. Returns the watermark to
    // refuse with, changing nothing, when `p` itself would be pruned.
    std::optional<Position> admit(KeyState& k, Rule rule, Position p) {
        const uint32_t limit = position_limit(options_.limits, rule);
        if (limit == 0) return std::nullopt;
        const bool added = k.positions.insert(p).second;
        if (k.positions.size() <= limit) return std::nullopt;
        const Position cut =
            *std::next(k.positions.begin(), static_cast<long>(k.positions.size() - limit));
        const Position wm = std::max(k.watermark, cut);
        if (p < wm) {
            if (added) k.positions.erase(p);
            return wm;
        }
        k.watermark = wm;
        k.positions.erase(k.positions.begin(), k.positions.lower_bound(wm));
        k.pruned = true;
        return std::nullopt;
    }

    // One request, against the database and what the batch decided before it
    // (the same transaction). A refusal writes nothing.
    Decision decide(Session& db, BatchState& state, const std::string& pk, const Signable& s) {
        if (s.rule == Rule::none) return prot::allowed(false);
        KeyState& k = key_state(db, state, pk, s.rule);
        if (s.position < k.watermark)
            return prot::refused(prot::below_watermark_refusal(s.rule, s.position, k.watermark));

        if (s.rule != Rule::para) {
            const Record r = prot::record_of(s);
            if (s.rule == Rule::grandpa && s.kind > 1)
                throw ProtectionDbError("grandpa: only prevotes and precommits are recorded");
            if (auto earlier = find(db, pk, s.rule, s.position, vote_key(s.rule, r))) {
                if (earlier->payload_hash == r.payload_hash) return prot::allowed(false);
                return prot::refused(prot::conflict_refusal(s.rule, s.position, *earlier));
            }
            // Older than everything the limit keeps: it could not be remembered.
            if (auto now = admit(k, s.rule, s.position))
                return prot::refused(prot::below_watermark_refusal(s.rule, s.position, *now));
            insert(db, pk, s.rule, r);
            return prot::allowed(true);
        }

        const uint8_t side = s.valid_side ? prot::kValidSide : prot::kInvalidSide;
        const uint8_t opposite = s.valid_side ? prot::kInvalidSide : prot::kValidSide;
        std::vector<std::optional<Record>> earlier;
        Record probe;
        probe.position = s.position;
        for (const Hash256& c : s.candidates) {
            probe.subject = c;
            earlier.push_back(find(db, pk, Rule::para, s.position, vote_key(Rule::para, probe)));
            if (earlier.back() && (earlier.back()->sides & opposite) != 0)
                return prot::refused(
                    prot::conflict_refusal(Rule::para, s.position, *earlier.back()));
        }
        // A new candidate adds a record: the prune rule decides before anything is written.
        bool inserts = false;
        for (size_t i = 0; i < s.candidates.size(); ++i) inserts = inserts || !earlier[i];
        if (inserts)
            if (auto now = admit(k, Rule::para, s.position))
                return prot::refused(prot::below_watermark_refusal(Rule::para, s.position, *now));
        bool changed = false;
        for (size_t i = 0; i < s.candidates.size(); ++i) {
            probe.subject = s.candidates[i];
            if (earlier[i]) {
                if ((earlier[i]->sides & side) != 0) continue;
                db.query(
                    "UPDATE records SET sides = ?1 WHERE public_key = ?2 AND rule = ?3 AND "
                    "major = ?4 AND minor = ?5 AND vote = ?6",
                    {int64_t{earlier[i]->sides | side}, pk, std::string("para"),
                     to_db(s.position.major), to_db(s.position.minor),
                     vote_key(Rule::para, probe)});
                changed = true;
                continue;
            }
            // The same candidate twice in one approval: the first insert covers it.
            if (std::find(s.candidates.begin(), s.candidates.begin() + static_cast<long>(i),
                          s.candidates[i]) != s.candidates.begin() + static_cast<long>(i))
                continue;
            Record r = probe;
            r.kind = s.kind;
            r.sides = side;
            r.payload_hash = s.payload_hash;
            insert(db, pk, Rule::para, r);
            changed = true;
        }
        return prot::allowed(changed);
    }

    void merge(Session& db, const prot::History& h, prot::ImportReport& report) {
        ++report.items;
        const std::string pk = db_text(h.public_key);
        Position wm = watermark(db, pk, h.rule);
        if (h.watermark > wm) {
            wm = h.watermark;
            ++report.watermarks_raised;
            set_watermark(db, pk, h.rule, wm);
            db.query(
                "DELETE FROM records WHERE public_key = ?1 AND rule = ?2 AND (major < ?3 OR "
                "(major = ?3 AND minor < ?4))",
                {pk, std::string(rule_text(h.rule)), to_db(wm.major), to_db(wm.minor)});
        }
        for (const Record& r : h.records) {
            if (r.position < wm) continue;
            auto local = find(db, pk, h.rule, r.position, vote_key(h.rule, r));
            if (!local) {
                insert(db, pk, h.rule, r);
                ++report.records_added;
                continue;
            }
            if (h.rule != Rule::para) {
                if (!(*local == r)) ++report.records_conflicting;  // keep ours
                continue;
            }
            const uint8_t sides = static_cast<uint8_t>(local->sides | r.sides);
            if (sides == local->sides) continue;
            if (sides == (prot::kValidSide | prot::kInvalidSide)) ++report.records_conflicting;
            db.query(
                "UPDATE records SET sides = ?1 WHERE public_key = ?2 AND rule = 'para' AND "
                "major = ?3 AND minor = ?4 AND vote = ?5",
                {int64_t{sides}, pk, to_db(r.position.major), to_db(r.position.minor),
                 vote_key(Rule::para, r)});
        }
        (void)prune(db, pk, h.rule, wm);
    }

    ProtectionDbOptions options_;
    Pool pool_;
    std::mutex queue_mu_;
    std::deque<Job*> queue_;
    bool leading_ = false;
    mutable std::mutex stats_mu_;
    ProtectionDbStats stats_;
    CarriedState carried_;
    std::atomic<bool> carried_stale_{false};
    std::atomic<uint64_t> audit_appends_{0};
    std::atomic<uint64_t> audit_failures_{0};
    std::mutex audit_mu_;
    std::condition_variable audit_wake_;  // rows queued, or stopping
    std::condition_variable audit_idle_;  // queue space, or a write finished
    std::vector<AuditEntry> audit_queue_;
    bool audit_writing_ = false;
    bool audit_stop_ = false;
    bool audit_hurry_ = false;  // someone waits for the queue to be written
    std::thread audit_writer_;  // last: started after, and joined before, the rest
};

}  // namespace

std::string redact_postgres_url(const std::string& url) {
    std::string out = url;
    // URI form: scheme://user:password@host
    const size_t scheme = out.find("://");
    if (scheme != std::string::npos) {
        const size_t at = out.find('@', scheme + 3);
        const size_t colon = out.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
    }
    // password=... as a key=value or a URI query parameter
    for (size_t pos = out.find("password="); pos != std::string::npos;
         pos = out.find("password=", pos + 1)) {
        const size_t start = pos + 9;
        size_t end = out.find_first_of(" &", start);
        if (end == std::string::npos) end = out.size();
        out.replace(start, end - start, "***");
    }
    return out;
}

std::unique_ptr<ProtectionDb> open_protection_db(const ProtectionDbOptions& options) {
    std::unique_ptr<SqlProtectionDb> db;
    if (options.backend == "sqlite") {
        if (options.sqlite_path.empty()) throw ProtectionDbError("sqlite: no database path");
        const std::string path = options.sqlite_path;
        // One connection: SQLite serializes writers anyway.
        db = std::make_unique<SqlProtectionDb>(
            options, [path]() { return sqldb::open_sqlite_session(path); }, 1);
    } else if (options.backend == "postgres") {
        if (options.postgres_url.empty())
            throw ProtectionDbError(
                "postgres: no connection URL (set [protection] postgres_url, --postgres-url or "
                "TS_POSTGRES_URL)");
        const std::string url = options.postgres_url;
        db = std::make_unique<SqlProtectionDb>(
            options, [url]() { return sqldb::open_postgres_session(url); }, options.pool_size);
    } else {
        throw ProtectionDbError("unknown protection database \"" + options.backend +
                                "\" (use sqlite or postgres)");
    }
    db->create_schema();
    return db;
}

}  // namespace teesigner::signerd
