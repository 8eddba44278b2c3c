// Load generator for a running signer (docs/PERFORMANCE.md): N concurrent
// clients, each on its own connection (HTTP keep-alive or WebSocket, over TCP or
// the Unix socket), sending one JSON-RPC request at a time (closed loop) from a
// mix of what a validator asks for. Reports throughput and latency percentiles,
// overall and per request kind, and counts every error. Every reply is checked:
// JSON-RPC 2.0, the id of the request in flight, a result of the expected
// shape (signatures: hex of the right length) or an error (counted, by code).
//
// It shares the machine with the signer it measures, so it is kept cheap per
// request: requests are written from text templates, replies checked by a
// strict scanner (anything unexpected is parsed in full). By default each
// client has its own thread, as when the figures in docs/PERFORMANCE.md were
// taken; --threads N shares N event loops among the clients instead: cheaper
// still (one wake-up serves every reply that has arrived), but on a busy
// machine a preempted loop stalls all its clients, which shows in p99.
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
// (no coordinated omission). Such a run also reports how late this process
// itself sent requests whose turn had come (`send_late`: its own threads'
// wake-ups on a busy machine, not the signer). Every run reports the share of
// the machine's CPU that was busy and, on a VM, stolen by the hypervisor in
// the measured window (`machine`, from /proc/stat). Without --rate each client
// sends as fast as answers come back (closed loop), which finds the
// throughput ceiling.
//
// Mixes (weights in percent):
//   realistic    assignment VRF 30, approval vote 30, backing statement 10,
//                GRANDPA vote 10, authority discovery 10, BABE slot-claim VRF 5,
//                BABE seal 5 (protected: approval, backing, GRANDPA, BABE seal);
//                a new parachain session every --session-requests (5,000; 0:
//                never), far more often than a real chain, to include session
//                changes in every run
//   unprotected  authority discovery signatures (sr25519, nothing persisted)
//   protected    GRANDPA votes, each for a new round (one new record each)
// Protected payloads never repeat a position, so each one writes a record.
// Exit status: 0 when every request succeeded, 1 otherwise (2: bad usage).
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
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
#include <string_view>
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
    int threads = 0;  // event loops the clients are spread over; 0: one per client
    // Realistic mix: a new parachain session every N requests (0: one session
    // for the whole run). Real sessions last 1 h (Kusama) or 4 h (Polkadot),
    // millions of requests at these rates; the default makes session changes,
    // which create and remove up to 256 protection objects per key, part of
    // every run.
    uint64_t session_requests = 5000;
    bool json_out = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "ts-loadgen: %s\n"
                 "usage: ts-loadgen (--unix PATH | --host H --port P) [--transport ws|http]\n"
                 "       [--clients N] [--duration S] [--warmup S] [--mix "
                 "realistic|unprotected|protected]\n"
                 "       [--token T] [--rate R] [--threads N] [--idle N] [--generate-keys N]\n"
                 "       [--session-requests N] [--json]\n",
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
        else if (a == "--threads")
            o.threads = static_cast<int>(number(1, 256));
        else if (a == "--rate")
            o.rate = number(0, 1e7);
        else if (a == "--session-requests")
            o.session_requests = static_cast<uint64_t>(number(0, 1e15));
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

// Receives the outcome of Connection::async_call.
class ReplyHandler {
  public:
    virtual ~ReplyHandler() = default;
    // `failure` is empty when `reply` arrived; `reply` is valid until the next call.
    virtual void on_reply(std::string_view reply, std::string_view failure) = 0;
};

// One JSON-RPC round trip at a time over one connection: blocking (set-up
// calls) or asynchronous on the connection's io_context (the measured load).
// The reply's text lives in the connection's reused buffer until the next call.
class Connection {
  public:
    virtual ~Connection() = default;
    virtual std::string_view call(std::string_view body) = 0;
    // `body` must stay alive until `handler` is called.
    virtual void async_call(std::string_view body, ReplyHandler& handler) = 0;
};

