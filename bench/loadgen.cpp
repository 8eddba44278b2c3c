// Load generator for a running signer (docs/PERFORMANCE.md): N concurrent
// clients, each on its own connection (HTTP keep-alive or WebSocket, over TCP or
// the Unix socket), sending one JSON-RPC request at a time (closed loop) from a
// mix of what a validator asks for. Reports throughput and latency percentiles,
// overall and per request kind, and counts every error.
//
//   ts-loadgen --unix /run/tee-signer/rpc.sock --transport ws --clients 32 --duration 10
//   ts-loadgen --host 127.0.0.1 --port 9955 --transport http --mix unprotected
//   ts-loadgen --unix S --idle 1000 --duration 30      (hold 1,000 idle connections)
//   ts-loadgen --unix S --generate-keys 1000           (then exit)
//   ts-loadgen --unix S --mix protected --clients 16 --rate 2000
//
// With --rate R the clients send R requests per second in all on a fixed
// schedule (open loop: each of N clients every N/R seconds) and latency is
// counted from when a request was due, not when it went out, so a signer that
// falls behind shows it in the percentiles instead of slowing the clients down
// (no coordinated omission). Without it each client sends as fast as answers
// come back (closed loop), which finds the throughput ceiling.
//
// Mixes (weights in percent):
//   realistic    assignment VRF 30, approval vote 30, backing statement 10,
//                GRANDPA vote 10, authority discovery 10, BABE slot-claim VRF 5,
//                BABE seal 5 (protected: approval, backing, GRANDPA, BABE seal)
//   unprotected  authority discovery signatures (sr25519, nothing persisted)
//   protected    GRANDPA votes, each for a new round (one new record each)
// Protected payloads never repeat a position, so each one writes a record.
// Exit status: 0 when every request succeeded, 1 otherwise (2: bad usage).
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/payloads.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ws = beast::websocket;
using json = nlohmann::json;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using teesigner::core::Bytes;
using teesigner::core::Hash256;
namespace payloads = teesigner::core::payloads;

struct Options {
    std::string unix_path;
    std::string host = "127.0.0.1";
    std::string port = "9955";
    std::string transport = "ws";  // ws or http
    std::string mix = "realistic";
    std::string token;
    int clients = 16;
    double duration = 10;
    double warmup = 1;
    int idle = 0;
    int generate_keys = 0;
    double rate = 0;  // requests per second in all; 0 = closed loop
    bool json_out = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "ts-loadgen: %s\n"
                 "usage: ts-loadgen (--unix PATH | --host H --port P) [--transport ws|http]\n"
                 "       [--clients N] [--duration S] [--warmup S] [--mix "
                 "realistic|unprotected|protected]\n"
                 "       [--token T] [--rate R] [--idle N] [--generate-keys N] [--json]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        auto number = [&](double lo, double hi) {
            std::string v = value();
            char* end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || d < lo || d > hi)
                usage((a + ": expected a number in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]")
                          .c_str());
            return d;
        };
        if (a == "--unix")
            o.unix_path = value();
        else if (a == "--host")
            o.host = value();
        else if (a == "--port")
            o.port = value();
        else if (a == "--transport")
            o.transport = value();
        else if (a == "--mix")
            o.mix = value();
        else if (a == "--token")
            o.token = value();
        else if (a == "--clients")
            o.clients = static_cast<int>(number(1, 4096));
        else if (a == "--duration")
            o.duration = number(0.1, 86400);
        else if (a == "--warmup")
            o.warmup = number(0, 3600);
        else if (a == "--idle")
            o.idle = static_cast<int>(number(0, 100000));
        else if (a == "--generate-keys")
            o.generate_keys = static_cast<int>(number(0, 100000));
        else if (a == "--rate")
            o.rate = number(0, 1e7);
        else if (a == "--json")
            o.json_out = true;
        else
            usage(("unknown option " + a).c_str());
    }
    if (o.transport != "ws" && o.transport != "http") usage("--transport must be ws or http");
    if (o.mix != "realistic" && o.mix != "unprotected" && o.mix != "protected")
        usage("--mix must be realistic, unprotected or protected");
    return o;
}

// ---- Connections ----------------------------------------------------------------

// One JSON-RPC round trip at a time over one connection.
class Connection {
  public:
    virtual ~Connection() = default;
    virtual std::string call(const std::string& body) = 0;
};

template <class Stream>
class HttpConnection final : public Connection {
  public:
    HttpConnection(Stream stream, std::string host, std::string token)
        : stream_(std::move(stream)), host_(std::move(host)), token_(std::move(token)) {}
    std::string call(const std::string& body) override {
        http::request<http::string_body> req{http::verb::post, "/", 11};
        req.set(http::field::host, host_);
        req.set(http::field::content_type, "application/json");
        if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        if (res.result() != http::status::ok)
            throw std::runtime_error("HTTP status " + std::to_string(res.result_int()));
        return std::move(res.body());
    }

