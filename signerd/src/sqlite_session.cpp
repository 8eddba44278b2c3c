#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "sql_session.hpp"

namespace teesigner::signerd::sqldb {
namespace {

struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
struct SqliteCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteConnection = std::unique_ptr<sqlite3, SqliteCloser>;

// WAL checkpoints on a thread and connection of their own. SQLite's automatic
// checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, and
// syncs the WAL and the database file there (15-20 ms on a virtual disk, every
// 0.7 s at 2,000 protected signatures/s: docs/PERFORMANCE.md) while every
// signing batch waits for the one connection. Registering a WAL hook turns
// that off; the hook wakes this thread instead, whose PASSIVE checkpoint copies
// the committed frames into the database while batches go on appending.
// Durability is unchanged (synchronous=NORMAL: the checkpoint syncs, commits
// do not). A writer rewinds the WAL once a checkpoint has caught up with it;
// under a load that never pauses none may, so past kInlinePages the committing
// connection checkpoints itself, as SQLite would have: the file stays bounded
// and that rarer checkpoint has only the last frames to copy.
//
// Every 128 frames rather than SQLite's 1,000: the checkpoint's sync of the
// WAL shares the disk with the TA's journal syncs, and one 4 MB flush held
// those up for 20 ms. Measured at 2,000/s (docs/PERFORMANCE.md): p99 23 ms
// at 1,000 frames, 8-11 ms at 128, 7-13 ms at 32 with 10 % more signer CPU.
class WalCheckpointer {
  public:
    static constexpr int kPages = 128;
    static constexpr int kInlinePages = 16384;  // 64 MiB of 4 KiB pages

    explicit WalCheckpointer(const std::string& path) {
        sqlite3* db = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &db,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
        db_.reset(db);
        // A connection opens the file lazily; until it has, it knows of no WAL
        // and its checkpoints do nothing.
        if (rc != SQLITE_OK ||
            sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
            throw ProtectionDbError(
                "cannot open the protection database " + path +
                " for checkpoints: " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
        thread_ = std::thread([this] { run(); });
    }

    ~WalCheckpointer() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    /// Attach to the writing connection (replaces its automatic checkpoint).
    void attach(sqlite3* writer) { sqlite3_wal_hook(writer, &WalCheckpointer::committed, this); }

  private:
    // After each commit of the writer, with the WAL's size in frames.
    static int committed(void* self, sqlite3* writer, const char* schema, int frames) {
        auto& c = *static_cast<WalCheckpointer*>(self);
        if (frames >= kInlinePages) {
            (void)sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                            nullptr);
            return SQLITE_OK;
        }
        // Frames since the last checkpoint (the WAL was rewound if it shrank).
        const int done = c.backfilled_.load(std::memory_order_relaxed);
        if (frames - (frames >= done ? done : 0) >= kPages) {
            {
                std::lock_guard lock(c.mu_);
                c.wanted_ = true;
            }
            c.wake_.notify_one();
        }
        return SQLITE_OK;
    }

    void run() {
        std::unique_lock lock(mu_);
        for (;;) {
            wake_.wait(lock, [this] { return stop_ || wanted_; });
            if (stop_) return;
            wanted_ = false;
            lock.unlock();
            int frames = 0, copied = 0;
            const int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                                     &frames, &copied);
            if (rc == SQLITE_OK && copied >= 0)
                backfilled_.store(copied, std::memory_order_relaxed);
            // BUSY: the writer's own checkpoint (past kInlinePages) is running.
            if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                spdlog::warn("protection database: WAL checkpoint failed: {}",
                             sqlite3_errmsg(db_.get()));
            lock.lock();
        }
    }

