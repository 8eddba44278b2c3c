#include "limiters.hpp"

#include <algorithm>
#include <cmath>

namespace teesigner::signerd {

// ---- ConnectionLimiter ---------------------------------------------------------

std::string ConnectionLimiter::acquire(const std::string& ip) {
    std::lock_guard lock(mu_);
    if (total_ >= max_total_) return "max_connections";
    if (!ip.empty() && per_ip_[ip] >= max_per_ip_) {
        if (per_ip_[ip] == 0) per_ip_.erase(ip);
        return "max_connections_per_ip";
    }
    ++total_;
    if (!ip.empty()) ++per_ip_[ip];
    return {};
}

void ConnectionLimiter::release(const std::string& ip) {
    std::lock_guard lock(mu_);
    --total_;
    if (!ip.empty()) {
        auto it = per_ip_.find(ip);
        if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    }
}

bool ConnectionLimiter::acquire_identity(const std::string& identity) {
    std::lock_guard lock(mu_);
    auto it = per_identity_.try_emplace(identity, 0).first;
    if (it->second >= max_per_identity_) {
        if (it->second == 0) per_identity_.erase(it);
        return false;
    }
    ++it->second;
    return true;
}

void ConnectionLimiter::release_identity(const std::string& identity) {
    std::lock_guard lock(mu_);
    auto it = per_identity_.find(identity);
    if (it != per_identity_.end() && --it->second == 0) per_identity_.erase(it);
}

// ---- RateLimiter ----------------------------------------------------------------

bool RateLimiter::allow(const std::string& key, unsigned& retry_after_s) {
    if (!enabled()) return true;
    const auto now = Clock::now();
    std::lock_guard lock(mu_);
    if (buckets_.size() >= kMaxBuckets) prune(now);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
        const double elapsed = std::chrono::duration<double>(now - b.last).count();
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.last = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return true;
    }
    retry_after_s = static_cast<unsigned>(std::ceil((1.0 - b.tokens) / rate_));
    if (retry_after_s == 0) retry_after_s = 1;
    return false;
}

void RateLimiter::prune(Clock::time_point now) {
    const auto full_after = std::chrono::duration<double>(burst_ / rate_);
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        if (now - it->second.last >= full_after)
            it = buckets_.erase(it);
        else
            ++it;
    }
}

}  // namespace teesigner::signerd
