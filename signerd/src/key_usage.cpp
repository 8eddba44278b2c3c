#include "key_usage.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "errors.hpp"
#include "teesigner/core/bytes.hpp"

namespace teesigner::signerd {
namespace {

using json = nlohmann::json;

int64_t system_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string key_hex(core::ByteSpan pk) {
    return core::to_hex(pk, false);
}

core::Bytes key_bytes(const std::string& hex, const std::string& file) {
    auto b = core::from_hex(hex);
    if (!b || b->empty() || b->size() > 128)
        throw StateError(file + ": not a public key: \"" + hex.substr(0, 80) + "\"");
    return std::move(b).value();
}

// tmp, fsync, rename, fsync the directory: the old or the new file after a crash.
void write_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw StateError(tmp + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            throw StateError(tmp + ": " + std::strerror(e));
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) throw StateError(tmp + ": " + std::strerror(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw StateError(path + ": " + std::strerror(errno));
    const std::string dir = std::filesystem::path(path).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

const char* retire_status_name(RetireStatus s) {
    switch (s) {
        case RetireStatus::allowed:
            return "allowed";
        case RetireStatus::signed_recently:
            return "signed_recently";
        case RetireStatus::newest_set:
            return "newest_set";
        case RetireStatus::usage_unknown:
            return "usage_unknown";
    }
    return "?";
}

std::string iso_utc(int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<int64_t> parse_iso_utc(const std::string& text) {
    std::tm tm{};
    int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &mon, &day, &hour, &min,
                    &sec) != 6)
        return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    const std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<int64_t>(t);
}

KeyUsage::KeyUsage(KeyUsageOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : system_now) {
    if (options_.min_idle_sessions == 0 || options_.session_seconds == 0)
        throw ConfigError(
            "keys.retire_min_idle_sessions and keys.session_seconds must be at least 1");
    if (options_.session_seconds > (uint64_t{1} << 40) / options_.min_idle_sessions)
        throw ConfigError("keys: retirement window too long");
    window_ = static_cast<int64_t>(options_.min_idle_sessions * options_.session_seconds);
    load_or_create();
    if (!options_.state_file.empty() && options_.flush_interval_ms > 0)
        thread_ = std::thread([this] { flusher(); });
}

KeyUsage::~KeyUsage() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    try {
        flush();
    } catch (const std::exception& e) {
        spdlog::error("key usage: {}", e.what());
    }
}

void KeyUsage::load_or_create() {
    tracking_since_ = clock_();
    if (options_.state_file.empty()) return;
    const std::string& path = options_.state_file;
    std::ifstream in(path);
    if (!in) {
        if (std::filesystem::exists(path)) throw StateError(path + ": cannot read");
        std::lock_guard lock(mu_);
        dirty_ = true;
        write_locked();
        return;
    }
    std::stringstream text;
    text << in.rdbuf();
    json doc;
    try {
        doc = json::parse(text.str());
        if (!doc.is_object() || doc.value("version", 0) != 1) throw StateError("unknown format");
        tracking_since_ = doc.at("trackingSince").get<int64_t>();
        for (const auto& [hex, at] : doc.at("lastSigned").items())
            last_signed_[key_bytes(hex, path)] = at.get<int64_t>();
        for (const auto& hex : doc.at("newestSet")) newest_set_.insert(key_bytes(hex, path));
        newest_set_at_ = doc.value("newestSetAt", int64_t{0});
    } catch (const std::exception& e) {
        throw StateError(path + ": malformed key usage state (" + e.what() +
                         "); move it aside to start tracking afresh");
    }
}

void KeyUsage::write_locked() {
    if (options_.state_file.empty() || !dirty_) return;
    json doc = {{"version", 1},
                {"trackingSince", tracking_since_},
                {"lastSigned", json::object()},
                {"newestSet", json::array()},
                {"newestSetAt", newest_set_at_}};
    for (const auto& [pk, at] : last_signed_) doc["lastSigned"][key_hex(pk)] = at;
    for (const auto& pk : newest_set_) doc["newestSet"].push_back(key_hex(pk));
    write_atomically(options_.state_file, doc.dump(1) + "\n");
    dirty_ = false;
}

void KeyUsage::flush() {
    std::lock_guard writer(flush_mu_);
    std::lock_guard lock(mu_);
    write_locked();
}

void KeyUsage::flusher() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        wake_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms),
                       [this] { return stop_; });
        if (stop_ || !dirty_) continue;
        lock.unlock();
        try {
            flush();
        } catch (const std::exception& e) {
            spdlog::error("key usage: cannot write the state file: {}", e.what());
        }
        lock.lock();
    }
}

void KeyUsage::signed_with(core::ByteSpan public_key) noexcept {
    try {
        const int64_t now = clock_();
        std::lock_guard lock(mu_);
        auto it = last_signed_.find(core::Bytes(public_key.begin(), public_key.end()));
        if (it == last_signed_.end()) {
            last_signed_.emplace(core::Bytes(public_key.begin(), public_key.end()), now);
            dirty_ = true;
        } else if (it->second != now) {
            it->second = now;
            dirty_ = true;
        }
    } catch (...) {
        // Out of memory: the record is lost, never the signature.
    }
}

void KeyUsage::rotated(const std::vector<core::Bytes>& public_keys) {
    std::lock_guard writer(flush_mu_);
    std::lock_guard lock(mu_);
    newest_set_ = std::set<core::Bytes>(public_keys.begin(), public_keys.end());
    newest_set_at_ = clock_();
    dirty_ = true;
    write_locked();
}

void KeyUsage::retired(core::ByteSpan public_key) {
    std::lock_guard writer(flush_mu_);
    std::lock_guard lock(mu_);
    const core::Bytes pk(public_key.begin(), public_key.end());
    last_signed_.erase(pk);
    newest_set_.erase(pk);
    dirty_ = true;
    write_locked();
}

std::optional<int64_t> KeyUsage::last_signed(core::ByteSpan public_key) const {
    std::lock_guard lock(mu_);
    auto it = last_signed_.find(core::Bytes(public_key.begin(), public_key.end()));
    if (it == last_signed_.end()) return std::nullopt;
    return it->second;
}

bool KeyUsage::in_newest_set(core::ByteSpan public_key) const {
    std::lock_guard lock(mu_);
    return newest_set_.count(core::Bytes(public_key.begin(), public_key.end())) > 0;
}

int64_t KeyUsage::tracking_since() const {
    std::lock_guard lock(mu_);
    return tracking_since_;
}

RetireVerdict KeyUsage::check(core::ByteSpan public_key, std::optional<int64_t> audit_last_signed,
                              bool force) const {
    RetireVerdict v;
    v.last_signed = last_signed(public_key);
    if (audit_last_signed && (!v.last_signed || *audit_last_signed > *v.last_signed))
        v.last_signed = audit_last_signed;
    const int64_t now = clock_();
    // Signed within the window (or "in the future": a clock set back) is
    // never retired, force or not.
    if (v.last_signed && now - *v.last_signed < window_) {
        v.status = RetireStatus::signed_recently;
        v.retirable_at = *v.last_signed + window_;
        return v;
    }
    if (force) return v;
    // The newest set first: it stays whatever the records say.
    if (in_newest_set(public_key)) {
        v.status = RetireStatus::newest_set;
        return v;
    }
    // The records cover only what happened since tracking began (VRFs, and
    // everything when there is no database, are not in the audit log).
    if (now - tracking_since() < window_) {
        v.status = RetireStatus::usage_unknown;
        v.retirable_at = tracking_since() + window_;
    }
    return v;
}

}  // namespace teesigner::signerd