template <class Stream>
class HttpConnection final : public Connection {
  public:
    HttpConnection(Stream stream, const std::string& host, const std::string& token)
        : stream_(std::move(stream)), req_{http::verb::post, "/", 11} {
        // The headers are the same on every call: set them once.
        req_.set(http::field::host, host);
        req_.set(http::field::content_type, "application/json");
        if (!token.empty()) req_.set(http::field::authorization, "Bearer " + token);
        req_.keep_alive(true);
    }
    std::string_view call(std::string_view body) override {
        prepare(body);
        http::write(stream_, req_);
        http::read(stream_, buffer_, res_);
        if (res_.result() != http::status::ok)
            throw std::runtime_error("HTTP status " + std::to_string(res_.result_int()));
        return res_.body();
    }
    void async_call(std::string_view body, ReplyHandler& handler) override {
        prepare(body);
        http::async_write(stream_, req_, [this, &handler](beast::error_code wrote, size_t) {
            if (wrote) return handler.on_reply({}, "write: " + wrote.message());
            http::async_read(stream_, buffer_, res_,
                             [this, &handler](beast::error_code ec, size_t) {
                                 if (ec) return handler.on_reply({}, "read: " + ec.message());
                                 if (res_.result() != http::status::ok)
                                     return handler.on_reply(
                                         {}, "HTTP status " + std::to_string(res_.result_int()));
                                 handler.on_reply(res_.body(), {});
                             });
        });
    }

  private:
    void prepare(std::string_view body) {
        req_.body().assign(body);
        req_.prepare_payload();
        res_ = {};
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
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
        // No per-message deflate (Beast's default, stated here because it would
        // cost more CPU than the signing on both sides), and the fast PRNG for
        // the client's frame masks: they only guard against proxy cache
        // poisoning, which a load generator on a local socket has no use for.
        ws_.set_option(ws::permessage_deflate{});
        ws_.secure_prng(false);
        ws_.handshake(host, "/");
        ws_.text(true);
    }
    std::string_view call(std::string_view body) override {
        ws_.write(net::buffer(body.data(), body.size()));
        buffer_.clear();  // keeps its capacity: no allocation once warmed up
        ws_.read(buffer_);
        return received();
    }
    void async_call(std::string_view body, ReplyHandler& handler) override {
        ws_.async_write(net::buffer(body.data(), body.size()),
                        [this, &handler](beast::error_code wrote, size_t) {
                            if (wrote) return handler.on_reply({}, "write: " + wrote.message());
                            buffer_.clear();
                            ws_.async_read(buffer_, [this, &handler](beast::error_code ec, size_t) {
                                if (ec) return handler.on_reply({}, "read: " + ec.message());
                                handler.on_reply(received(), {});
                            });
                        });
    }

  private:
    std::string_view received() const {
        const auto data = buffer_.cdata();
        return {static_cast<const char*>(data.data()), data.size()};
    }

    ws::stream<Stream> ws_;
    beast::flat_buffer buffer_;
};

std::unique_ptr<Connection> open_connection(net::io_context& ioc, const Options& o) {
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
//
// Each request is written into a reused string from fixed text per kind, with
// only the id, the positions and the payload hex formatted in: building and
// dumping a JSON DOM per request cost the load generator about as much CPU as
// the signer spends on it, CPU taken from the signer on the same machine.

// The session public keys as "0x…" hex, formatted once.
struct Keys {
    std::string gran, babe, para, asgn, audi;
};

void append_hex(std::string& out, const uint8_t* data, size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    size_t at = out.size();
    out.resize(at + 2 + 2 * size);
    out[at++] = '0';
    out[at++] = 'x';
    for (size_t i = 0; i < size; ++i) {
        out[at++] = kDigits[data[i] >> 4];
        out[at++] = kDigits[data[i] & 15];
    }
}

void append_hex(std::string& out, const Bytes& b) {
    append_hex(out, b.data(), b.size());
}

void append_uint(std::string& out, uint64_t v) {
    char digits[20];
    const auto r = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, r.ptr);
}

