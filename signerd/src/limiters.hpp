// The server's admission limits: connections (total, per client address, per
// authenticated identity) and a request rate per client (token bucket). Both
// are thread-safe; the server holds one of each (server_state.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace teesigner::signerd {

class ConnectionLimiter {
  public:
    ConnectionLimiter(size_t total, size_t per_ip, size_t per_identity)
        : max_total_(total), max_per_ip_(per_ip), max_per_identity_(per_identity) {}

    // Empty string on success, else the reason for refusal.
    std::string acquire(const std::string& ip);
    void release(const std::string& ip);

    // Connections of one authenticated identity, whatever their address.
    bool acquire_identity(const std::string& identity);
    void release_identity(const std::string& identity);
    size_t max_per_identity() const { return max_per_identity_; }

  private:
    std::mutex mu_;
    size_t max_total_;
    size_t max_per_ip_;
    size_t max_per_identity_;
    size_t total_ = 0;
    std::map<std::string, size_t> per_ip_;
    std::map<std::string, size_t> per_identity_;
};

// Token bucket per client key: `burst` tokens, refilled at `rate` per second.
class RateLimiter {
  public:
    using Clock = std::chrono::steady_clock;
    RateLimiter(size_t rate, size_t burst)
        : rate_(static_cast<double>(rate)), burst_(static_cast<double>(burst)) {}

    bool enabled() const { return rate_ > 0; }

    // Takes a token; when none is left returns false and the whole seconds
    // until one is (at least 1).
    bool allow(const std::string& key, unsigned& retry_after_s);

  private:
    struct Bucket {
        double tokens;
        Clock::time_point last;
    };
    // Clients are identities and local addresses, so few; still, never grow
    // without bound: forget buckets that have refilled completely.
    static constexpr size_t kMaxBuckets = 4096;
    void prune(Clock::time_point now);

    std::mutex mu_;
    double rate_;
    double burst_;
    std::map<std::string, Bucket> buckets_;
};

}  // namespace teesigner::signerd
