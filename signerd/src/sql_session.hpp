// The SQL layer under the host-side protection database (protection_db.cpp):
// one Session interface over both backends (sqlite_session.cpp,
// postgres_session.cpp), the errors a statement fails with, and a pool of
// sessions.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protection_db.hpp"

namespace teesigner::signerd::sqldb {

/// A failed statement; `retryable` when running the transaction again may
/// succeed (serialization failure, deadlock, concurrent insert, lost connection).
class DbError : public ProtectionDbError {
  public:
    DbError(const std::string& message, bool retryable, bool connection_lost = false)
        : ProtectionDbError(message), retryable_(retryable), connection_lost_(connection_lost) {}
    bool retryable() const noexcept { return retryable_; }
    bool connection_lost() const noexcept { return connection_lost_; }

  private:
    bool retryable_;
    bool connection_lost_;
};

using Value = std::variant<std::nullptr_t, int64_t, std::string>;
using Row = std::vector<std::string>;  // NULL reads as ""

class Session {
  public:
    virtual ~Session() = default;
    /// Statements without parameters (DDL, BEGIN, ...).
    virtual void exec(const std::string& sql) = 0;
    /// One statement; parameters are written ?1, ?2, ... in the SQL.
    virtual std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) = 0;
    virtual void begin() = 0;
    virtual void commit() = 0;
    /// Never throws.
    virtual void rollback() noexcept = 0;
    /// Reconnect if the connection is known to be broken.
    virtual void ensure_connected() {}
    /// Wait for / release an exclusive lock on `key` across every connection
    /// (outside a transaction). No-op where transactions already serialize.
    virtual void lock(const std::string& key) { (void)key; }
    virtual void unlock(const std::string& key) noexcept { (void)key; }
    /// A number that changes whenever another connection commits to the
    /// database, read inside a transaction; nullopt where the database is
    /// shared and such a number would be no cheaper than reading the state.
    virtual std::optional<int64_t> others_commit_version() { return std::nullopt; }
};

class Pool {
  public:
    Pool(std::function<std::unique_ptr<Session>()> factory, unsigned size)
        : factory_(std::move(factory)), capacity_(std::max(1u, size)) {}

    class Lease {
      public:
        Lease(Pool& pool, std::unique_ptr<Session> s) : pool_(pool), session_(std::move(s)) {}
        ~Lease() { pool_.put_back(std::move(session_)); }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Session& operator*() { return *session_; }
        Session* operator->() { return session_.get(); }
        /// Drop a broken connection instead of returning it.
        void discard() { session_.reset(); }

      private:
        Pool& pool_;
        std::unique_ptr<Session> session_;
    };

    std::unique_ptr<Lease> acquire() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !idle_.empty() || open_ < capacity_; });
        if (!idle_.empty()) {
            auto s = std::move(idle_.back());
            idle_.pop_back();
            return std::make_unique<Lease>(*this, std::move(s));
        }
        ++open_;
        lock.unlock();
        try {
            return std::make_unique<Lease>(*this, factory_());
        } catch (...) {
            std::lock_guard relock(mu_);
            --open_;
            cv_.notify_one();
            throw;
        }
    }

  private:
    void put_back(std::unique_ptr<Session> s) {
        std::lock_guard lock(mu_);
        if (s)
            idle_.push_back(std::move(s));
        else
            --open_;
        cv_.notify_one();
    }

    std::function<std::unique_ptr<Session>()> factory_;
    unsigned capacity_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Session>> idle_;
    unsigned open_ = 0;
};

/// A SQLite database file (created with its directory, owner-only), in WAL
/// mode with its checkpoints on a thread of their own.
std::unique_ptr<Session> open_sqlite_session(const std::string& path);
/// A PostgreSQL connection (libpq URL or key=value string); reconnects when
/// the connection is lost.
std::unique_ptr<Session> open_postgres_session(const std::string& url);

}  // namespace teesigner::signerd::sqldb
