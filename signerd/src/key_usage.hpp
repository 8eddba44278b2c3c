// When each key last signed, and which keys are the newest rotated set: what
// signer_retireKeys (docs/protocol.md) needs to refuse retiring a key that is
// still in use. signerd records a key's use when it releases a signature or a
// VRF made with it (any signing method, blocking or asynchronous); the record
// is kept in memory and written to a small JSON state file in the data
// directory by a background thread (and at once when the newest set changes,
// when keys are retired, and at shutdown), so recording costs a map update on
// the signing path. A crash can lose the last few seconds of updates
// (flush_interval), far less than a retirement window of sessions; and the
// host protection database's audit log, shared by every signer instance on
// one PostgreSQL database, is consulted as well (KeyService::last_signed_at).
//
// State file (version 1):
//   {"version": 1, "trackingSince": <unix seconds>,
//    "lastSigned": {"<hex public key>": <unix seconds>, ...},
//    "newestSet": ["<hex public key>", ...], "newestSetAt": <unix seconds>}
// trackingSince is when this file was first created: a key without a record
// has not signed since then, which proves it idle for the whole window only
// once trackingSince is older than the window.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "teesigner/core/bytes.hpp"

namespace teesigner::signerd {

struct KeyUsageOptions {
    /// The state file; empty keeps everything in memory (tests).
    std::string state_file;
    /// A key that signed within this many sessions is never retired.
    uint64_t min_idle_sessions = 2;
    /// Session length in seconds (Polkadot 14400, Kusama 3600).
    uint64_t session_seconds = 14400;
    /// Unix seconds; the system clock when empty (tests pass a fake clock).
    std::function<int64_t()> clock;
    /// How often the background thread writes a changed state file; 0 = no
    /// background thread (writes happen only at the synchronous points).
    unsigned flush_interval_ms = 5000;
};

/// Why a key may not be retired (RetireVerdict::status).
enum class RetireStatus {
    allowed,
    signed_recently,  // signed within the window: never retired, even with force
    newest_set,       // one of the keys of the newest author_rotateKeys: force overrides
    usage_unknown,    // tracking began less than a window ago: force overrides
};

/// "allowed", "signed_recently", "newest_set", "usage_unknown".
const char* retire_status_name(RetireStatus s);

struct RetireVerdict {
    RetireStatus status = RetireStatus::allowed;
    /// The key's latest use known to signerd or the audit log (unix seconds).
    std::optional<int64_t> last_signed;
    /// When the key leaves the window (signed_recently, usage_unknown).
    std::optional<int64_t> retirable_at;
};

class KeyUsage {
  public:
    /// Loads the state file if it exists (creating it, with trackingSince =
    /// now, if not). Throws StateError (errors.hpp) for an unreadable or
    /// malformed file, ConfigError for a window of zero length.
    explicit KeyUsage(KeyUsageOptions options);
    /// Writes the state file one last time.
    ~KeyUsage();
    KeyUsage(const KeyUsage&) = delete;
    KeyUsage& operator=(const KeyUsage&) = delete;

    /// A signature or VRF made with `public_key` was released now. Never throws.
    void signed_with(core::ByteSpan public_key) noexcept;
    /// author_rotateKeys returned these public keys: they are the newest set
    /// from now on (written to the state file before this returns).
    void rotated(const std::vector<core::Bytes>& public_keys);
    /// Whether `public_key` may be retired now. `audit_last_signed` is the
    /// latest signature the audit log knows of (other instances included).
    RetireVerdict check(core::ByteSpan public_key, std::optional<int64_t> audit_last_signed,
                        bool force) const;
    /// The key was retired: forget its record (written before this returns).
    void retired(core::ByteSpan public_key);

    /// The latest recorded use of a key, if any.
    std::optional<int64_t> last_signed(core::ByteSpan public_key) const;
    bool in_newest_set(core::ByteSpan public_key) const;
    int64_t window_seconds() const { return window_; }
    int64_t tracking_since() const;
    int64_t now() const { return clock_(); }
    /// Write the state file now if it changed (tests, shutdown).
    void flush();

  private:
    void load_or_create();
    void write_locked();  // mu_ held
    void flusher();

    KeyUsageOptions options_;
    std::function<int64_t()> clock_;
    int64_t window_ = 0;
    mutable std::mutex mu_;
    int64_t tracking_since_ = 0;
    std::map<core::Bytes, int64_t> last_signed_;
    std::set<core::Bytes> newest_set_;
    int64_t newest_set_at_ = 0;
    bool dirty_ = false;
    std::mutex flush_mu_;  // one writer of the file at a time
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

/// ISO 8601 UTC ("2025-01-31T12:00:00Z") of unix seconds, and back (accepts
/// the audit log's form with milliseconds; nullopt when it does not parse).
std::string iso_utc(int64_t unix_seconds);
std::optional<int64_t> parse_iso_utc(const std::string& text);

}  // namespace teesigner::signerd