    SqliteConnection db_;
    std::atomic<int> backfilled_{0};  // frames the last checkpoint had copied
    std::mutex mu_;
    std::condition_variable wake_;
    bool wanted_ = false;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the rest is set up
};

class SqliteSession final : public Session {
  public:
    explicit SqliteSession(const std::string& path) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path parent = fs::path(path).parent_path();
        if (!parent.empty()) fs::create_directories(parent, ec);
        const mode_t old_mask = ::umask(077);  // the file and its -wal/-shm: owner only
        sqlite3* db = nullptr;
        const int rc = sqlite3_open_v2(
            path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
            nullptr);
        ::umask(old_mask);
        db_.reset(db);
        if (rc != SQLITE_OK)
            throw ProtectionDbError("cannot open the protection database " + path + ": " +
                                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
        sqlite3_busy_timeout(db, 10'000);
        exec("PRAGMA journal_mode=WAL");
        // NORMAL (in WAL mode): a commit is atomic and survives a crash of the
        // process, but the last commits before a power loss may roll back. That
        // is safe for SQLite, which only serves one signer: the TA's own sealed
        // record is durable before any signature is released, so it refuses the
        // conflict even if this copy lost it. FULL would put one more fsync on
        // the path of every protected signature, serialised across all
        // requests (measured in docs/PERFORMANCE.md). PostgreSQL, shared by
        // several signers, keeps synchronous_commit on: there it is the only
        // guard between instances.
        exec("PRAGMA synchronous=NORMAL");
        exec("PRAGMA foreign_keys=ON");
        // A WAL grown under a long burst goes back to this size once rewound.
        exec("PRAGMA journal_size_limit=67108864");
        checkpointer_ = std::make_unique<WalCheckpointer>(path);
        checkpointer_->attach(db_.get());
    }

    void exec(const std::string& sql) override {
        char* err = nullptr;
        const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            std::string message = err ? err : sqlite3_errstr(rc);
            sqlite3_free(err);
            throw DbError("sqlite: " + message, rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        }
    }

    std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
        sqlite3_stmt* raw = prepared(sql);
        // Cached statements are reset (and so release their locks) after each use.
        struct Reset {
            sqlite3_stmt* stmt;
            ~Reset() {
                sqlite3_reset(stmt);
                sqlite3_clear_bindings(stmt);
            }
        } reset{raw};
        for (size_t i = 0; i < params.size(); ++i) {
            const int index = static_cast<int>(i + 1);
            int rc = SQLITE_OK;
            if (const auto* v = std::get_if<int64_t>(&params[i]))
                rc = sqlite3_bind_int64(raw, index, *v);
            else if (const auto* s = std::get_if<std::string>(&params[i]))
                rc = sqlite3_bind_text(raw, index, s->data(), static_cast<int>(s->size()),
                                       SQLITE_TRANSIENT);
            else
                rc = sqlite3_bind_null(raw, index);
            if (rc != SQLITE_OK) fail();
        }
        std::vector<Row> rows;
        for (;;) {
            const int rc = sqlite3_step(raw);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) fail();
            Row row;
            const int n = sqlite3_column_count(raw);
            for (int c = 0; c < n; ++c) {
                const unsigned char* text = sqlite3_column_text(raw, c);
                row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
            }
            rows.push_back(std::move(row));
        }
        return rows;
    }

    // IMMEDIATE: take the write lock before reading, so check and record are atomic.
    // Prepared once like any statement: parsing them made up a fifth of the
    // time spent in BEGIN and COMMIT (profile in docs/PERFORMANCE.md).
    void begin() override { (void)query("BEGIN IMMEDIATE", {}); }
    void commit() override { (void)query("COMMIT", {}); }
    // Unchanged by this connection's own commits (an operator's sqlite3 shell,
    // or another process on the same file, moves it).
    std::optional<int64_t> others_commit_version() override {
        auto rows = query("PRAGMA data_version", {});
        if (rows.size() != 1 || rows[0].empty())
            throw DbError("sqlite: PRAGMA data_version answered no number", false);
        return std::strtoll(rows[0][0].c_str(), nullptr, 10);
    }
    void rollback() noexcept override {
        if (!sqlite3_get_autocommit(db_.get()))
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }

  private:
    // Preparing costs more than running most of our statements: keep them
    // (a handful of distinct SQL texts; the session is used by one thread at a time).
    sqlite3_stmt* prepared(const std::string& sql) {
        if (auto it = statements_.find(sql); it != statements_.end()) return it->second.get();
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
            fail();
        std::unique_ptr<sqlite3_stmt, StmtDeleter> stmt(raw);
        if (statements_.size() >= 64) statements_.clear();  // bounded, should never happen
        statements_.emplace(sql, std::move(stmt));
        return raw;
    }
    [[noreturn]] void fail() {
        const int rc = sqlite3_errcode(db_.get());
        throw DbError(std::string("sqlite: ") + sqlite3_errmsg(db_.get()),
                      rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    }
    // Before db_: outlives the connection whose WAL hook points at it.
    std::unique_ptr<WalCheckpointer> checkpointer_;
    SqliteConnection db_;
    // After db_: finalized before the connection closes.
    std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StmtDeleter>> statements_;
};

}  // namespace

std::unique_ptr<Session> open_sqlite_session(const std::string& path) {
    return std::make_unique<SqliteSession>(path);
}

}  // namespace teesigner::signerd::sqldb
