#include "server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace teesigner::signerd {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using local = boost::asio::local::stream_protocol;

namespace {

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using UnixStream = beast::basic_stream<local>;

constexpr const char* kServerName = "tee-signer";
constexpr const char* kRateLimitedMetric = "teesigner_rate_limited_total";

// ---- Connection accounting ---------------------------------------------------

class ConnectionLimiter {
  public:
    ConnectionLimiter(size_t total, size_t per_ip, size_t per_identity)
        : max_total_(total), max_per_ip_(per_ip), max_per_identity_(per_identity) {}

    // Empty string on success, else the reason for refusal.
    std::string acquire(const std::string& ip) {
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
    void release(const std::string& ip) {
        std::lock_guard lock(mu_);
        --total_;
        if (!ip.empty()) {
            auto it = per_ip_.find(ip);
            if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
        }
    }

    // Connections of one authenticated identity, whatever their address.
    bool acquire_identity(const std::string& identity) {
        std::lock_guard lock(mu_);
        auto it = per_identity_.try_emplace(identity, 0).first;
        if (it->second >= max_per_identity_) {
            if (it->second == 0) per_identity_.erase(it);
            return false;
        }
        ++it->second;
        return true;
    }
    void release_identity(const std::string& identity) {
        std::lock_guard lock(mu_);
        auto it = per_identity_.find(identity);
        if (it != per_identity_.end() && --it->second == 0) per_identity_.erase(it);
    }
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
    bool allow(const std::string& key, unsigned& retry_after_s) {
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

  private:
    struct Bucket {
        double tokens;
        Clock::time_point last;
    };
    // Clients are identities and local addresses, so few; still, never grow
    // without bound: forget buckets that have refilled completely.
    static constexpr size_t kMaxBuckets = 4096;
    void prune(Clock::time_point now) {
        const auto full_after = std::chrono::duration<double>(burst_ / rate_);
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            if (now - it->second.last >= full_after)
                it = buckets_.erase(it);
            else
                ++it;
        }
    }

    std::mutex mu_;
    double rate_;
    double burst_;
    std::map<std::string, Bucket> buckets_;
};

// ---- State shared by listeners and sessions ------------------------------------

struct State {
    ServerOptions options;
    RpcDispatcher& dispatcher;
    Metrics& metrics;
    TokenStore tokens;
    HealthProvider health;
    ConnectionLimiter limiter;
    RateLimiter rate;
    std::unique_ptr<ssl::context> tls;
    // Owned by Server::Impl, which destroys it (and the jobs still queued on
    // it) before the io_context that the jobs' sessions belong to.
    net::thread_pool* workers = nullptr;
    // Stage metrics of the RPC layer (Metrics::kRpc*Wait).
    LazyHistogram worker_wait{&metrics, Metrics::kRpcWorkerWait};
    LazyHistogram reply_wait{&metrics, Metrics::kRpcReplyWait};

    State(ServerOptions o, RpcDispatcher& d, Metrics& m, TokenStore t, HealthProvider h)
        : options(std::move(o)),
          dispatcher(d),
          metrics(m),
          tokens(std::move(t)),
          health(std::move(h)),
          limiter(options.limits.max_connections, options.limits.max_connections_per_ip,
                  options.limits.max_connections_per_identity),
          rate(options.limits.rate_limit_per_second, options.limits.rate_limit_burst) {}
};

// Holds one connection's place in the limiter and the open-connections gauge.
class ConnectionSlot {
  public:
    ConnectionSlot() = default;
    ConnectionSlot(std::shared_ptr<State> state, std::string ip, std::string transport)
        : state_(std::move(state)), ip_(std::move(ip)), transport_(std::move(transport)) {
        state_->metrics.add(Metrics::kConnectionsOpen, {{"transport", transport_}}, 1);
    }
    ConnectionSlot(ConnectionSlot&& o) noexcept
        : state_(std::move(o.state_)), ip_(std::move(o.ip_)), transport_(std::move(o.transport_)) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
        if (!state_) return;
        state_->limiter.release(ip_);
        state_->metrics.add(Metrics::kConnectionsOpen, {{"transport", transport_}}, -1);
    }

  private:
    std::shared_ptr<State> state_;
    std::string ip_;
    std::string transport_;
};

// Holds one connection's place under its identity's connection limit.
class IdentitySlot {
  public:
    IdentitySlot() = default;
    IdentitySlot(std::shared_ptr<State> state, std::string identity)
        : state_(std::move(state)), identity_(std::move(identity)) {}
    IdentitySlot(IdentitySlot&& o) noexcept
        : state_(std::move(o.state_)), identity_(std::move(o.identity_)) {}
    IdentitySlot& operator=(IdentitySlot&& o) noexcept {
        if (this != &o) {
            release();
            state_ = std::move(o.state_);
            identity_ = std::move(o.identity_);
        }
        return *this;
    }
    ~IdentitySlot() { release(); }
    const std::string& identity() const { return identity_; }