  private:
    Stream stream_;
    beast::flat_buffer buffer_;
    std::string host_;
    std::string token_;
};

template <class Stream>
class WsConnection final : public Connection {
  public:
    WsConnection(Stream stream, const std::string& host, const std::string& token)
        : ws_(std::move(stream)) {
        if (!token.empty())
            ws_.set_option(ws::stream_base::decorator([token](ws::request_type& req) {
                req.set(http::field::authorization, "Bearer " + token);
            }));
        ws_.handshake(host, "/");
        ws_.text(true);
    }
    std::string call(const std::string& body) override {
        ws_.write(net::buffer(body));
        buffer_.clear();
        ws_.read(buffer_);
        return beast::buffers_to_string(buffer_.data());
    }

  private:
    ws::stream<Stream> ws_;
    beast::flat_buffer buffer_;
};

std::unique_ptr<Connection> connect(net::io_context& ioc, const Options& o) {
    if (!o.unix_path.empty()) {
        local::socket s(ioc);
        s.connect(local::endpoint(o.unix_path));
        if (o.transport == "http")
            return std::make_unique<HttpConnection<local::socket>>(std::move(s), "localhost",
                                                                   o.token);
        return std::make_unique<WsConnection<local::socket>>(std::move(s), "localhost", o.token);
    }
    tcp::resolver resolver(ioc);
    tcp::socket s(ioc);
    net::connect(s, resolver.resolve(o.host, o.port));
    s.set_option(tcp::no_delay(true));
    if (o.transport == "http")
        return std::make_unique<HttpConnection<tcp::socket>>(std::move(s), o.host, o.token);
    return std::make_unique<WsConnection<tcp::socket>>(std::move(s), o.host, o.token);
}

// ---- Requests -------------------------------------------------------------------

struct Keys {
    Bytes gran, babe, para, asgn, audi;
};

std::string hex(const Bytes& b) {
    return teesigner::core::to_hex(b);
}

Hash256 hash_of(uint64_t n, uint8_t salt) {
    Hash256 h{};
    for (size_t i = 0; i < 8; ++i) h[i] = static_cast<uint8_t>(n >> (8 * i));
    h[8] = salt;
    for (size_t i = 9; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 7 + salt);
    return h;
}

Bytes u64le(uint64_t v) {
    Bytes b(8);
    for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
}

std::string ascii_hex(const char* s) {
    return hex(Bytes(s, s + std::strlen(s)));
}

enum Kind : int {
    kAssignmentVrf,
    kApproval,
    kBacking,
    kGrandpa,
    kAuthorityDiscovery,
    kBabeClaim,
    kBabeSeal,
    kKinds
};
const char* kKindNames[kKinds] = {"assignment_vrf", "approval_vote",       "backing_statement",
                                  "grandpa_vote",   "authority_discovery", "babe_slot_claim_vrf",
                                  "babe_seal"};

// Positions never reused across clients: every protected request is new.
std::atomic<uint64_t> g_next{1};

