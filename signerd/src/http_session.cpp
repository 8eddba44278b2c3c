#include "http_session.hpp"

#include <boost/beast/websocket.hpp>

#include "tls.hpp"
#include "websocket_session.hpp"

namespace teesigner::signerd::server_detail {

namespace websocket = boost::beast::websocket;

namespace {

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
        start_websocket_session(std::move(stream_),
                                Upgrade{state_, info_, std::move(slot_), std::move(identity_slot_),
                                        std::move(client), parser_->release()});
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

}  // namespace

template <class Stream>
void start_http_session(Stream&& stream, std::shared_ptr<State> state, ConnInfo info,
                        ConnectionSlot slot) {
    std::make_shared<HttpSession<Stream>>(std::move(stream), std::move(state), std::move(info),
                                          std::move(slot))
        ->start();
}

template void start_http_session(TcpStream&&, std::shared_ptr<State>, ConnInfo, ConnectionSlot);
template void start_http_session(TlsStream&&, std::shared_ptr<State>, ConnInfo, ConnectionSlot);
template void start_http_session(UnixStream&&, std::shared_ptr<State>, ConnInfo, ConnectionSlot);

}  // namespace teesigner::signerd::server_detail