  private:
    void release() {
        if (state_) state_->limiter.release_identity(identity_);
        state_.reset();
        identity_.clear();
    }
    std::shared_ptr<State> state_;
    std::string identity_;
};

// What we know about a connection before any request.
struct ConnInfo {
    std::string client;  // remote IP, or "unix": the key of per-address limits
    std::string peer;    // "ip:port" or "unix"
    bool local = false;  // loopback peer or Unix socket
    bool unix_socket = false;
    bool tls = false;
    std::string cert_identity;  // verified client certificate CN (mTLS)
};

bool iequals_prefix(std::string_view value, std::string_view prefix) {
    if (value.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool address_is_loopback(const net::ip::address& a) {
    if (a.is_loopback()) return true;
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
    return false;
}

std::string normalized_ip(const net::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

std::string cert_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return {};
    std::string cn;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME* subject = X509_get_subject_name(cert);
        int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (idx >= 0) {
            ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
            unsigned char* utf8 = nullptr;
            int len = ASN1_STRING_to_UTF8(&utf8, data);
            if (len > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
            OPENSSL_free(utf8);
        }
    }
    X509_free(cert);
    // An empty or control-character CN is not a usable identity.
    for (char c : cn) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return {};
    }
    return cn;
}

json error_body(int code, const std::string& message) {
    return RpcDispatcher::error_response(nullptr, code, message);
}

// Outcome of authenticating one HTTP request (or WebSocket upgrade).
struct AuthOutcome {
    bool ok = false;
    std::string identity;
    std::string reason;  // for the metric label and the 401 message
};

AuthOutcome authenticate(const State& state, const ConnInfo& conn,
                         const http::request_header<>& req) {
    if (!conn.cert_identity.empty()) return {true, conn.cert_identity, {}};
    auto header = req.find(http::field::authorization);
    if (header != req.end()) {
        auto token = parse_bearer(header->value());
        if (!token) return {false, {}, "malformed_authorization"};
        if (auto name = state.tokens.authenticate(*token)) return {true, *name, {}};
        return {false, {}, "bad_token"};
    }
    if (conn.local && !state.options.require_auth_local) return {true, "local", {}};
    return {false, {}, "missing_credentials"};
}

std::string auth_message(const std::string& reason) {
    if (reason == "bad_token") return "authentication failed: invalid bearer token";
    if (reason == "malformed_authorization")
        return "authentication failed: expected \"Authorization: Bearer <token>\"";
    return "authentication required: send \"Authorization: Bearer <token>\" or a client "
           "certificate";
}

bool rate_limited(const State& state, const std::string& identity) {
    return identity != "local" || state.options.limits.rate_limit_local;
}

// The rate limiter's client: a named identity wherever it connects from;
// unauthenticated local clients by address (or the Unix socket).
std::string rate_key(const std::string& identity, const ConnInfo& conn) {
    return identity == "local" ? "local@" + conn.client : identity;
}

std::string rate_limited_message(const State& state, const std::string& identity,
                                 unsigned retry_after_s) {
    const auto& l = state.options.limits;
    return "rate limited: client \"" + identity + "\" sent more than " +
           std::to_string(l.rate_limit_per_second) + " requests per second (burst " +
           std::to_string(l.rate_limit_burst) + "); retry in " + std::to_string(retry_after_s) +
           " s";
}

void count_rate_limited(State& state, const std::string& identity) {
    state.metrics.inc(kRateLimitedMetric, {{"identity", identity}});
}

// The answer to a rate-limited WebSocket message: the error for each request
// id in it (the client matches answers by id), nothing for notifications.
std::optional<std::string> rate_limited_answer(const std::string& text, int max_depth,
                                               const std::string& message) {
    auto error_for = [&](const json& request) {
        json id = nullptr;
        if (request.is_object() && request.contains("id")) {
            const json& v = request["id"];
            if (v.is_string() || v.is_number_integer() || v.is_number_unsigned()) id = v;
        }
        return RpcDispatcher::error_response(id, kRateLimitedCode, message);
    };
    const auto parsed = parse_json_limited(text, max_depth, nullptr);
    if (!parsed) return error_for(json()).dump();
    if (parsed->is_array()) {
        json out = json::array();
        for (const auto& member : *parsed) {
            if (member.is_object() && !member.contains("id")) continue;  // notification
            out.push_back(error_for(member));
        }
        if (out.empty()) return std::nullopt;
        return out.dump();
    }
    if (parsed->is_object() && !parsed->contains("id")) return std::nullopt;
    return error_for(*parsed).dump();
}

// Runs one request body and hands the serialized response (nothing for
// notifications) to `deliver` on `executor`, the connection's strand. A single
// signing call is answered without leaving the I/O thread when the key
// service can (RpcDispatcher::handle_without_blocking: the TEE command runs
// here when the TEE is idle, else the running batch completes it); anything
// else runs on a worker, because it may block.
template <class Deliver>
void run_request(State& state, const net::any_io_executor& executor, std::string body,
                 ClientContext client, Deliver deliver) {
    // dispatch, not post: when the TEE was idle the answer is ready while this
    // connection's handler still runs on this thread, and goes out at once
    // (a post would wake the other I/O thread to write it).
    auto to_connection = [&state, executor, deliver](std::optional<std::string> out) {
        net::dispatch(executor, [&state, deliver, out = std::move(out),
                                 ready = std::chrono::steady_clock::now()]() mutable {
            state.reply_wait.add(seconds_since(ready));
            deliver(std::move(out));
        });
    };
    try {
        if (state.dispatcher.handle_without_blocking(body, client, to_connection)) return;
    } catch (const std::exception& e) {
        // Nothing was answered: the envelope is checked before any call starts.
        spdlog::error("dispatcher failed: {}", e.what());
    }
    net::post(*state.workers, [&state, body = std::move(body), client = std::move(client),
                               to_connection, posted = std::chrono::steady_clock::now()]() {
        state.worker_wait.add(seconds_since(posted));
        std::optional<std::string> out;
        try {
            out = state.dispatcher.handle(body, client);
        } catch (const std::exception& e) {
            spdlog::error("dispatcher failed: {}", e.what());
            out = error_body(rpc_error::kInternalError, "internal error").dump();
        }
        to_connection(std::move(out));
    });
}

bool origin_allowed(const State& state, const http::request_header<>& req) {
    auto origin = req.find(http::field::origin);
    if (origin == req.end()) return true;  // not a browser, or same-origin navigation
    for (const auto& allowed : state.options.allowed_origins) {
        if (allowed == "*" || allowed == origin->value()) return true;
    }
    return false;
}

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;
template <class Stream>
constexpr bool kIsUnix = std::is_same_v<Stream, UnixStream>;

template <class Stream>
std::string transport_prefix() {
    if constexpr (kIsUnix<Stream>) return "unix+";
    return "";
}

// ---- WebSocket session -----------------------------------------------------------

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
  public:
    WsSession(Stream&& stream, std::shared_ptr<State> state, ConnInfo info, ConnectionSlot slot,
              IdentitySlot identity_slot, ClientContext client)
        : ws_(std::move(stream)),
          state_(std::move(state)),
          info_(std::move(info)),
          slot_(std::move(slot)),
          identity_slot_(std::move(identity_slot)),
          client_(std::move(client)) {
        executor_ = ws_.get_executor();
    }

    void run(http::request<http::string_body> req) {
        const auto& limits = state_->options.limits;
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = limits.handshake_timeout;
        timeouts.idle_timeout = limits.idle_timeout;
        timeouts.keep_alive_pings = true;  // half-open peers fail the ping and are dropped
        ws_.set_option(timeouts);
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, kServerName); }));
        ws_.read_message_max(limits.max_ws_message_bytes);
        ws_.auto_fragment(false);
        ws_.async_accept(
            req, beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
    }

  private:
    void on_accept(beast::error_code ec) {
        if (ec) {
            spdlog::debug("websocket handshake with {} failed: {}", info_.peer, ec.message());
            return;
        }
        do_read();
    }

    void do_read() {
        reading_ = true;
        ws_.async_read(read_buffer_,
                       beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        reading_ = false;
        if (ec) {
            if (ec == websocket::error::message_too_big) {
                state_->metrics.inc(Metrics::kConnectionsRejected,
                                    {{"reason", "ws_message_too_big"}});
                spdlog::warn("closing websocket from {}: message over {} bytes", info_.peer,
                             state_->options.limits.max_ws_message_bytes);
            } else if (ec == beast::error::timeout) {
                state_->metrics.inc(Metrics::kConnectionsRejected, {{"reason", "idle_timeout"}});
            }
            closed_ = true;
            return;
        }
        std::string text = beast::buffers_to_string(read_buffer_.data());
        read_buffer_.consume(read_buffer_.size());
        ++inflight_;
        // Over the rate limit: answer each request in the message with the
        // error instead of dispatching it (the connection stays open).
        std::optional<std::string> limited;
        unsigned retry_after_s = 0;
        if (rate_limited(*state_, client_.identity) &&
            !state_->rate.allow(rate_key(client_.identity, info_), retry_after_s)) {
            count_rate_limited(*state_, client_.identity);
            spdlog::warn("rate limited {} ({} over {})", client_.identity, info_.peer,
                         client_.transport);
            limited = rate_limited_message(*state_, client_.identity, retry_after_s);
        }
        auto deliver = [self = this->shared_from_this()](std::optional<std::string> out) {
            self->on_result(std::move(out));
        };
        if (limited) {
            net::post(*state_->workers, [state = state_, executor = executor_, deliver,
                                         text = std::move(text), limited = std::move(limited)]() {
                std::optional<std::string> out =
                    rate_limited_answer(text, state->dispatcher.limits().max_depth, *limited);
                net::post(executor,
                          [deliver, out = std::move(out)]() mutable { deliver(std::move(out)); });
            });
        } else {
            run_request(*state_, executor_, std::move(text), client_, std::move(deliver));
        }
        if (inflight_ < state_->options.limits.max_inflight_per_connection) do_read();
    }

    void on_result(std::optional<std::string> out) {
        if (closed_) return;
        if (!out) {  // notification(s) only
            --inflight_;
            maybe_resume_read();
            return;
        }
        queue_.push_back(std::move(*out));
        if (queue_.size() == 1) do_write();
    }

    void do_write() {
        ws_.text(true);
        ws_.async_write(net::buffer(queue_.front()),
                        beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) {
            closed_ = true;
            return;
        }
        queue_.pop_front();
        --inflight_;
        maybe_resume_read();
        if (!queue_.empty()) do_write();
    }

    void maybe_resume_read() {
        if (!reading_ && !closed_ && inflight_ < state_->options.limits.max_inflight_per_connection)
            do_read();
    }

    websocket::stream<Stream> ws_;
    std::shared_ptr<State> state_;
    ConnInfo info_;
    ConnectionSlot slot_;
    IdentitySlot identity_slot_;
    ClientContext client_;
    net::any_io_executor executor_;
    beast::flat_buffer read_buffer_;
    std::deque<std::string> queue_;
    size_t inflight_ = 0;
    bool reading_ = false;
    bool closed_ = false;
};