Hash256 hash_of(uint64_t n, uint8_t salt) {
    Hash256 h{};
    for (size_t i = 0; i < 8; ++i) h[i] = static_cast<uint8_t>(n >> (8 * i));
    h[8] = salt;
    for (size_t i = 9; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 7 + salt);
    return h;
}

std::array<uint8_t, 8> u64le(uint64_t v) {
    std::array<uint8_t, 8> b{};
    for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
}

// `"0x…"` of an ASCII label, with its quotes.
std::string quoted_ascii_hex(const char* s) {
    std::string out = "\"";
    append_hex(out, reinterpret_cast<const uint8_t*>(s), std::strlen(s));
    return out + "\"";
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
uint64_t g_session_requests = 5000;  // Options::session_requests, set once in main

// A VRF transcript item `["0x<label>","0x<data>"]`.
void append_item(std::string& out, const std::string& quoted_label, const uint8_t* data,
                 size_t size) {
    out += '[';
    out += quoted_label;
    out += ",\"";
    append_hex(out, data, size);
    out += "\"]";
}

// Writes the JSON-RPC request of `kind` with `id` into `out` (replacing it).
void write_request(std::string& out, Kind kind, const Keys& k, uint64_t id) {
    const uint64_t n = g_next.fetch_add(1, std::memory_order_relaxed);
    out.assign(R"({"jsonrpc":"2.0","id":)");
    append_uint(out, id);
    switch (kind) {
        case kAssignmentVrf:
        case kBabeClaim: {
            // VrfTranscript {label, items: [[label, data], ...]} (docs/protocol.md).
            static const std::string kBabe = quoted_ascii_hex("BABE"),
                                     kSlot = quoted_ascii_hex("slot number"),
                                     kEpoch = quoted_ascii_hex("current epoch"),
                                     kRandomness = quoted_ascii_hex("chain randomness"),
                                     kModulo = quoted_ascii_hex("A&V MOD"),
                                     kRcVrf = quoted_ascii_hex("RC-VRF"),
                                     kSample = quoted_ascii_hex("sample");
            out += R"(,"method":"keystore_sr25519VrfSign","params":[)";
            if (kind == kBabeClaim) {
                static const std::array<uint8_t, 32> kChainRandomness = [] {
                    std::array<uint8_t, 32> r{};
                    r.fill(9);
                    return r;
                }();
                out += R"("babe",")";
                out += k.babe;
                out += R"(",{"label":)";
                out += kBabe;
                out += R"(,"items":[)";
                append_item(out, kSlot, u64le(n).data(), 8);
                out += ',';
                append_item(out, kEpoch, u64le(n / 600).data(), 8);
                out += ',';
                append_item(out, kRandomness, kChainRandomness.data(), kChainRandomness.size());
            } else {
                const Hash256 story = hash_of(n / 16, 3);
                out += R"("asgn",")";
                out += k.asgn;
                out += R"(",{"label":)";
                out += kModulo;
                out += R"(,"items":[)";
                append_item(out, kRcVrf, story.data(), story.size());
                out += ',';
                append_item(out, kSample, u64le(n % 16).data(), 8);
            }
            out += "]}]}";
            return;
        }
        case kApproval:
        case kBacking: {
            payloads::ParaStatement s;
            s.kind = kind == kApproval ? payloads::ParaStatementKind::approval
                                       : payloads::ParaStatementKind::backing_seconded;
            s.session = static_cast<uint32_t>(
                1000 + (g_session_requests == 0 ? 0 : n / g_session_requests));
            s.candidates = {hash_of(n, kind == kApproval ? 1 : 2)};
            if (kind == kBacking) s.parent_hash = hash_of(n / 8, 4);
            auto encoded = payloads::encode_para_statement(s);
            if (!encoded) throw std::runtime_error("cannot encode a para statement");
            out += R"(,"method":"signer_signParaStatement","params":["para",")";
            out += k.para;
            out += R"(",")";
            append_hex(out, *encoded);
            break;
        }
        case kGrandpa: {
            payloads::GrandpaVote v{payloads::GrandpaMessageKind::prevote, hash_of(n, 5),
                                    static_cast<uint32_t>(n), n, 3};
            out += R"(,"method":"signer_signGrandpaVote","params":["gran",")";
            out += k.gran;
            out += R"(",")";
            append_hex(out, payloads::encode_grandpa_vote(v));
            break;
        }
        case kAuthorityDiscovery: {
            uint8_t record[96];
            for (size_t i = 0; i < sizeof record; ++i) record[i] = static_cast<uint8_t>(n + i);
            out += R"(,"method":"keystore_sign","params":["audi","sr25519",")";
            out += k.audi;
            out += R"(",")";
            append_hex(out, record, sizeof record);
            break;
        }
        case kBabeSeal: {
            payloads::Header h;
            h.parent_hash = hash_of(n, 6);
            h.number = static_cast<uint32_t>(n);
            payloads::BabePreDigest pre;
            pre.kind = payloads::BabePreDigestKind::secondary_plain;
            pre.slot = n;
            h.digest.push_back({payloads::DigestItemKind::pre_runtime, payloads::kBabeEngineId,
                                payloads::encode_babe_pre_digest(pre)});
            out += R"(,"method":"signer_signBabeHeader","params":["babe",")";
            out += k.babe;
            out += R"(",")";
            append_hex(out, payloads::encode_header(h));
            break;
        }
        case kKinds:
            break;
    }
    out += R"("]})";
}

