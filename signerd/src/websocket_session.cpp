#include "websocket_session.hpp"

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

namespace teesigner::signerd::server_detail {

namespace websocket = boost::beast::websocket;

namespace {

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

}  // namespace

template <class Stream>
void start_websocket_session(Stream&& stream, Upgrade u) {
    std::make_shared<WsSession<Stream>>(std::move(stream), std::move(u.state), std::move(u.info),
                                        std::move(u.slot), std::move(u.identity_slot),
                                        std::move(u.client))
        ->run(std::move(u.request));
}

template void start_websocket_session(TcpStream&&, Upgrade);
template void start_websocket_session(TlsStream&&, Upgrade);
template void start_websocket_session(UnixStream&&, Upgrade);

}  // namespace teesigner::signerd::server_detail