// ---- HTTP session (also the entry point of every connection) ----------------------

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
  public:
    HttpSession(Stream&& stream, std::shared_ptr<State> state, ConnInfo info, ConnectionSlot slot)
        : stream_(std::move(stream)),
          state_(std::move(state)),
          info_(std::move(info)),
          slot_(std::move(slot)) {
        executor_ = stream_.get_executor();
    }

    // Start on the connection's own strand.
    void start() {
        net::dispatch(executor_,
                      beast::bind_front_handler(&HttpSession::begin, this->shared_from_this()));
    }

  private:
    void begin() {
        if constexpr (kIsTls<Stream>) {
            lowest().expires_after(limits().handshake_timeout);
            stream_.async_handshake(
                ssl::stream_base::server,
                beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
        } else {
            wait_for_request(true);
        }
    }

    const ServerLimits& limits() const { return state_->options.limits; }
    auto& lowest() { return beast::get_lowest_layer(stream_); }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            const char* reason =
                ec == beast::error::timeout ? "tls_handshake_timeout" : "tls_handshake_failed";
            state_->metrics.inc(Metrics::kConnectionsRejected, {{"reason", reason}});
            spdlog::info("TLS handshake with {} failed: {}", info_.peer, ec.message());
            return;
        }
        if constexpr (kIsTls<Stream>)
            info_.cert_identity = cert_common_name(stream_.native_handle());
        wait_for_request(true);
    }

    // Wait for the first byte of the next request: a new connection gets the
    // header timeout, a kept-alive one the idle timeout. The header itself must
    // then arrive within the header timeout (slow-loris protection).
    void wait_for_request(bool first) {
        if (buffer_.size() > 0) return read_header();
        lowest().expires_after(first ? limits().header_timeout : limits().idle_timeout);
        first_request_ = first;
        stream_.async_read_some(
            buffer_.prepare(4096),
            beast::bind_front_handler(&HttpSession::on_first_bytes, this->shared_from_this()));
    }

    void on_first_bytes(beast::error_code ec, std::size_t n) {
        if (ec) {
            if (ec == beast::error::timeout)
                state_->metrics.inc(
                    Metrics::kConnectionsRejected,
                    {{"reason", first_request_ ? "header_timeout" : "idle_timeout"}});
            return;  // closed, reset or timed out: drop the connection
        }
        buffer_.commit(n);
        read_header();
    }

    void read_header() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits().max_header_bytes));
        parser_->body_limit(limits().max_body_bytes);
        lowest().expires_after(limits().header_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&HttpSession::on_header, this->shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (ec == beast::error::timeout) {
            state_->metrics.inc(Metrics::kConnectionsRejected, {{"reason", "header_timeout"}});
            spdlog::debug("closing {}: request header not received in time", info_.peer);
            return;
        }
        // A declared Content-Length over the limit fails the header read.
        if (ec == http::error::body_limit) return body_too_large();
        if (ec == http::error::header_limit)
            return respond_error(http::status::request_header_fields_too_large,
                                 rpc_error::kRequestTooLarge, "request header too large");
        if (ec == http::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated)
            return;
        if (ec)
            return respond_error(http::status::bad_request, rpc_error::kInvalidRequest,
                                 "malformed HTTP request");

        const auto& req = parser_->get();
        version_ = req.version();
        request_keep_alive_ = req.keep_alive();
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));

        if (websocket::is_upgrade(req)) return upgrade();

        if (req.method() == http::verb::get && (path == "/health" || path == "/metrics")) {
            if (path == "/metrics" && state_->options.metrics_require_auth) {
                auto auth = authenticate(*state_, info_, req);
                if (!auth.ok) return refuse_auth(auth.reason);
            }
            return read_body();
        }
        if (req.method() != http::verb::post) {
            if (req.method() == http::verb::get)
                return respond_error(http::status::not_found, rpc_error::kInvalidRequest,
                                     "not found: POST JSON-RPC to /, or GET /health, /metrics");
            return respond_error(http::status::method_not_allowed, rpc_error::kInvalidRequest,
                                 "method not allowed: use POST");
        }
        if (!origin_allowed(*state_, req))
            return respond_error(http::status::forbidden, rpc_error::kUnauthorized,
                                 "cross-origin requests are not allowed");
        auto auth = authenticate(*state_, info_, req);
        if (!auth.ok) return refuse_auth(auth.reason);
        if (!claim_identity(auth.identity)) return;
        identity_ = auth.identity;
        if (auto len = parser_->content_length(); len && *len > limits().max_body_bytes)
            return body_too_large();
        auto ct = req.find(http::field::content_type);
        if (ct == req.end() || !iequals_prefix(ct->value(), "application/json"))
            return respond_error(http::status::unsupported_media_type, rpc_error::kInvalidRequest,
                                 "Content-Type must be application/json");
        auto expect = req.find(http::field::expect);
        if (expect != req.end() && iequals_prefix(expect->value(), "100-continue")) {
            continue_ = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                           version_);
            lowest().expires_after(limits().write_timeout);
            return http::async_write(
                stream_, *continue_,
                [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                    if (!e) self->read_body();
                });
        }
        read_body();
    }

    void read_body() {
        lowest().expires_after(limits().body_timeout);
        http::async_read(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&HttpSession::on_body, this->shared_from_this()));
    }

    void on_body(beast::error_code ec, std::size_t) {
        if (ec == http::error::body_limit) return body_too_large();
        if (ec == beast::error::timeout) {
            state_->metrics.inc(Metrics::kConnectionsRejected, {{"reason", "body_timeout"}});
            return;
        }
        if (ec == http::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::connection_reset)
            return;
        if (ec)
            return respond_error(http::status::bad_request, rpc_error::kInvalidRequest,
                                 "malformed HTTP request body");
        auto& req = parser_->get();
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        if (req.method() == http::verb::get) {
            if (path == "/health") return serve_health();
            return respond(http::status::ok, state_->metrics.render(),
                           "text/plain; version=0.0.4; charset=utf-8", true);
        }
        dispatch(std::move(req.body()));
    }

    void dispatch(std::string body) {
        unsigned retry_after_s = 0;
        if (rate_limited(*state_, identity_) &&
            !state_->rate.allow(rate_key(identity_, info_), retry_after_s)) {
            count_rate_limited(*state_, identity_);
            spdlog::warn("rate limited {} ({})", identity_, info_.peer);
            // The request was read completely: the connection stays usable.
            auto res =
                make_response(http::status::too_many_requests,
                              error_body(kRateLimitedCode,
                                         rate_limited_message(*state_, identity_, retry_after_s))
                                  .dump(),
                              "application/json; charset=utf-8", true);
            res->set(http::field::retry_after, std::to_string(retry_after_s));
            return send(std::move(res));
        }
        ClientContext client;
        client.identity = identity_;
        client.transport = transport_prefix<Stream>() + (kIsTls<Stream> ? "https" : "http");
        client.peer = info_.peer;
        run_request(*state_, executor_, std::move(body), std::move(client),
                    [self = this->shared_from_this()](std::optional<std::string> out) {
                        self->respond(http::status::ok, out.value_or(std::string()),
                                      "application/json; charset=utf-8", true);
                    });
    }

    // The health check asks the TEE, which may be busy: run it on a worker.
    void serve_health() {
        net::post(*state_->workers, [self = this->shared_from_this()]() {
            HealthReport report;
            try {
                if (self->state_->health) report = self->state_->health();
            } catch (const std::exception& e) {
                report.ok = false;
                report.body = {{"status", "error"}, {"error", e.what()}};
            }
            if (!report.body.contains("status"))
                report.body["status"] = report.ok ? "ok" : "unhealthy";
            net::post(self->executor_, [self, report = std::move(report)]() {
                self->respond(report.ok ? http::status::ok : http::status::service_unavailable,
                              report.body.dump(), "application/json; charset=utf-8", true);
            });
        });
    }

    void upgrade() {
        const auto& req = parser_->get();
        if (!parser_->is_done() || req.method() != http::verb::get)
            return respond_error(http::status::bad_request, rpc_error::kInvalidRequest,
                                 "malformed WebSocket upgrade request");
        if (!origin_allowed(*state_, req))
            return respond_error(http::status::forbidden, rpc_error::kUnauthorized,
                                 "cross-origin WebSocket connections are not allowed");
        auto auth = authenticate(*state_, info_, req);
        if (!auth.ok) return refuse_auth(auth.reason);
        if (!claim_identity(auth.identity)) return;
        ClientContext client;
        client.identity = auth.identity;
        client.transport = transport_prefix<Stream>() + (kIsTls<Stream> ? "wss" : "ws");
        client.peer = info_.peer;
        std::make_shared<WsSession<Stream>>(std::move(stream_), state_, info_, std::move(slot_),
                                            std::move(identity_slot_), std::move(client))
            ->run(parser_->release());
    }

    // Count this connection under its identity's connection limit, once per
    // connection (again if a later request on it uses another identity).
    // "local" clients are limited per address when they connect.
    bool claim_identity(const std::string& identity) {
        if (identity == "local" || identity_slot_.identity() == identity) return true;
        identity_slot_ = IdentitySlot();
        if (!state_->limiter.acquire_identity(identity)) {
            state_->metrics.inc(Metrics::kConnectionsRejected,
                                {{"reason", "max_connections_per_identity"}});
            spdlog::warn("refused connection from {} as {}: over {} connections for this identity",
                         info_.peer, identity, state_->limiter.max_per_identity());
            respond_error(http::status::too_many_requests, kRateLimitedCode,
                          "too many connections: identity \"" + identity + "\" already has " +
                              std::to_string(state_->limiter.max_per_identity()) +
                              " open connections");
            return false;
        }
        identity_slot_ = IdentitySlot(state_, identity);
        return true;
    }

    void refuse_auth(const std::string& reason) {
        state_->metrics.inc(Metrics::kAuthFailures, {{"reason", reason}});
        spdlog::warn("refused request from {}: {}", info_.peer, reason);
        auto res = make_response(http::status::unauthorized,
                                 error_body(rpc_error::kUnauthorized, auth_message(reason)).dump(),
                                 "application/json; charset=utf-8", false);
        res->set(http::field::www_authenticate, "Bearer");
        send(std::move(res));
    }

    void body_too_large() {
        state_->metrics.inc(Metrics::kConnectionsRejected, {{"reason", "body_too_large"}});
        respond_error(http::status::payload_too_large, rpc_error::kRequestTooLarge,
                      "request body exceeds " + std::to_string(limits().max_body_bytes) + " bytes");
    }

    // An error answer always closes the connection: the rest of the request
    // may still be in flight and cannot be trusted.
    void respond_error(http::status status, int code, const std::string& message) {
        respond(status, error_body(code, message).dump(), "application/json; charset=utf-8", false);
    }

    std::shared_ptr<http::response<http::string_body>> make_response(http::status status,
                                                                     std::string body,
                                                                     const char* content_type,
                                                                     bool keep_alive) {
        auto res =
            std::make_shared<http::response<http::string_body>>(status, version_ ? version_ : 11);
        res->set(http::field::server, kServerName);
        res->set(http::field::content_type, content_type);
        res->set(http::field::cache_control, "no-store");
        res->keep_alive(keep_alive && request_keep_alive_);
        res->body() = std::move(body);
        res->prepare_payload();
        return res;
    }

    void respond(http::status status, std::string body, const char* content_type, bool keep_alive) {
        send(make_response(status, std::move(body), content_type, keep_alive));
    }

    void send(std::shared_ptr<http::response<http::string_body>> res) {
        state_->metrics.inc(Metrics::kHttpResponses,
                            {{"code", std::to_string(static_cast<unsigned>(res->result_int()))}});
        response_ = std::move(res);
        lowest().expires_after(limits().write_timeout);
        http::async_write(
            stream_, *response_,
            beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(),
                                      !response_->keep_alive()));
    }

    void on_write(bool close, beast::error_code ec, std::size_t) {
        response_.reset();
        if (ec) return;
        if (close) return do_close();
        wait_for_request(false);
    }

    void do_close() {
        if constexpr (kIsTls<Stream>) {
            lowest().expires_after(std::chrono::seconds(2));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        } else {
            // Lingering close: send FIN, then drain what the client still sends
            // for a short while. Closing with unread input would make the kernel
            // answer with RST, which can destroy our error response in flight.
            beast::error_code ec;
            lowest().socket().shutdown(net::socket_base::shutdown_send, ec);
            if (ec) return;
            lowest().expires_after(std::chrono::seconds(2));
            drain(0);
        }
    }

    void drain(size_t drained) {
        if (drained > kMaxDrain) return;
        buffer_.consume(buffer_.size());
        lowest().async_read_some(buffer_.prepare(16384), [self = this->shared_from_this(), drained](
                                                             beast::error_code ec, std::size_t n) {
            if (!ec) self->drain(drained + n);
        });
    }
    static constexpr size_t kMaxDrain = 1 << 20;

    Stream stream_;
    std::shared_ptr<State> state_;
    ConnInfo info_;
    ConnectionSlot slot_;
    IdentitySlot identity_slot_;
    net::any_io_executor executor_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<http::response<http::string_body>> response_;
    std::shared_ptr<http::response<http::empty_body>> continue_;
    std::string identity_;
    unsigned version_ = 11;
    bool request_keep_alive_ = true;
    bool first_request_ = true;
};

