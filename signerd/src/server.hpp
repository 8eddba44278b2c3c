// The signerd network front end: JSON-RPC 2.0 over HTTP POST and WebSocket on
// one TCP port (as a polkadot node serves its RPC), optionally with TLS and
// mutual TLS, the same over a Unix domain socket, plus GET /health and
// GET /metrics. Built on Boost.Asio/Beast; request handling runs on a small
// worker pool so that a slow TEE call never stalls the network threads.
//
// Hardening: header/body size limits (431/413), header read timeout and idle
// timeout (slow-loris and half-open connections are closed), WebSocket
// message limit, connection limits (total, per client IP and per identity),
// a request rate limit per client (token bucket; 429 / -32006), browser
// Origin checks (no cross-site requests unless allowed), and authentication:
// mutual TLS (identity = certificate subject CN) or bearer tokens (identity =
// token name). Loopback clients and the Unix socket need no authentication
// unless `require_auth_local` is set; they are then "local".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth.hpp"
#include "jsonrpc.hpp"
#include "metrics.hpp"

namespace teesigner::signerd {

/// The default TCP port: next to the node's 9944, distinct from it.
inline constexpr uint16_t kDefaultRpcPort = 9955;

struct ServerLimits {
    size_t max_body_bytes = 1 << 20;        // HTTP request body (413 above)
    size_t max_header_bytes = 16 << 10;     // HTTP request header block (431 above)
    size_t max_ws_message_bytes = 1 << 20;  // WebSocket message (connection closed, 1009)
    std::chrono::milliseconds header_timeout{10'000};     // whole request header
    std::chrono::milliseconds body_timeout{30'000};       // whole request body
    std::chrono::milliseconds idle_timeout{120'000};      // keep-alive / WebSocket idle
    std::chrono::milliseconds handshake_timeout{10'000};  // TLS and WebSocket handshakes
    std::chrono::milliseconds write_timeout{30'000};      // writing one response
    size_t max_connections = 256;
    size_t max_connections_per_ip = 32;  // per remote IP, loopback included; the Unix socket
                                         // counts as one client
    // Per authenticated identity (token name, certificate CN) across all its
    // connections and addresses; "local" is limited per IP instead.
    size_t max_connections_per_identity = 32;
    size_t max_inflight_per_connection = 32;  // WebSocket requests being processed
    // Token bucket per client (identity; "local" per IP or Unix socket): a
    // JSON-RPC request (one POST or WebSocket message, a batch counts once)
    // takes a token; tokens refill at rate_limit_per_second up to
    // rate_limit_burst. 0 = no rate limit.
    size_t rate_limit_per_second = 2000;
    size_t rate_limit_burst = 10000;
    // Whether unauthenticated local clients (identity "local": the node and
    // tools on this host) are rate limited too; by default only clients with
    // credentials are.
    bool rate_limit_local = false;
};

/// JSON-RPC error code of a request refused by the per-client rate or
/// connection limits (HTTP 429 over HTTP). -32005 is taken ("not supported").
inline constexpr int kRateLimitedCode = -32006;

struct ServerOptions {
    bool tcp_enabled = true;
    std::string rpc_addr = "127.0.0.1";        // IP literal or "localhost"
    uint16_t rpc_port = kDefaultRpcPort;       // 0 = ephemeral (tests)
    std::string unix_socket;                   // empty = none
    std::string tls_cert;                      // PEM chain; enables TLS on the TCP port
    std::string tls_key;                       // PEM private key
    std::string tls_ca;                        // PEM CA bundle; enables client certificates
    bool require_auth_local = false;           // loopback and Unix socket need auth too
    bool metrics_require_auth = false;         // /metrics needs the same auth as RPC
    std::vector<std::string> allowed_origins;  // browser Origins accepted ("*" = any)
    // Signing calls the key service can take without blocking run on the I/O
    // threads (RpcDispatcher::handle_without_blocking); everything else,
    // including protected calls with a host database, on the workers.
    int io_threads = 2;
    int rpc_workers = 4;
    ServerLimits limits;
};

/// Health as served on GET /health: ok=false answers 503.
struct HealthReport {
    bool ok = true;
    nlohmann::json body = nlohmann::json::object();
};
using HealthProvider = std::function<HealthReport()>;

/// Check that the listener configuration is safe; throws ConfigError (errors.hpp)
/// with an operator-facing message if not (e.g. a non-loopback listener
/// without TLS plus tokens or mutual TLS).
void validate_server_security(const ServerOptions& options, const TokenStore& tokens);

/// Whether `addr` (IP literal or "localhost") is a loopback address.
bool is_loopback_address(const std::string& addr);

class Server {
  public:
    /// `dispatcher` and `metrics` must outlive the server.
    Server(ServerOptions options, RpcDispatcher& dispatcher, Metrics& metrics, TokenStore tokens,
           HealthProvider health = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Validate, bind the listeners and start the threads. Throws ConfigError
    /// (errors.hpp) for an unsafe or unusable configuration (TLS files
    /// included), StartupError when a listener cannot be bound, with a clear
    /// message. Call once (std::logic_error otherwise).
    void start();
    /// Stop accepting, close connections, join threads, remove the Unix
    /// socket. Idempotent; must not be called from a server thread.
    void stop();

    /// The bound TCP port (after start), 0 when TCP is disabled.
    uint16_t tcp_port() const;
    bool tls_enabled() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace teesigner::signerd