enum class Mix { realistic, unprotected, protected_ };

Kind pick(Mix mix, std::mt19937_64& rng) {
    if (mix == Mix::unprotected) return kAuthorityDiscovery;
    if (mix == Mix::protected_) return kGrandpa;
    static const int weights[kKinds] = {30, 30, 10, 10, 10, 5, 5};
    int r = static_cast<int>(rng() % 100);
    for (int k = 0; k < kKinds; ++k) {
        if (r < weights[k]) return static_cast<Kind>(k);
        r -= weights[k];
    }
    return kAuthorityDiscovery;
}

// ---- Replies --------------------------------------------------------------------

// A hex field of a result and its length in bytes; no name: the result itself
// is the hex string.
struct HexField {
    const char* name;
    size_t bytes;
};

// What a successful reply to each kind carries (docs/protocol.md), fields in
// the order the signer writes them (sorted by name).
struct Shape {
    std::array<HexField, 3> fields;
    size_t count;
};

const Shape& shape_of(Kind kind) {
    static const Shape kSignature{{{{nullptr, 64}}}, 1};  // keystore_sign, sr25519
    static const Shape kVrf{{{{"preOutput", 32}, {"proof", 64}, {"signature", 96}}}, 3};
    static const Shape kProtected{{{{"payloadHash", 32}, {"signature", 64}}}, 2};
    switch (kind) {
        case kAuthorityDiscovery:
            return kSignature;
        case kAssignmentVrf:
        case kBabeClaim:
            return kVrf;
        default:
            return kProtected;
    }
}

// A JSON-RPC error answer: the connection itself is fine.
struct RpcError : std::runtime_error {
    RpcError(int64_t c, const std::string& what) : std::runtime_error(what), code(c) {}
    int64_t code;
};

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Matches a reply left to right against the one exact text a correct answer
// has; any difference (other field order, spacing, an error) is a mismatch,
// not a verdict: check_reply() then parses the reply fully.
class Scanner {
  public:
    explicit Scanner(std::string_view s) : s_(s) {}
    bool literal(std::string_view t) {
        if (s_.compare(at_, t.size(), t) != 0) return false;
        at_ += t.size();
        return true;
    }
    bool number(uint64_t& v) {
        const auto r = std::from_chars(s_.data() + at_, s_.data() + s_.size(), v);
        // No leading zeros: JSON has none.
        if (r.ec != std::errc() || (s_[at_] == '0' && v != 0)) return false;
        at_ = static_cast<size_t>(r.ptr - s_.data());
        return true;
    }
    // "0x" and exactly 2 * bytes hex digits, quoted.
    bool hex_string(size_t bytes) {
        if (!literal("\"0x") || s_.size() - at_ < 2 * bytes + 1) return false;
        for (size_t i = 0; i < 2 * bytes; ++i)
            if (!is_hex_digit(s_[at_ + i])) return false;
        at_ += 2 * bytes;
        return literal("\"");
    }
    bool at_end() const { return at_ == s_.size(); }

