#include "dispatcher_hooks.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace teesigner::signerd {

namespace {

// The call observer's samples (kRequests by method and code, kLatency by
// method), resolved per method at its first call with each outcome and then
// updated with an atomic add each: no label set built, no lock taken. A sample
// still appears in /metrics only once counted, exactly as through the label
// forms, which also serve methods added after the observer and unusual codes.
class CallMetrics {
  public:
    CallMetrics(Metrics& metrics, const std::vector<std::string>& methods) : metrics_(metrics) {
        for (const auto& method : methods)
            by_method_.emplace(method, std::make_unique<PerMethod>(metrics, method));
        by_method_.emplace("<unknown>", std::make_unique<PerMethod>(metrics, "<unknown>"));
    }

    void count(const std::string& method, int code, double seconds) {
        auto it = by_method_.find(method);  // the map never changes: no lock
        const int slot = code_slot(code);
        if (it == by_method_.end() || slot < 0) {
            metrics_.inc(Metrics::kRequests, {{"method", method}, {"code", std::to_string(code)}});
            metrics_.observe(Metrics::kLatency, {{"method", method}}, seconds);
            return;
        }
        PerMethod& m = *it->second;
        m.requests[static_cast<size_t>(slot)]->add(1);
        m.latency.add(seconds);
    }

  private:
    // The codes calls end with: success and the JSON-RPC errors we answer.
    static constexpr int kCodes[] = {0,
                                     rpc_error::kParseError,
                                     rpc_error::kInvalidRequest,
                                     rpc_error::kMethodNotFound,
                                     rpc_error::kInvalidParams,
                                     rpc_error::kInternalError,
                                     rpc_error::kUnauthorized,
                                     rpc_error::kRequestTooLarge,
                                     rpc_error::kKeyNotFound,
                                     rpc_error::kTeeUnavailable,
                                     rpc_error::kNotSupported,
                                     rpc_error::kKeyLimit,
                                     rpc_error::kSlashingRefused,
                                     rpc_error::kPolicyRefused};
    static constexpr size_t kSlots = sizeof kCodes / sizeof kCodes[0];
    static int code_slot(int code) {
        for (size_t i = 0; i < kSlots; ++i)
            if (kCodes[i] == code) return static_cast<int>(i);
        return -1;
    }
    struct PerMethod {
        PerMethod(Metrics& metrics, const std::string& method)
            : latency(&metrics, Metrics::kLatency, {{"method", method}}) {
            for (size_t i = 0; i < kSlots; ++i)
                requests[i] = std::make_unique<LazyCounter>(
                    &metrics, Metrics::kRequests,
                    Labels{{"method", method}, {"code", std::to_string(kCodes[i])}});
        }
        std::array<std::unique_ptr<LazyCounter>, kSlots> requests;
        LazyHistogram latency;
    };

    Metrics& metrics_;
    std::unordered_map<std::string, std::unique_ptr<PerMethod>> by_method_;
};

}  // namespace

void install_call_observer(RpcDispatcher& dispatcher, Metrics& metrics) {
    auto call_metrics = std::make_shared<CallMetrics>(metrics, dispatcher.methods());
    dispatcher.set_observer([call_metrics](const std::string& method, const ClientContext& client,
                                           int code, double seconds) {
        call_metrics->count(method, code, seconds);
        if (code == 0)
            spdlog::debug("rpc {} by {} via {} ok in {:.3f} ms", method, client.identity,
                          client.transport, seconds * 1e3);
        else
            spdlog::info("rpc {} by {} via {} failed with {} in {:.3f} ms", method, client.identity,
                         client.transport, code, seconds * 1e3);
    });
}

void install_access_policy(RpcDispatcher& dispatcher, AccessList access, Metrics& metrics) {
    dispatcher.set_access_policy(
        [access = std::move(access), &metrics](const std::string& method, const ClientContext& c) {
            if (access.allowed(method, c.identity)) return true;
            metrics.refusal("access");
            spdlog::warn("refused {} for {}: not in its allow-list", method, c.identity);
            return false;
        });
}

}  // namespace teesigner::signerd
