#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace teesigner::signerd {
namespace {

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string render_labels(const Labels& labels, const std::string& extra_name = {},
                          const std::string& extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ',';
        first = false;
        out += k + "=\"" + prometheus_escape(v) + "\"";
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name + "=\"" + extra_value + "\"";
    }
    out += '}';
    return out;
}

const char* type_name(Metrics::Type t) {
    switch (t) {
        case Metrics::Type::counter:
            return "counter";
        case Metrics::Type::gauge:
            return "gauge";
        case Metrics::Type::histogram:
            return "histogram";
    }
    return "untyped";
}

}  // namespace

std::string prometheus_escape(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

const std::vector<double>& Metrics::default_buckets() {
    static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return buckets;
}

const std::vector<double>& Metrics::stage_buckets() {
    static const std::vector<double> buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,   0.025,   0.05,   0.1,   0.25,   1};
    return buckets;
}

Metrics::Metrics() {
    declare(
        kRequests, Type::counter,
        "JSON-RPC calls by method and result code (0 = success, else the JSON-RPC error code).");
    declare(kLatency, Type::histogram, "JSON-RPC call latency in seconds, by method.",
            default_buckets());
    declare(kRefusals, Type::counter,
            "Signing requests refused, by rule (slashing protection or key-type policy).");
    declare(kTeeRestarts, Type::counter, "Times the TEE backend was restarted or reconnected.");
    declare(kKeys, Type::gauge, "Keys held in the TEE, by key type and scheme.");
    declare(kHttpResponses, Type::counter, "HTTP responses by status code.");
    declare(kConnectionsOpen, Type::gauge, "Open client connections, by transport.");
    declare(kConnectionsRejected, Type::counter,
            "Connections refused or closed by a limit, by reason.");
    declare(kAuthFailures, Type::counter, "Requests refused by authentication, by reason.");
    declare(kUp, Type::gauge, "1 while the service runs and the TEE answered its last call.");
    declare(kTeeQueueWait, Type::histogram,
            "Seconds a signing request waited in the group-commit queue for its TA command.",
            stage_buckets());
    declare(kTeeCommand, Type::histogram,
            "Seconds of each TA signing command (one request or a batch), including the "
            "durable commit of its protection records.",
            stage_buckets());
    declare(kTeeBatchSize, Type::histogram, "Signing requests per TA signing command.",
            {1, 2, 4, 8, 16, 32, 64});
    declare(kProtectionDbCheck, Type::histogram,
            "Seconds a protected signing request spent in the host protection database's "
            "check and record (its group commit included), before the TEE.",
            stage_buckets());
    declare(kRpcWorkerWait, Type::histogram,
            "Seconds a request that may block waited for an RPC worker thread.", stage_buckets());
    declare(kRpcReplyWait, Type::histogram,
            "Seconds from a request's answer being ready to its connection's I/O thread "
            "taking it up to write.",
            stage_buckets());
    // Label-less series exist from the start so that rate() and alerts see them.
    inc(kTeeRestarts, {}, 0);
}

Metrics::Family& Metrics::family(const std::string& name) {
    return families_[name];
}

void Metrics::declare(const std::string& name, Type type, const std::string& help,
                      std::vector<double> buckets) {
    std::lock_guard lock(mu_);
    Family& f = family(name);
    if (f.declared) return;
    f.declared = true;
    f.type = type;
    f.help = help;
    if (type == Type::histogram) {
        if (buckets.empty()) buckets = default_buckets();
        std::sort(buckets.begin(), buckets.end());
        f.buckets = std::move(buckets);
    }
}

void Metrics::inc(const std::string& name, const Labels& labels, double value) {
    std::lock_guard lock(mu_);
    family(name).values[labels].fetch_add(value);
}

Metrics::CounterHandle Metrics::inc_handle(const std::string& name, const Labels& labels,
                                           double value) {
    std::lock_guard lock(mu_);
    std::atomic<double>& cell = family(name).values[labels];
    cell.fetch_add(value);
    return CounterHandle(&cell);
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
    std::lock_guard lock(mu_);
    family(name).values[labels].store(value);
}

void Metrics::add(const std::string& name, const Labels& labels, double delta) {
    std::lock_guard lock(mu_);
    family(name).values[labels].fetch_add(delta);
}

Metrics::Histogram& Metrics::histogram(const std::string& name, const Labels& labels, Family*& f) {
    f = &family(name);
    if (f->buckets.empty()) f->buckets = default_buckets();
    Histogram& h = f->histograms[labels];
    // Written once per sample (a handle may read them without the lock); an
    // undeclared family's buckets can still change, and then its counts restart.
    if (h.counts.size() != f->buckets.size())
        h.counts = std::vector<std::atomic<uint64_t>>(f->buckets.size());
    if (h.buckets == nullptr) h.buckets = &f->buckets;
    return h;
}

void Metrics::Histogram::record(double value) {
    count.fetch_add(1);
    sum.fetch_add(value);
    for (size_t i = 0; i < buckets->size(); ++i) {
        if (value <= (*buckets)[i]) {
            counts[i].fetch_add(1);
            break;
        }
    }
}

void Metrics::HistogramHandle::observe(double value) const {
    histogram_->record(value);
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
    std::lock_guard lock(mu_);
    Family* f = nullptr;
    histogram(name, labels, f).record(value);
}

Metrics::HistogramHandle Metrics::observe_handle(const std::string& name, const Labels& labels,
                                                 double value) {
    std::lock_guard lock(mu_);
    Family* f = nullptr;
    Histogram& h = histogram(name, labels, f);
    h.record(value);
    if (!f->declared || f->type != Type::histogram) return {};
    return HistogramHandle(&h);
}

double Metrics::value(const std::string& name, const Labels& labels) const {
    std::lock_guard lock(mu_);
    auto f = families_.find(name);
    if (f == families_.end()) return 0;
    auto v = f->second.values.find(labels);
    return v == f->second.values.end() ? 0 : v->second.load();
}

std::string Metrics::render() const {
    std::lock_guard lock(mu_);
    std::ostringstream out;
    for (const auto& [name, f] : families_) {
        if (f.declared) {
            out << "# HELP " << name << ' ' << f.help << '\n';
            out << "# TYPE " << name << ' ' << type_name(f.type) << '\n';
        } else {
            out << "# TYPE " << name << " untyped\n";
        }
        if (f.type == Type::histogram) {
            for (const auto& [labels, h] : f.histograms) {
                // The buckets before the count (see Histogram::record).
                uint64_t cumulative = 0;
                for (size_t i = 0; i < f.buckets.size(); ++i) {
                    cumulative += i < h.counts.size() ? h.counts[i].load() : 0;
                    out << name << "_bucket"
                        << render_labels(labels, "le", format_value(f.buckets[i])) << ' '
                        << cumulative << '\n';
                }
                const uint64_t count = h.count.load();
                out << name << "_bucket" << render_labels(labels, "le", "+Inf") << ' ' << count
                    << '\n';
                out << name << "_sum" << render_labels(labels) << ' ' << format_value(h.sum.load())
                    << '\n';
                out << name << "_count" << render_labels(labels) << ' ' << count << '\n';
            }
        } else {
            for (const auto& [labels, v] : f.values)
                out << name << render_labels(labels) << ' ' << format_value(v.load()) << '\n';
        }
    }
    return out.str();
}

}  // namespace teesigner::signerd
