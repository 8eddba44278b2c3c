// What the server's listeners and its HTTP and WebSocket sessions share: the
// server's state (options, dispatcher, metrics, limiters, TLS context, worker
// pool), a connection's place under the connection limits, what is known of a
// connection before its first request, and the steps every request goes
// through (authentication, rate limiting, Origin check, dispatch).
// Internal to the server (server.cpp, http_session.cpp, websocket_session.cpp).
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "limiters.hpp"
#include "server.hpp"

namespace teesigner::signerd::server_detail {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using local = boost::asio::local::stream_protocol;

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using UnixStream = beast::basic_stream<local>;

inline constexpr const char* kServerName = "tee-signer";
inline constexpr const char* kRateLimitedMetric = "teesigner_rate_limited_total";

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

bool iequals_prefix(std::string_view value, std::string_view prefix);
bool address_is_loopback(const net::ip::address& a);
std::string normalized_ip(const net::ip::address& a);
json error_body(int code, const std::string& message);

// Outcome of authenticating one HTTP request (or WebSocket upgrade).
struct AuthOutcome {
    bool ok = false;
    std::string identity;
    std::string reason;  // for the metric label and the 401 message
};

AuthOutcome authenticate(const State& state, const ConnInfo& conn,
                         const http::request_header<>& req);
std::string auth_message(const std::string& reason);

bool rate_limited(const State& state, const std::string& identity);
// The rate limiter's client: a named identity wherever it connects from;
// unauthenticated local clients by address (or the Unix socket).
std::string rate_key(const std::string& identity, const ConnInfo& conn);
std::string rate_limited_message(const State& state, const std::string& identity,
                                 unsigned retry_after_s);
void count_rate_limited(State& state, const std::string& identity);
// The answer to a rate-limited WebSocket message: the error for each request
// id in it (the client matches answers by id), nothing for notifications.
std::optional<std::string> rate_limited_answer(const std::string& text, int max_depth,
                                               const std::string& message);

bool origin_allowed(const State& state, const http::request_header<>& req);

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

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;
template <class Stream>
constexpr bool kIsUnix = std::is_same_v<Stream, UnixStream>;

template <class Stream>
std::string transport_prefix() {
    if constexpr (kIsUnix<Stream>) return "unix+";
    return "";
}

}  // namespace teesigner::signerd::server_detail
