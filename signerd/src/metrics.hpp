// Prometheus metrics for signerd: a small thread-safe registry of counters,
// gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4). Any part of the service may increment
// a metric; /metrics renders the lot.
#pragma once

#include <atomic>
#include <chrono>
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
    struct Histogram;

  public:
    enum class Type { counter, gauge, histogram };

    /// One counter sample, resolved once (inc_handle): inc() is one atomic
    /// add, without the registry's lock or a label lookup. For the hot path
    /// of every RPC call. Trivially copyable, so it can sit in a std::atomic.
    class CounterHandle {
      public:
        CounterHandle() = default;
        explicit operator bool() const { return cell_ != nullptr; }
        void inc(double value = 1.0) const { cell_->fetch_add(value); }

      private:
        friend class Metrics;
        explicit CounterHandle(std::atomic<double>* cell) : cell_(cell) {}
        std::atomic<double>* cell_ = nullptr;
    };
    /// One histogram sample, resolved once (observe_handle), likewise.
    class HistogramHandle {
      public:
        HistogramHandle() = default;
        explicit operator bool() const { return histogram_ != nullptr; }
        void observe(double value) const;

      private:
        friend class Metrics;
        explicit HistogramHandle(Histogram* histogram) : histogram_(histogram) {}
        Histogram* histogram_ = nullptr;
    };

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

    /// inc(), also returning the sample's handle for the next increments. As
    /// with inc(), the sample exists (and is rendered) from this first one on.
    CounterHandle inc_handle(const std::string& name, const Labels& labels, double value = 1.0);
    /// observe(), also returning the sample's handle; an empty handle unless
    /// the family was declared a histogram (whose buckets then never change).
    HistogramHandle observe_handle(const std::string& name, const Labels& labels, double value);

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
    // Where a signature's time goes below the RPC layer (the group commit).
    static constexpr const char* kTeeQueueWait = "teesigner_tee_queue_wait_seconds";
    static constexpr const char* kTeeCommand = "teesigner_tee_command_duration_seconds";
    static constexpr const char* kTeeBatchSize = "teesigner_tee_batch_requests";
    static constexpr const char* kProtectionDbCheck = "teesigner_protection_db_check_seconds";
    // ... and above it, in the RPC layer.
    static constexpr const char* kRpcWorkerWait = "teesigner_rpc_worker_queue_seconds";
    static constexpr const char* kRpcReplyWait = "teesigner_rpc_reply_queue_seconds";

    /// Buckets for the group-commit stages: from 100 µs (an unprotected
    /// signature's TA call) to a second.
    static const std::vector<double>& stage_buckets();

    /// Convenience for the families above.
    void refusal(const std::string& rule) { inc(kRefusals, {{"rule", rule}}); }
    void tee_restart() { inc(kTeeRestarts); }
    void set_key_count(const std::string& key_type, const std::string& scheme, double n) {
        set(kKeys, {{"key_type", key_type}, {"scheme", scheme}}, n);
    }

  private:
    // Samples are atomics: the registry's lock guards the maps (samples are
    // never removed, so their addresses are stable), handles update samples
    // without it.
    struct Histogram {
        std::vector<std::atomic<uint64_t>> counts;  // per bucket (not cumulative)
        std::atomic<uint64_t> count{0};
        std::atomic<double> sum{0};
        const std::vector<double>* buckets = nullptr;  // the family's
        // count first, the bucket after: a render that sees the bucket's
        // increment sees the count's, so the buckets stay cumulative.
        void record(double value);
    };
    struct Family {
        Type type = Type::counter;
        bool declared = false;
        std::string help;
        std::vector<double> buckets;
        std::map<Labels, std::atomic<double>> values;
        std::map<Labels, Histogram> histograms;
    };
    Family& family(const std::string& name);
    Histogram& histogram(const std::string& name, const Labels& labels, Family*& f);

    mutable std::mutex mu_;
    std::map<std::string, Family> families_;
};

/// One sample on a hot path: the first observation goes through the registry
/// (so the sample appears in /metrics only once it has one, as with
/// Metrics::inc and observe) and keeps its handle; later ones are an atomic
/// add. Two threads racing on the first both go through the registry and
/// store the same handle. A null registry ignores every observation.
template <class Handle, Handle (Metrics::*resolve)(const std::string&, const Labels&, double),
          void (Handle::*update)(double) const>
class LazySample {
  public:
    LazySample(Metrics* metrics, std::string name, Labels labels = {})
        : metrics_(metrics), name_(std::move(name)), labels_(std::move(labels)) {}
    LazySample(const LazySample&) = delete;
    LazySample& operator=(const LazySample&) = delete;

    void add(double value) {
        if (const Handle h = handle_.load(std::memory_order_relaxed))
            (h.*update)(value);
        else if (metrics_ != nullptr)
            handle_.store((metrics_->*resolve)(name_, labels_, value), std::memory_order_relaxed);
    }

  private:
    Metrics* metrics_;
    std::string name_;
    Labels labels_;
    std::atomic<Handle> handle_{};
};
/// counter += value
using LazyCounter =
    LazySample<Metrics::CounterHandle, &Metrics::inc_handle, &Metrics::CounterHandle::inc>;
/// histogram observation
using LazyHistogram = LazySample<Metrics::HistogramHandle, &Metrics::observe_handle,
                                 &Metrics::HistogramHandle::observe>;

/// Seconds from `since` to now, for a latency observation.
inline double seconds_since(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

/// Escape a label value for the text format (backslash, quote, newline).
std::string prometheus_escape(const std::string& value);

}  // namespace teesigner::signerd