  private:
    std::string_view s_;
    size_t at_ = 0;
};

// The fast path: {"id":N,"jsonrpc":"2.0","result":…} exactly as the signer
// writes a correct answer to request `id` of this shape.
bool matches_exactly(std::string_view reply, uint64_t id, const Shape& shape) {
    Scanner s(reply);
    uint64_t got = 0;
    if (!s.literal(R"({"id":)") || !s.number(got) || got != id ||
        !s.literal(R"(,"jsonrpc":"2.0","result":)"))
        return false;
    if (shape.fields[0].name == nullptr) {
        if (!s.hex_string(shape.fields[0].bytes)) return false;
    } else {
        if (!s.literal("{")) return false;
        for (size_t i = 0; i < shape.count; ++i) {
            if ((i > 0 && !s.literal(",")) || !s.literal("\"") ||
                !s.literal(shape.fields[i].name) || !s.literal("\":") ||
                !s.hex_string(shape.fields[i].bytes))
                return false;
        }
        if (!s.literal("}")) return false;
    }
    return s.literal("}") && s.at_end();
}

std::string clipped(std::string_view s) {
    return std::string(s.substr(0, 300)) + (s.size() > 300 ? "…" : "");
}

bool hex_of_length(const json& v, size_t bytes) {
    if (!v.is_string()) return false;
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() != 2 + 2 * bytes || s[0] != '0' || s[1] != 'x') return false;
    return std::all_of(s.begin() + 2, s.end(), is_hex_digit);
}

// Checks the reply to request `id` of this shape: returns when it is a correct
// answer, throws RpcError for a JSON-RPC error answer and std::runtime_error for
// anything else.
void check_reply(std::string_view reply, uint64_t id, const Shape& shape) {
    if (matches_exactly(reply, id, shape)) return;
    // Anything else, parsed in full so that it is judged (and reported) right.
    const json r = json::parse(reply, nullptr, false);
    if (r.is_discarded() || !r.is_object())
        throw std::runtime_error("reply is not a JSON object: " + clipped(reply));
    const auto version = r.find("jsonrpc");
    if (version == r.end() || *version != "2.0")
        throw std::runtime_error("not a JSON-RPC 2.0 reply: " + clipped(reply));
    const auto rid = r.find("id");
    const auto error = r.find("error");
    const auto result = r.find("result");
    if ((error == r.end()) == (result == r.end()))
        throw std::runtime_error("reply has not exactly one of result and error: " +
                                 clipped(reply));
    // An error may carry a null id when the server could not read the request's.
    const bool id_ok = rid != r.end() && ((rid->is_number_unsigned() && *rid == id) ||
                                          (error != r.end() && rid->is_null()));
    if (!id_ok)
        throw std::runtime_error("reply to request " + std::to_string(id) +
                                 " does not carry its id: " + clipped(reply));
    if (error != r.end()) {
        const auto code = error->is_object() ? error->find("code") : error->end();
        if (!error->is_object() || code == error->end() || !code->is_number_integer())
            throw std::runtime_error("JSON-RPC error without a code: " + clipped(reply));
        throw RpcError(code->get<int64_t>(), "JSON-RPC error " + error->dump());
    }
    bool ok = true;
    if (shape.fields[0].name == nullptr) {
        ok = hex_of_length(*result, shape.fields[0].bytes);
    } else {
        ok = result->is_object();
        for (size_t i = 0; ok && i < shape.count; ++i) {
            const auto f = result->find(shape.fields[i].name);
            ok = f != result->end() && hex_of_length(*f, shape.fields[i].bytes);
        }
    }
    if (!ok) throw std::runtime_error("result of an unexpected shape: " + clipped(reply));
}