std::unique_ptr<ssl::context> make_tls_context(const ServerOptions& o, bool tokens_configured) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    try {
        ctx->use_certificate_chain_file(o.tls_cert);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load TLS certificate " + o.tls_cert + ": " + e.what());
    }
    try {
        ctx->use_private_key_file(o.tls_key, ssl::context::pem);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot load TLS private key " + o.tls_key + ": " + e.what());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        throw std::runtime_error("TLS private key " + o.tls_key + " does not match certificate " +
                                 o.tls_cert);
    if (!o.tls_ca.empty()) {
        try {
            ctx->load_verify_file(o.tls_ca);
        } catch (const std::exception& e) {
            throw std::runtime_error("cannot load TLS client CA " + o.tls_ca + ": " + e.what());
        }
        // With tokens as an alternative, a client certificate is optional;
        // without, it is mandatory.
        auto mode = ssl::verify_peer;
        if (!tokens_configured) mode |= ssl::verify_fail_if_no_peer_cert;
        ctx->set_verify_mode(mode);
        // Tell clients which CA we accept.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_ca.c_str());
        if (names != nullptr) SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    } else {
        ctx->set_verify_mode(ssl::verify_none);
    }
    return ctx;
}

}  // namespace

// ---- Free functions -------------------------------------------------------------