json request_for(Kind kind, const Keys& k, uint64_t id) {
    const uint64_t n = g_next.fetch_add(1);
    json params;
    std::string method;
    switch (kind) {
        case kAssignmentVrf:
        case kBabeClaim: {
            method = "keystore_sr25519VrfSign";
            // VrfTranscript {label, items: [[label, data], ...]} (docs/protocol.md).
            auto item = [](const char* label, const Bytes& data) {
                return json::array({ascii_hex(label), hex(data)});
            };
            json t = json::object();
            if (kind == kBabeClaim) {
                t["label"] = ascii_hex("BABE");
                t["items"] = json::array({item("slot number", u64le(n)),
                                          item("current epoch", u64le(n / 600)),
                                          item("chain randomness", Bytes(32, 9))});
                params = json::array({"babe", hex(k.babe), t});
            } else {
                Hash256 story = hash_of(n / 16, 3);
                t["label"] = ascii_hex("A&V MOD");
                t["items"] = json::array({item("RC-VRF", Bytes(story.begin(), story.end())),
                                          item("sample", u64le(n % 16))});
                params = json::array({"asgn", hex(k.asgn), t});
            }
            break;
        }
        case kApproval:
        case kBacking: {
            method = "signer_signParaStatement";
            payloads::ParaStatement s;
            s.kind = kind == kApproval ? payloads::ParaStatementKind::approval
                                       : payloads::ParaStatementKind::backing_seconded;
            s.session = static_cast<uint32_t>(1000 + n / 5000);  // sessions roll over
            s.candidates = {hash_of(n, kind == kApproval ? 1 : 2)};
            if (kind == kBacking) s.parent_hash = hash_of(n / 8, 4);
            auto encoded = payloads::encode_para_statement(s);
            if (!encoded) throw std::runtime_error("cannot encode a para statement");
            params = json::array({"para", hex(k.para), hex(*encoded)});
            break;
        }
        case kGrandpa: {
            method = "signer_signGrandpaVote";
            payloads::GrandpaVote v{payloads::GrandpaMessageKind::prevote, hash_of(n, 5),
                                    static_cast<uint32_t>(n), n, 3};
            params = json::array({"gran", hex(k.gran), hex(payloads::encode_grandpa_vote(v))});
            break;
        }
        case kAuthorityDiscovery: {
            method = "keystore_sign";
            Bytes record(96);
            for (size_t i = 0; i < record.size(); ++i) record[i] = static_cast<uint8_t>(n + i);
            params = json::array({"audi", "sr25519", hex(k.audi), hex(record)});
            break;
        }
        case kBabeSeal: {
            method = "signer_signBabeHeader";
            payloads::Header h;
            h.parent_hash = hash_of(n, 6);
            h.number = static_cast<uint32_t>(n);
            payloads::BabePreDigest pre;
            pre.kind = payloads::BabePreDigestKind::secondary_plain;
            pre.slot = n;
            h.digest.push_back({payloads::DigestItemKind::pre_runtime, payloads::kBabeEngineId,
                                payloads::encode_babe_pre_digest(pre)});
            params = json::array({"babe", hex(k.babe), hex(payloads::encode_header(h))});
            break;
        }
        case kKinds:
            break;
    }
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

Kind pick(const std::string& mix, std::mt19937_64& rng) {
    if (mix == "unprotected") return kAuthorityDiscovery;
    if (mix == "protected") return kGrandpa;
    static const int weights[kKinds] = {30, 30, 10, 10, 10, 5, 5};
    int r = static_cast<int>(rng() % 100);
    for (int k = 0; k < kKinds; ++k) {
        if (r < weights[k]) return static_cast<Kind>(k);
        r -= weights[k];
    }
    return kAuthorityDiscovery;
}

// Call and return the result, or throw with the JSON-RPC error.
json rpc(Connection& c, const json& request) {
    json reply = json::parse(c.call(request.dump()));
    if (reply.contains("error"))
        throw std::runtime_error("JSON-RPC error " + reply["error"].dump());
    if (!reply.contains("result") || reply["id"] != request["id"])
        throw std::runtime_error("malformed reply " + reply.dump());
    return reply["result"];
}

Bytes from_hex(const std::string& s) {
    auto b = teesigner::core::from_hex(s);
    if (!b) throw std::runtime_error("bad hex in reply: " + s);
    return *b;
}

Keys session_keys(Connection& c) {
    json blob = rpc(c, {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "author_rotateKeys"}});
    Bytes b = from_hex(blob.get<std::string>());
    if (b.size() != 193) throw std::runtime_error("author_rotateKeys: expected 193 bytes");
    Keys k;
    k.gran.assign(b.begin(), b.begin() + 32);
    k.babe.assign(b.begin() + 32, b.begin() + 64);
    k.para.assign(b.begin() + 64, b.begin() + 96);
    k.asgn.assign(b.begin() + 96, b.begin() + 128);
    k.audi.assign(b.begin() + 128, b.begin() + 160);
    return k;
}

// ---- Measurement ----------------------------------------------------------------

struct ClientStats {
    std::vector<uint32_t> latency_us[kKinds];
    uint64_t errors = 0;
    std::string first_error;
};

