#include "server.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "errors.hpp"
#include "http_session.hpp"
#include "server_state.hpp"
#include "tls.hpp"

namespace teesigner::signerd {

using namespace server_detail;

bool is_loopback_address(const std::string& addr) {
    if (addr == "localhost") return true;
    beast::error_code ec;
    auto a = net::ip::make_address(addr, ec);
    return !ec && address_is_loopback(a);
}

void validate_server_security(const ServerOptions& o, const TokenStore& tokens) {
    if (!o.tcp_enabled && o.unix_socket.empty())
        throw ConfigError("no listener configured: enable the TCP port or set a Unix socket");
    if (o.tls_cert.empty() != o.tls_key.empty())
        throw ConfigError("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
    if (!o.tls_ca.empty() && o.tls_cert.empty())
        throw ConfigError("a client CA (--tls-ca) needs TLS: set --tls-cert and --tls-key as well");
    const bool tls = !o.tls_cert.empty();
    const bool mtls = tls && !o.tls_ca.empty();
    if (o.tcp_enabled) {
        beast::error_code ec;
        if (o.rpc_addr != "localhost") {
            net::ip::make_address(o.rpc_addr, ec);
            if (ec)
                throw ConfigError("rpc address \"" + o.rpc_addr +
                                  "\" is not an IP address (use e.g. 127.0.0.1, ::1, "
                                  "0.0.0.0 or a specific interface address)");
        }
        if (!is_loopback_address(o.rpc_addr) && !((tls && !tokens.empty()) || mtls))
            throw ConfigError(
                "refusing to listen on " + o.rpc_addr + ":" + std::to_string(o.rpc_port) +
                " without authentication: a non-loopback RPC listener requires TLS "
                "(--tls-cert, --tls-key) together with bearer tokens (--tokens-file), or mutual "
                "TLS (--tls-ca). For local use only, listen on 127.0.0.1.");
    }
    if (o.require_auth_local && tokens.empty() && !mtls)
        throw ConfigError(
            "--require-auth-local is set but no credentials are configured: add --tokens-file "
            "(or --tls-ca for TCP clients)");
    if (o.require_auth_local && !o.unix_socket.empty() && tokens.empty())
        throw ConfigError(
            "--require-auth-local with a Unix socket needs bearer tokens (--tokens-file): the "
            "Unix socket has no TLS");
    if (o.limits.max_body_bytes == 0 || o.limits.max_ws_message_bytes == 0 ||
        o.limits.max_connections == 0 || o.limits.max_connections_per_ip == 0 ||
        o.limits.max_connections_per_identity == 0)
        throw ConfigError("limits must be positive");
    if (o.limits.rate_limit_per_second > 0 && o.limits.rate_limit_burst == 0)
        throw ConfigError(
            "limits.rate_limit_burst must be at least 1 when rate_limit_per_second is set");
    if (o.io_threads < 1 || o.io_threads > 64 || o.rpc_workers < 1 || o.rpc_workers > 256)
        throw ConfigError("io_threads must be 1..64 and rpc_workers 1..256");
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
            start_http_session(TlsStream(std::move(socket), *state->tls), state, std::move(info),
                               std::move(slot));
        } else {
            start_http_session(TcpStream(std::move(socket)), state, std::move(info),
                               std::move(slot));
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
        start_http_session(UnixStream(std::move(socket)), state, std::move(info), std::move(slot));
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
            throw StartupError("cannot listen on " + o.rpc_addr + ":" + std::to_string(o.rpc_port) +
                               ": " + ec.message());
        port = tcp_acceptor->local_endpoint().port();
    }

    void bind_unix() {
        const std::string& path = state->options.unix_socket;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                throw StartupError("unix socket path " + path +
                                   " exists and is not a socket; refusing to remove it");
            if (::unlink(path.c_str()) != 0)
                throw StartupError("cannot remove stale unix socket " + path + ": " +
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
        if (ec) throw StartupError("cannot listen on unix socket " + path + ": " + ec.message());
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
    if (s.started) throw std::logic_error("server already started");
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