// Call and return the result, or throw with the JSON-RPC error (set-up calls,
// not measured).
json rpc(Connection& c, const json& request) {
    json reply = json::parse(c.call(request.dump()));
    if (reply.contains("error"))
        throw std::runtime_error("JSON-RPC error " + reply["error"].dump());
    if (!reply.contains("result") || reply["id"] != request["id"])
        throw std::runtime_error("malformed reply " + reply.dump());
    return reply["result"];
}

Keys session_keys(Connection& c) {
    json blob = rpc(c, {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "author_rotateKeys"}});
    auto b = teesigner::core::from_hex(blob.get<std::string>());
    if (!b || b->size() != 193) throw std::runtime_error("author_rotateKeys: expected 193 bytes");
    auto key = [&](size_t i) {
        std::string s;
        append_hex(s, b->data() + 32 * i, 32);
        return s;
    };
    return {key(0), key(1), key(2), key(3), key(4)};
}

// ---- Measurement ----------------------------------------------------------------

struct ClientStats {
    std::vector<uint32_t> latency_us[kKinds];
    // Open loop: how late this process sent a request that was due and
    // whose predecessor had been answered (its own wake-up, not the signer).
    std::vector<uint32_t> send_late_us;
    uint64_t errors = 0;
    std::map<int64_t, uint64_t> error_codes;  // JSON-RPC errors by code
    std::string first_error;
};

// The machine's CPU time so far (Linux /proc/stat, in clock ticks): on a
// virtual machine `steal` is time its vCPUs were runnable but not running,
// which no code in the guest can win back, so runs report it beside latency.
struct CpuTicks {
    uint64_t busy = 0, steal = 0, total = 0;
};
std::optional<CpuTicks> cpu_ticks() {
    std::FILE* f = std::fopen("/proc/stat", "r");
    if (f == nullptr) return std::nullopt;
    unsigned long long v[8] = {};
    const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                              &v[3], &v[4], &v[5], &v[6], &v[7]);
    std::fclose(f);
    if (n != 8) return std::nullopt;
    CpuTicks t;
    for (int i = 0; i < 8; ++i) t.total += v[i];
    t.steal = v[7];
    t.busy = t.total - v[3] - v[4] - v[7];  // all but idle, iowait and steal
    return t;
}