bool is_loopback_address(const std::string& addr) {
    if (addr == "localhost") return true;
    beast::error_code ec;
    auto a = net::ip::make_address(addr, ec);
    return !ec && address_is_loopback(a);
}

void validate_server_security(const ServerOptions& o, const TokenStore& tokens) {
    if (!o.tcp_enabled && o.unix_socket.empty())
        throw std::runtime_error(
            "no listener configured: enable the TCP port or set a Unix socket");
    if (o.tls_cert.empty() != o.tls_key.empty())
        throw std::runtime_error("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
    if (!o.tls_ca.empty() && o.tls_cert.empty())
        throw std::runtime_error(
            "a client CA (--tls-ca) needs TLS: set --tls-cert and --tls-key as well");
    const bool tls = !o.tls_cert.empty();
    const bool mtls = tls && !o.tls_ca.empty();
    if (o.tcp_enabled) {
        beast::error_code ec;
        if (o.rpc_addr != "localhost") {
            net::ip::make_address(o.rpc_addr, ec);
            if (ec)
                throw std::runtime_error("rpc address \"" + o.rpc_addr +
                                         "\" is not an IP address (use e.g. 127.0.0.1, ::1, "
                                         "0.0.0.0 or a specific interface address)");
        }
        if (!is_loopback_address(o.rpc_addr) && !((tls && !tokens.empty()) || mtls))
            throw std::runtime_error(
                "refusing to listen on " + o.rpc_addr + ":" + std::to_string(o.rpc_port) +
                " without authentication: a non-loopback RPC listener requires TLS "
                "(--tls-cert, --tls-key) together with bearer tokens (--tokens-file), or mutual "
                "TLS (--tls-ca). For local use only, listen on 127.0.0.1.");
    }
    if (o.require_auth_local && tokens.empty() && !mtls)
        throw std::runtime_error(
            "--require-auth-local is set but no credentials are configured: add --tokens-file "
            "(or --tls-ca for TCP clients)");
    if (o.require_auth_local && !o.unix_socket.empty() && tokens.empty())
        throw std::runtime_error(
            "--require-auth-local with a Unix socket needs bearer tokens (--tokens-file): the "
            "Unix socket has no TLS");
    if (o.limits.max_body_bytes == 0 || o.limits.max_ws_message_bytes == 0 ||
        o.limits.max_connections == 0 || o.limits.max_connections_per_ip == 0 ||
        o.limits.max_connections_per_identity == 0)
        throw std::runtime_error("limits must be positive");
    if (o.limits.rate_limit_per_second > 0 && o.limits.rate_limit_burst == 0)
        throw std::runtime_error(
            "limits.rate_limit_burst must be at least 1 when rate_limit_per_second is set");
    if (o.io_threads < 1 || o.io_threads > 64 || o.rpc_workers < 1 || o.rpc_workers > 256)
        throw std::runtime_error("io_threads must be 1..64 and rpc_workers 1..256");
}

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

// ---- Server ---------------------------------------------------------------------

struct Server::Impl {
    std::shared_ptr<State> state;
    std::unique_ptr<net::io_context> ioc;
    std::unique_ptr<net::thread_pool> workers;
    std::unique_ptr<tcp::acceptor> tcp_acceptor;
    std::unique_ptr<local::acceptor> unix_acceptor;
    std::unique_ptr<net::steady_timer> backoff;
    std::vector<std::thread> threads;
    uint16_t port = 0;
    bool started = false;
    bool stopped = false;

    void accept_tcp() {
        tcp_acceptor->async_accept(net::make_strand(*ioc),
                                   [this](beast::error_code ec, tcp::socket socket) {
                                       if (ec == net::error::operation_aborted) return;
                                       if (ec) return accept_failed(ec, [this] { accept_tcp(); });
                                       on_tcp(std::move(socket));
                                       accept_tcp();
                                   });
    }

    void accept_unix() {
        unix_acceptor->async_accept(net::make_strand(*ioc),
                                    [this](beast::error_code ec, local::socket socket) {
                                        if (ec == net::error::operation_aborted) return;
                                        if (ec) return accept_failed(ec, [this] { accept_unix(); });
                                        on_unix(std::move(socket));
                                        accept_unix();
                                    });
    }

    // Out of descriptors or similar: pause accepting briefly instead of spinning.
    template <class Retry>
    void accept_failed(beast::error_code ec, Retry retry) {
        spdlog::warn("accept failed: {}", ec.message());
        auto timer = std::make_shared<net::steady_timer>(*ioc, std::chrono::milliseconds(100));
        timer->async_wait([timer, retry](beast::error_code e) {
            if (!e) retry();
        });
    }

    void on_tcp(tcp::socket socket) {
        beast::error_code ec;
        auto endpoint = socket.remote_endpoint(ec);
        if (ec) return;
        ConnInfo info;
        const std::string ip = normalized_ip(endpoint.address());
        info.client = ip;
        info.peer = ip + ":" + std::to_string(endpoint.port());
        info.local = address_is_loopback(endpoint.address());
        info.tls = state->tls != nullptr;
        const char* transport = info.tls ? "tls" : "tcp";
        if (auto refused = state->limiter.acquire(ip); !refused.empty()) {
            state->metrics.inc(Metrics::kConnectionsRejected, {{"reason", refused}});
            spdlog::warn("refused connection from {}: {}", info.peer, refused);
            socket.close(ec);
            return;
        }
        ConnectionSlot slot(state, ip, transport);
        if (info.tls) {
            std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(socket), *state->tls),
                                                     state, std::move(info), std::move(slot))
                ->start();
        } else {
            std::make_shared<HttpSession<TcpStream>>(TcpStream(std::move(socket)), state,
                                                     std::move(info), std::move(slot))
                ->start();
        }
    }

    void on_unix(local::socket socket) {
        ConnInfo info;
        info.client = "unix";
        info.peer = "unix";
        info.local = true;
        info.unix_socket = true;
        beast::error_code ec;
        // The Unix socket's clients count as one client address.
        if (auto refused = state->limiter.acquire(info.client); !refused.empty()) {
            state->metrics.inc(Metrics::kConnectionsRejected, {{"reason", refused}});
            spdlog::warn("refused connection on the unix socket: {}", refused);
            socket.close(ec);
            return;
        }
        ConnectionSlot slot(state, info.client, "unix");
        std::make_shared<HttpSession<UnixStream>>(UnixStream(std::move(socket)), state,
                                                  std::move(info), std::move(slot))
            ->start();
    }

    void bind_tcp() {
        const auto& o = state->options;
        const auto address = net::ip::make_address(
            o.rpc_addr == "localhost" ? std::string("127.0.0.1") : o.rpc_addr);
        tcp::endpoint endpoint(address, o.rpc_port);
        tcp_acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*ioc));
        beast::error_code ec;
        tcp_acceptor->open(endpoint.protocol(), ec);
        if (!ec) tcp_acceptor->set_option(net::socket_base::reuse_address(true), ec);
        if (!ec && address.is_v6()) tcp_acceptor->set_option(net::ip::v6_only(false), ec);
        if (!ec) tcp_acceptor->bind(endpoint, ec);
        if (!ec) tcp_acceptor->listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("cannot listen on " + o.rpc_addr + ":" +
                                     std::to_string(o.rpc_port) + ": " + ec.message());
        port = tcp_acceptor->local_endpoint().port();
    }

    void bind_unix() {
        const std::string& path = state->options.unix_socket;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                throw std::runtime_error("unix socket path " + path +
                                         " exists and is not a socket; refusing to remove it");
            if (::unlink(path.c_str()) != 0)
                throw std::runtime_error("cannot remove stale unix socket " + path + ": " +
                                         std::strerror(errno));
        }
        unix_acceptor = std::make_unique<local::acceptor>(net::make_strand(*ioc));
        beast::error_code ec;
        unix_acceptor->open(local(), ec);
        // Created 0600 from the start: the umask applies at bind time. start()
        // runs before any server thread exists.
        const mode_t old_mask = ::umask(0177);
        if (!ec) unix_acceptor->bind(local::endpoint(path), ec);
        ::umask(old_mask);
        if (!ec && ::chmod(path.c_str(), 0600) != 0)
            ec = beast::error_code(errno, beast::system_category());
        if (!ec) unix_acceptor->listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("cannot listen on unix socket " + path + ": " + ec.message());
    }
};