uint32_t percentile(std::vector<uint32_t>& v, double p) {
    if (v.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    net::io_context ioc;
    std::unique_ptr<Connection> setup;
    try {
        setup = connect(ioc, o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ts-loadgen: cannot connect: %s\n", e.what());
        return 1;
    }

    if (o.generate_keys > 0) {
        for (int i = 0; i < o.generate_keys; ++i) {
            try {
                rpc(*setup, {{"jsonrpc", "2.0"},
                             {"id", i + 1},
                             {"method", "keystore_generateNew"},
                             {"params", {"audi", "sr25519"}}});
            } catch (const std::exception& e) {
                std::fprintf(stderr, "ts-loadgen: key %d: %s\n", i + 1, e.what());
                return 1;
            }
        }
        std::printf("generated %d keys\n", o.generate_keys);
        return 0;
    }

    if (o.idle > 0) {
        // Idle connections, each proven alive by one cheap call, then held.
        std::vector<std::unique_ptr<Connection>> held;
        for (int i = 0; i < o.idle; ++i) {
            try {
                held.push_back(connect(ioc, o));
                rpc(*held.back(), {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "rpc_methods"}});
            } catch (const std::exception& e) {
                std::fprintf(stderr, "ts-loadgen: idle connection %d: %s\n", i + 1, e.what());
                return 1;
            }
        }
        std::printf("holding %d idle connections for %.0f s\n", o.idle, o.duration);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
        return 0;
    }

    Keys keys;
    try {
        keys = session_keys(*setup);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ts-loadgen: setup: %s\n", e.what());
        return 1;
    }

    std::vector<ClientStats> stats(static_cast<size_t>(o.clients));
    std::atomic<bool> measuring{false}, stop{false};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < o.clients; ++c) {
        threads.emplace_back([&, c] {
            ClientStats& st = stats[static_cast<size_t>(c)];
            net::io_context own;
            std::unique_ptr<Connection> conn;
            try {
                conn = connect(own, o);
            } catch (const std::exception& e) {
                st.errors++;
                st.first_error = std::string("connect: ") + e.what();
                ready++;
                return;
            }
            ready++;
            std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 1);
            uint64_t id = 1;
            // Open loop: this client's requests are due every `interval`,
            // staggered across clients.
            const auto interval = std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(o.rate > 0 ? o.clients / o.rate : 0));
            auto due = Clock::now() + interval * c / o.clients;
            while (!stop.load(std::memory_order_relaxed)) {
                Kind kind = pick(o.mix, rng);
                json req = request_for(kind, keys, id++);
                if (o.rate > 0) std::this_thread::sleep_until(due);
                auto t0 = o.rate > 0 ? due : Clock::now();
                due += interval;
                try {
                    rpc(*conn, req);
                } catch (const std::exception& e) {
                    if (measuring) st.errors++;
                    if (st.first_error.empty()) st.first_error = e.what();
                    try {  // a broken connection: reconnect and go on
                        conn = connect(own, o);
                    } catch (...) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    }
                    continue;
                }
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0)
                              .count();
                if (measuring.load(std::memory_order_relaxed))
                    st.latency_us[kind].push_back(static_cast<uint32_t>(us));
            }
        });
    }
    while (ready.load() < o.clients) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    measuring = true;
    auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
    measuring = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    stop = true;
    for (auto& t : threads) t.join();

    std::vector<uint32_t> all, per[kKinds];
    uint64_t errors = 0;
    std::string first_error;
    for (ClientStats& st : stats) {
        errors += st.errors;
        if (first_error.empty()) first_error = st.first_error;
        for (int k = 0; k < kKinds; ++k) {
            per[k].insert(per[k].end(), st.latency_us[k].begin(), st.latency_us[k].end());
            all.insert(all.end(), st.latency_us[k].begin(), st.latency_us[k].end());
        }
    }
    std::sort(all.begin(), all.end());
    json report = {{"transport", (o.unix_path.empty() ? "tcp+" : "unix+") + o.transport},
                   {"mix", o.mix},
                   {"clients", o.clients},
                   {"seconds", elapsed},
                   {"target_per_second", o.rate},
                   {"requests", all.size()},
                   {"errors", errors},
                   {"per_second", static_cast<double>(all.size()) / elapsed},
                   {"p50_us", percentile(all, 0.50)},
                   {"p99_us", percentile(all, 0.99)},
                   {"p999_us", percentile(all, 0.999)},
                   {"max_us", all.empty() ? 0 : all.back()}};
    for (int k = 0; k < kKinds; ++k) {
        if (per[k].empty()) continue;
        std::sort(per[k].begin(), per[k].end());
        report["kinds"][kKindNames[k]] = {{"requests", per[k].size()},
                                          {"p50_us", percentile(per[k], 0.50)},
                                          {"p99_us", percentile(per[k], 0.99)},
                                          {"p999_us", percentile(per[k], 0.999)}};
    }
    if (o.json_out) {
        std::printf("%s\n", report.dump().c_str());
    } else {
        std::printf("%s, mix %s, %d clients, %.1f s: %zu requests, %llu errors, %.0f/s",
                    report["transport"].get<std::string>().c_str(), o.mix.c_str(), o.clients,
                    elapsed, all.size(), static_cast<unsigned long long>(errors),
                    report["per_second"].get<double>());
        if (o.rate > 0) std::printf(" (target %.0f/s)", o.rate);
        std::printf("\n");
        std::printf("  latency p50 %u us, p99 %u us, p99.9 %u us, max %u us\n",
                    percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999),
                    all.empty() ? 0u : all.back());
        for (int k = 0; k < kKinds; ++k)
            if (!per[k].empty())
                std::printf("  %-20s %8zu  p50 %6u us  p99 %6u us  p99.9 %6u us\n", kKindNames[k],
                            per[k].size(), percentile(per[k], 0.50), percentile(per[k], 0.99),
                            percentile(per[k], 0.999));
    }
    if (errors > 0) std::fprintf(stderr, "ts-loadgen: first error: %s\n", first_error.c_str());
    return errors == 0 && !all.empty() ? 0 : 1;
}