uint32_t percentile(std::vector<uint32_t>& v, double p) {
    if (v.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

// What every client shares: the options, the keys and the phase of the run.
struct Run {
    const Options& options;
    Mix mix;
    Keys keys;
    std::atomic<bool> measuring{false}, stop{false};
};

// One client on its own connection, one request at a time: alone on its
// thread with blocking calls (run_blocking), or on an event loop shared with
// other clients (--threads; start with next()). Alone, a blocking round trip
// costs two system calls, where an event loop adds polls and failed reads.
class Client final : public ReplyHandler {
  public:
    Client(net::io_context& ioc, Run& run, int index, ClientStats& st)
        : ioc_(ioc),
          run_(run),
          st_(st),
          timer_(ioc),
          rng_(static_cast<uint64_t>(index) * 7919 + 1) {
        // Open loop: this client's requests are due every `interval_`,
        // staggered across clients.
        const Options& o = run.options;
        interval_ = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(o.rate > 0 ? o.clients / o.rate : 0));
        due_ = Clock::now() + interval_ * index / o.clients;
    }

    // Connects (blocking); false, counted as an error, when that fails.
    bool connect() {
        try {
            conn_ = open_connection(ioc_, run_.options);
            return true;
        } catch (const std::exception& e) {
            st_.errors++;
            st_.first_error = std::string("connect: ") + e.what();
            return false;
        }
    }

    // Until the run is over: send the next request, now (closed loop) or when
    // it is due (open loop), and settle its reply.
    void run_blocking() {
        while (prepare()) {
            if (run_.options.rate > 0) std::this_thread::sleep_until(due_);
            start_clock();
            std::string_view reply;
            std::string failure;
            try {
                reply = conn_->call(body_);
            } catch (const std::exception& e) {
                failure = e.what();
            }
            if (settle(reply, failure)) continue;
            while (!reconnected()) {
                if (run_.stop.load(std::memory_order_relaxed)) return;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
    }

    // The same on the event loop.
    void next() {
        if (!prepare()) return;
        if (run_.options.rate > 0) {
            timer_.expires_at(due_);
            timer_.async_wait([this](beast::error_code) { send(); });
        } else {
            send();
        }
    }

    void on_reply(std::string_view reply, std::string_view failure) override {
        if (settle(reply, failure)) return next();
        // Reconnect later, not here: this runs inside the old connection's handler.
        net::post(ioc_, [this] { reconnect(); });
    }

  private:
    // Writes the next request; false once the run is over.
    bool prepare() {
        if (run_.stop.load(std::memory_order_relaxed)) return false;
        kind_ = pick(run_.mix, rng_);
        id_++;
        write_request(body_, kind_, run_.keys, id_);
        return true;
    }

    void start_clock() {
        // Latency counts from when the request was due in the open loop.
        const auto now = Clock::now();
        if (run_.options.rate > 0 && run_.measuring.load(std::memory_order_relaxed))
            st_.send_late_us.push_back(
                static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          now - std::max(due_, answered_))
                                          .count()));
        t0_ = run_.options.rate > 0 ? due_ : now;
        due_ += interval_;
    }

    void send() {
        start_clock();
        conn_->async_call(body_, *this);
    }

    // Checks and counts the outcome of the request in flight; false when the
    // connection is broken or answered nonsense and must be replaced.
    bool settle(std::string_view reply, std::string_view failure) {
        const bool measuring = run_.measuring.load(std::memory_order_relaxed);
        try {
            if (!failure.empty()) throw std::runtime_error(std::string(failure));
            check_reply(reply, id_, shape_of(kind_));
        } catch (const RpcError& e) {
            // Answered with an error: counted with its code; the connection
            // is fine, so go on with it.
            if (measuring) {
                st_.errors++;
                st_.error_codes[e.code]++;
            }
            if (st_.first_error.empty()) st_.first_error = e.what();
            return true;
        } catch (const std::exception& e) {
            if (measuring) st_.errors++;
            if (st_.first_error.empty()) st_.first_error = e.what();
            return false;
        }
        answered_ = Clock::now();
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(answered_ - t0_).count();
        if (measuring) st_.latency_us[kind_].push_back(static_cast<uint32_t>(us));
        return true;
    }

    bool reconnected() {
        try {
            conn_ = open_connection(ioc_, run_.options);
            return true;
        } catch (...) {
            // Counted per attempt, every 10 ms, while the signer is away.
            if (run_.measuring.load(std::memory_order_relaxed)) st_.errors++;
            conn_.reset();
            return false;
        }
    }

    void reconnect() {
        if (reconnected()) return next();
        timer_.expires_after(std::chrono::milliseconds(10));
        timer_.async_wait([this](beast::error_code) {
            if (!run_.stop.load(std::memory_order_relaxed)) reconnect();
        });
    }

    net::io_context& ioc_;
    Run& run_;
    ClientStats& st_;
    std::unique_ptr<Connection> conn_;
    net::steady_timer timer_;
    std::mt19937_64 rng_;
    Clock::duration interval_{};
    Clock::time_point due_, t0_, answered_;
    std::string body_;  // reused: no allocation per request once warmed up
    Kind kind_ = kAuthorityDiscovery;
    uint64_t id_ = 0;  // of the request in flight
};

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    g_session_requests = o.session_requests;
    net::io_context ioc;
    std::unique_ptr<Connection> setup;
    try {
        setup = open_connection(ioc, o);
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
                held.push_back(open_connection(ioc, o));
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
    Run run{o,
            o.mix == "unprotected" ? Mix::unprotected
            : o.mix == "protected" ? Mix::protected_
                                   : Mix::realistic,
            std::move(keys)};
    // A thread per client (blocking calls) by default, or --threads event loops.
    const int loops = o.threads > 0 ? std::min(o.threads, o.clients) : o.clients;
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < loops; ++t) {
        threads.emplace_back([&, t] {
            net::io_context loop(1);  // one thread: no locking inside asio
            std::vector<std::unique_ptr<Client>> clients;
            for (int c = t; c < o.clients; c += loops) {
                clients.push_back(
                    std::make_unique<Client>(loop, run, c, stats[static_cast<size_t>(c)]));
                if (!clients.back()->connect()) clients.pop_back();
            }
            ready++;
            if (loops == o.clients) {
                for (auto& c : clients) c->run_blocking();
                return;
            }
            for (auto& c : clients) c->next();
            loop.run();  // returns when every client has stopped
        });
    }
    while (ready.load() < loops) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    run.measuring = true;
    auto start = Clock::now();
    const auto ticks_before = cpu_ticks();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
    const auto ticks_after = cpu_ticks();
    run.measuring = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    run.stop = true;
    for (auto& t : threads) t.join();

    std::vector<uint32_t> all, per[kKinds], send_late;
    uint64_t errors = 0;
    std::string first_error;
    std::map<int64_t, uint64_t> error_codes;
    for (ClientStats& st : stats) {
        errors += st.errors;
        if (first_error.empty()) first_error = st.first_error;
        for (const auto& [code, count] : st.error_codes) error_codes[code] += count;
        send_late.insert(send_late.end(), st.send_late_us.begin(), st.send_late_us.end());
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
                   {"session_requests", o.session_requests},
                   {"requests", all.size()},
                   {"errors", errors},
                   {"per_second", static_cast<double>(all.size()) / elapsed},
                   {"p50_us", percentile(all, 0.50)},
                   {"p99_us", percentile(all, 0.99)},
                   {"p999_us", percentile(all, 0.999)},
                   {"max_us", all.empty() ? 0 : all.back()}};
    if (ticks_before && ticks_after && ticks_after->total > ticks_before->total) {
        const auto share = [&](uint64_t CpuTicks::*field) {
            return 100.0 * static_cast<double>(*ticks_after.*field - *ticks_before.*field) /
                   static_cast<double>(ticks_after->total - ticks_before->total);
        };
        report["machine"] = {{"busy_percent", share(&CpuTicks::busy)},
                             {"steal_percent", share(&CpuTicks::steal)}};
    }
    if (!send_late.empty()) {
        std::sort(send_late.begin(), send_late.end());
        report["send_late"] = {{"p50_us", percentile(send_late, 0.50)},
                               {"p99_us", percentile(send_late, 0.99)},
                               {"p999_us", percentile(send_late, 0.999)},
                               {"max_us", send_late.back()}};
    }
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
        if (report.contains("machine"))
            std::printf("  machine: CPU busy %.1f %%, stolen by the hypervisor %.1f %%\n",
                        report["machine"]["busy_percent"].get<double>(),
                        report["machine"]["steal_percent"].get<double>());
        if (!send_late.empty())
            std::printf(
                "  sent late (this process's own wake-up) p50 %u us, p99 %u us, p99.9 %u "
                "us, max %u us\n",
                percentile(send_late, 0.50), percentile(send_late, 0.99),
                percentile(send_late, 0.999), send_late.back());
        for (int k = 0; k < kKinds; ++k)
            if (!per[k].empty())
                std::printf("  %-20s %8zu  p50 %6u us  p99 %6u us  p99.9 %6u us\n", kKindNames[k],
                            per[k].size(), percentile(per[k], 0.50), percentile(per[k], 0.99),
                            percentile(per[k], 0.999));
    }
    if (errors > 0) std::fprintf(stderr, "ts-loadgen: first error: %s\n", first_error.c_str());
    for (const auto& [code, count] : error_codes)
        std::fprintf(stderr, "ts-loadgen: JSON-RPC error %lld: %llu\n",
                     static_cast<long long>(code), static_cast<unsigned long long>(count));
    return errors == 0 && !all.empty() ? 0 : 1;
}
