// Prometheus metrics for signerd: a small thread-safe registry of counters,
// gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4). Any part of the service may increment
// a metric; /metrics renders the lot.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace teesigner::signerd {

/// Label set: (name, value) pairs. Order is kept as given and must be the
/// same for every sample of one family.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
  public:
    enum class Type { counter, gauge, histogram };

    /// Default latency buckets in seconds (Prometheus client defaults, plus
    /// finer ones at the low end where TEE calls live).
    static const std::vector<double>& default_buckets();

    Metrics();

    /// Declare a family (HELP and TYPE lines). Declaring the same name twice
    /// keeps the first declaration. Samples of undeclared families are
    /// rendered as "untyped".
    void declare(const std::string& name, Type type, const std::string& help,
                 std::vector<double> buckets = {});

    /// counter += value
    void inc(const std::string& name, const Labels& labels = {}, double value = 1.0);
    /// gauge = value
    void set(const std::string& name, const Labels& labels, double value);
    /// gauge += delta (delta may be negative)
    void add(const std::string& name, const Labels& labels, double delta);
    /// histogram observation
    void observe(const std::string& name, const Labels& labels, double value);

    /// Current value of a counter/gauge sample (0 when absent); for tests.
    double value(const std::string& name, const Labels& labels = {}) const;

    /// Prometheus text exposition of every family, sorted by name.
    std::string render() const;

    // ---- Names of the families signerd itself maintains -------------------
    static constexpr const char* kRequests = "teesigner_rpc_requests_total";
    static constexpr const char* kLatency = "teesigner_rpc_request_duration_seconds";
    static constexpr const char* kRefusals = "teesigner_refusals_total";
    static constexpr const char* kTeeRestarts = "teesigner_tee_restarts_total";
    static constexpr const char* kKeys = "teesigner_keys";
    static constexpr const char* kHttpResponses = "teesigner_http_responses_total";
    static constexpr const char* kConnectionsOpen = "teesigner_connections_open";
    static constexpr const char* kConnectionsRejected = "teesigner_connections_rejected_total";
    static constexpr const char* kAuthFailures = "teesigner_auth_failures_total";
    static constexpr const char* kUp = "teesigner_up";

    /// Convenience for the families above.
    void refusal(const std::string& rule) { inc(kRefusals, {{"rule", rule}}); }
    void tee_restart() { inc(kTeeRestarts); }
    void set_key_count(const std::string& key_type, const std::string& scheme, double n) {
        set(kKeys, {{"key_type", key_type}, {"scheme", scheme}}, n);
    }

  private:
    struct Histogram {
        std::vector<uint64_t> counts;  // per bucket (not cumulative)
        uint64_t count = 0;
        double sum = 0;
    };
    struct Family {
        Type type = Type::counter;
        bool declared = false;
        std::string help;
        std::vector<double> buckets;
        std::map<Labels, double> values;
        std::map<Labels, Histogram> histograms;
    };
    Family& family(const std::string& name);

    mutable std::mutex mu_;
    std::map<std::string, Family> families_;
};

/// Escape a label value for the text format (backslash, quote, newline).
std::string prometheus_escape(const std::string& value);

}  // namespace teesigner::signerd