Server::Server(ServerOptions options, RpcDispatcher& dispatcher, Metrics& metrics,
               TokenStore tokens, HealthProvider health)
    : impl_(std::make_unique<Impl>()) {
    impl_->state = std::make_shared<State>(std::move(options), dispatcher, metrics,
                                           std::move(tokens), std::move(health));
}

Server::~Server() {
    stop();
}

void Server::start() {
    Impl& s = *impl_;
    if (s.started) throw std::runtime_error("server already started");
    const auto& o = s.state->options;
    validate_server_security(o, s.state->tokens);
    if (!o.tls_cert.empty()) s.state->tls = make_tls_context(o, !s.state->tokens.empty());
    s.ioc = std::make_unique<net::io_context>(o.io_threads);
    s.workers = std::make_unique<net::thread_pool>(static_cast<size_t>(o.rpc_workers));
    s.state->workers = s.workers.get();
    if (o.tcp_enabled) s.bind_tcp();
    if (!o.unix_socket.empty()) s.bind_unix();
    s.started = true;
    if (s.tcp_acceptor) s.accept_tcp();
    if (s.unix_acceptor) s.accept_unix();
    for (int i = 0; i < o.io_threads; ++i) s.threads.emplace_back([&s] { s.ioc->run(); });
    s.state->metrics.declare(kRateLimitedMetric, Metrics::Type::counter,
                             "JSON-RPC requests refused by the per-client rate limit");
    s.state->metrics.set(Metrics::kUp, {}, 1);
    if (o.tcp_enabled)
        spdlog::info("listening on {}:{} (HTTP and WebSocket{})", o.rpc_addr, s.port,
                     s.state->tls ? " over TLS" : "");
    if (!o.unix_socket.empty()) spdlog::info("listening on unix socket {}", o.unix_socket);
}

void Server::stop() {
    Impl& s = *impl_;
    if (!s.started || s.stopped) return;
    s.stopped = true;
    s.ioc->stop();
    for (auto& t : s.threads) t.join();
    s.threads.clear();
    s.workers->stop();
    s.workers->join();
    // Queued jobs hold sessions whose sockets belong to the io_context: free
    // them first. Destroying the acceptors and the io_context then closes
    // every remaining socket and frees every session.
    s.workers.reset();
    s.tcp_acceptor.reset();
    s.unix_acceptor.reset();
    s.ioc.reset();
    if (!s.state->options.unix_socket.empty()) ::unlink(s.state->options.unix_socket.c_str());
    s.state->metrics.set(Metrics::kUp, {}, 0);
    spdlog::info("server stopped");
}

uint16_t Server::tcp_port() const {
    return impl_->port;
}
bool Server::tls_enabled() const {
    return impl_->state->tls != nullptr;
}

}  // namespace teesigner::signerd
