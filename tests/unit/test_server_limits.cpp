// signerd's per-client limits, in-process against FakeKeyService: concurrent
// connections in all, per identity and per address (the Unix socket counts as
// one address), requests in flight per WebSocket connection, and the
// per-client request rate limit (token bucket) over HTTP and WebSocket. Over a
// limit a client gets HTTP 429 / JSON-RPC -32006 (or its connection closed,
// or its next message left unread) while other clients keep being served.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "rpc_methods.hpp"
#include "server.hpp"
#include "test_server_fixture.hpp"

using namespace teesigner::signerd;
using teesigner::signerd::testing::FakeKeyService;
using teesigner::signerd::testing::post_request;
using teesigner::signerd::testing::ServerFixture;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using local = boost::asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTokenAlice = "tok-alice-0123456789abcdef";
constexpr const char* kTokenBob = "tok-bob-0123456789abcdef00";

std::string call(const std::string& method, int id = 1) {
    return json{{"jsonrpc", "2.0"}, {"method", method}, {"params", json::array()}, {"id", id}}
        .dump();
}

template <class Stream>
http::response<http::string_body> exchange(Stream& stream, const std::string& body,
                                           const std::string& token) {
    auto req = post_request(body, token);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res;
}

// Whether the server closed `stream` (EOF or reset on the next read).
template <class Socket>
bool closed_by_server(Socket& socket) {
    beast::error_code ec;
    char buf[1];
    socket.read_some(net::buffer(buf), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
}

// FakeKeyService whose public_keys() (keystore_publicKeys) can be held at a
// gate, counting the calls inside: how many requests the server runs at once.
class GatedKeyService : public FakeKeyService {
  public:
    std::vector<Bytes> public_keys(const KeyTypeId& type, Scheme scheme) override {
        {
            std::unique_lock lock(gate_mu_);
            ++inside_;
            most_inside_ = std::max(most_inside_, inside_);
            entered_.notify_all();
            opened_.wait(lock, [this] { return open_; });
            --inside_;
        }
        return FakeKeyService::public_keys(type, scheme);
    }
    void close_gate() {
        std::lock_guard lock(gate_mu_);
        open_ = false;
    }
    void open_gate() {
        std::lock_guard lock(gate_mu_);
        open_ = true;
        opened_.notify_all();
    }
    // Waits up to `timeout` for at least `n` calls inside; returns how many are.
    int wait_inside(int n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(gate_mu_);
        entered_.wait_for(lock, timeout, [&] { return inside_ >= n; });
        return inside_;
    }
    int most_inside() {
        std::lock_guard lock(gate_mu_);
        return most_inside_;
    }

  private:
    std::mutex gate_mu_;
    std::condition_variable entered_, opened_;
    bool open_ = true;
    int inside_ = 0, most_inside_ = 0;
};

class ServerLimitsTest : public ServerFixture<GatedKeyService> {
  protected:
    ServerLimitsTest() : ServerFixture("/tmp/ts-limits-test", spdlog::level::err) {}

    void TearDown() override {
        keys_.open_gate();
        ServerFixture::TearDown();
    }

    ServerOptions options() {
        ServerOptions o = base_options();
        o.limits.header_timeout = 5s;
        return o;
    }

    void start(ServerOptions o, bool with_tokens = true) {
        make_dispatcher();
        TokenStore tokens;
        if (with_tokens) {
            // Loopback clients must authenticate too: identities are the token names.
            o.require_auth_local = true;
            tokens = TokenStore::parse(std::string("alice:") + kTokenAlice + "\nbob:" + kTokenBob);
        }
        start_server(o, std::move(tokens));
    }

    // Whether a new connection gets an answer within about two seconds (a
    // closed connection's place is freed asynchronously).
    bool new_connection_served(const std::string& token) {
        for (int i = 0; i < 100; ++i) {
            beast::tcp_stream s(ioc_);
            beast::error_code ec;
            s.connect(endpoint(), ec);
            auto req = post_request(call("rpc_methods"), token);
            if (!ec) http::write(s, req, ec);
            beast::flat_buffer buffer;
            http::response<http::string_body> res;
            if (!ec) http::read(s, buffer, res, ec);
            if (!ec && res.result_int() == 200) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
};

TEST_F(ServerLimitsTest, ConnectionsPerIdentityAreLimitedOthersAreServed) {
    auto o = options();
    o.limits.max_connections_per_identity = 2;
    start(o);
    auto a1 = connect();
    auto a2 = connect();
    EXPECT_EQ(exchange(a1, call("rpc_methods"), kTokenAlice).result_int(), 200u);
    EXPECT_EQ(exchange(a2, call("rpc_methods"), kTokenAlice).result_int(), 200u);

    // Alice's third connection is refused with 429 / -32006 and closed.
    auto a3 = connect();
    auto refused = exchange(a3, call("rpc_methods"), kTokenAlice);
    EXPECT_EQ(refused.result_int(), 429u);
    const json body = json::parse(refused.body());
    EXPECT_EQ(body["error"]["code"], kRateLimitedCode);
    EXPECT_NE(body["error"]["message"].get<std::string>().find("too many connections"),
              std::string::npos);
    EXPECT_TRUE(closed_by_server(a3.socket()));
    EXPECT_EQ(
        metrics_.value(Metrics::kConnectionsRejected, {{"reason", "max_connections_per_identity"}}),
        1);

    // Bob, from the same address, and Alice's open connections are served.
    auto b = connect();
    EXPECT_EQ(exchange(b, call("rpc_methods"), kTokenBob).result_int(), 200u);
    EXPECT_EQ(exchange(a1, call("rpc_methods"), kTokenAlice).result_int(), 200u);

    // Closing one of Alice's connections frees its place.
    a2.close();
    EXPECT_TRUE(new_connection_served(kTokenAlice));
}

TEST_F(ServerLimitsTest, TotalConnectionsAreLimited) {
    auto o = options();
    o.limits.max_connections = 2;
    start(o, /*with_tokens=*/false);
    auto c1 = connect();
    auto c2 = connect();
    EXPECT_EQ(exchange(c1, call("rpc_methods"), "").result_int(), 200u);
    EXPECT_EQ(exchange(c2, call("rpc_methods"), "").result_int(), 200u);
    // A third connection, over TCP or the Unix socket, is closed at once.
    auto c3 = connect();
    EXPECT_TRUE(closed_by_server(c3.socket()));
    local::socket u(ioc_);
    u.connect(local::endpoint(o.unix_socket));
    EXPECT_TRUE(closed_by_server(u));
    EXPECT_GE(metrics_.value(Metrics::kConnectionsRejected, {{"reason", "max_connections"}}), 2);
    // The open ones are still served, and closing one frees its place.
    EXPECT_EQ(exchange(c1, call("rpc_methods"), "").result_int(), 200u);
    c2.close();
    EXPECT_TRUE(new_connection_served(""));
}

// A WebSocket client that pipelines requests has at most
// max_inflight_per_connection of them running; the server reads the rest only
// as answers go out, and every request is answered.
TEST_F(ServerLimitsTest, RequestsInFlightPerWebSocketAreBounded) {
    auto o = options();
    o.limits.max_inflight_per_connection = 2;
    o.rpc_workers = 4;
    start(o, /*with_tokens=*/false);
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.handshake("127.0.0.1", "/");
    keys_.close_gate();
    constexpr int kRequests = 6;
    for (int id = 1; id <= kRequests; ++id)
        ws.write(net::buffer(json{
            {"jsonrpc", "2.0"},
            {"method", "keystore_publicKeys"},
            {"params", {"gran", "ed25519"}},
            {"id", id}}.dump()));
    EXPECT_EQ(keys_.wait_inside(2, 5s), 2);
    // Workers are free (4), yet no third request of this connection starts.
    EXPECT_EQ(keys_.wait_inside(3, 300ms), 2);
    // Another connection is served meanwhile.
    auto other = connect();
    EXPECT_EQ(exchange(other, call("rpc_methods"), "").result_int(), 200u);
    keys_.open_gate();
    std::set<int> answered;
    for (int i = 0; i < kRequests; ++i) {
        beast::flat_buffer buffer;
        ws.read(buffer);
        const json answer = json::parse(beast::buffers_to_string(buffer.data()));
        EXPECT_TRUE(answer.contains("result")) << answer.dump();
        answered.insert(answer["id"].get<int>());
    }
    EXPECT_EQ(answered.size(), static_cast<size_t>(kRequests));
    EXPECT_EQ(keys_.most_inside(), 2);
}

TEST_F(ServerLimitsTest, UnixSocketClientsShareOneAddressLimit) {
    auto o = options();
    o.limits.max_connections_per_ip = 2;
    start(o, /*with_tokens=*/false);
    local::socket u1(ioc_), u2(ioc_), u3(ioc_);
    u1.connect(local::endpoint(o.unix_socket));
    u2.connect(local::endpoint(o.unix_socket));
    u3.connect(local::endpoint(o.unix_socket));
    EXPECT_TRUE(closed_by_server(u3));  // the third is closed at once
    // A TCP client is another address: served meanwhile.
    auto t = connect();
    EXPECT_EQ(exchange(t, call("rpc_methods"), "").result_int(), 200u);
    EXPECT_GE(metrics_.value(Metrics::kConnectionsRejected, {{"reason", "max_connections_per_ip"}}),
              1);
}

TEST_F(ServerLimitsTest, RateLimitedHttpRequestsGet429AndRecover) {
    auto o = options();
    o.limits.rate_limit_per_second = 1;
    o.limits.rate_limit_burst = 3;
    start(o);
    auto a = connect();
    // A full bucket: the first three pass.
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(exchange(a, call("rpc_methods"), kTokenAlice).result_int(), 200u) << i;
    // The bucket refills at one per second: of the next five, some are refused.
    int limited = 0;
    for (int i = 0; i < 5; ++i) {
        auto res = exchange(a, call("rpc_methods", 40 + i), kTokenAlice);
        if (res.result_int() == 200u) continue;
        ++limited;
        EXPECT_EQ(res.result_int(), 429u);
        const json body = json::parse(res.body());
        EXPECT_EQ(body["error"]["code"], kRateLimitedCode);
        EXPECT_NE(body["error"]["message"].get<std::string>().find("rate limited"),
                  std::string::npos);
        EXPECT_GE(std::stoi(std::string(res[http::field::retry_after])), 1);
    }
    EXPECT_GE(limited, 1);
    EXPECT_EQ(metrics_.value("teesigner_rate_limited_total", {{"identity", "alice"}}), limited);
    // Another client has its own bucket.
    auto b = connect();
    EXPECT_EQ(exchange(b, call("rpc_methods"), kTokenBob).result_int(), 200u);
    // Alice's connection stayed open, and a token comes back within a second.
    std::this_thread::sleep_for(1100ms);
    EXPECT_EQ(exchange(a, call("rpc_methods"), kTokenAlice).result_int(), 200u);
}

TEST_F(ServerLimitsTest, RateLimitedWebSocketMessagesGetErrorsWithTheirIds) {
    auto o = options();
    o.limits.rate_limit_per_second = 1;
    o.limits.rate_limit_burst = 2;
    start(o);
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(http::field::authorization, std::string("Bearer ") + kTokenAlice);
    }));
    ws.handshake("127.0.0.1", "/");
    auto ask = [&](const std::string& text) {
        ws.write(net::buffer(text));
        beast::flat_buffer buffer;
        ws.read(buffer);
        return json::parse(beast::buffers_to_string(buffer.data()));
    };
    EXPECT_TRUE(ask(call("rpc_methods", 1)).contains("result"));
    EXPECT_TRUE(ask(call("rpc_methods", 2)).contains("result"));
    // The bucket is empty now (refill: one per second): a batch right away is
    // answered with one error per request id (a slow machine may have earned
    // a token back in between, so try a few times).
    const std::string batch =
        json::array({json::parse(call("rpc_methods", 10)), json::parse(call("rpc_methods", 11)),
                     json{{"jsonrpc", "2.0"}, {"method", "rpc_methods"}}})
            .dump();
    bool limited = false;
    for (int i = 0; i < 4 && !limited; ++i) {
        const json answer = ask(batch);
        ASSERT_TRUE(answer.is_array()) << answer.dump();
        ASSERT_EQ(answer.size(), 2u) << answer.dump();
        EXPECT_EQ(answer[0]["id"], 10);
        EXPECT_EQ(answer[1]["id"], 11);
        limited = answer[0].contains("error");
        if (limited) {
            EXPECT_EQ(answer[0]["error"]["code"], kRateLimitedCode);
            EXPECT_EQ(answer[1]["error"]["code"], kRateLimitedCode);
        }
    }
    EXPECT_TRUE(limited);
    // The WebSocket stays open and recovers.
    std::this_thread::sleep_for(1100ms);
    const json later = ask(call("rpc_methods", 3));
    EXPECT_EQ(later["id"], 3);
    EXPECT_TRUE(later.contains("result")) << later.dump();
}

TEST_F(ServerLimitsTest, DefaultsLetABusyLocalClientThrough) {
    start(options(), /*with_tokens=*/false);
    auto a = connect();
    for (int i = 0; i < 300; ++i)
        ASSERT_EQ(exchange(a, call("rpc_methods", i), "").result_int(), 200u) << i;
    EXPECT_EQ(metrics_.value("teesigner_rate_limited_total", {{"identity", "local"}}), 0);
}

TEST_F(ServerLimitsTest, LocalClientsAreRateLimitedOnlyWhenAsked) {
    auto o = options();
    o.limits.rate_limit_per_second = 1;
    o.limits.rate_limit_burst = 1;
    start(o, /*with_tokens=*/false);
    auto a = connect();
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(exchange(a, call("rpc_methods", i), "").result_int(), 200u) << i;
    a.close();
    server_->stop();

    o.limits.rate_limit_local = true;
    start(o, /*with_tokens=*/false);
    auto b = connect();
    EXPECT_EQ(exchange(b, call("rpc_methods", 1), "").result_int(), 200u);
    const auto refused = exchange(b, call("rpc_methods", 2), "");
    EXPECT_EQ(refused.result_int(), 429u);
    EXPECT_EQ(json::parse(refused.body())["error"]["code"], kRateLimitedCode);
    // Over the Unix socket: another client address, its own bucket.
    local::socket u(ioc_);
    u.connect(local::endpoint(o.unix_socket));
    EXPECT_EQ(exchange(u, call("rpc_methods", 3), "").result_int(), 200u);
    EXPECT_GE(metrics_.value("teesigner_rate_limited_total", {{"identity", "local"}}), 1);
}

TEST(ServerLimitsValidation, ZeroLimitsAreRefused) {
    ServerOptions o;
    o.limits.max_connections_per_identity = 0;
    EXPECT_THROW(validate_server_security(o, TokenStore{}), std::runtime_error);
    ServerOptions r;
    r.limits.rate_limit_per_second = 10;
    r.limits.rate_limit_burst = 0;
    EXPECT_THROW(validate_server_security(r, TokenStore{}), std::runtime_error);
    ServerOptions off;
    off.limits.rate_limit_per_second = 0;  // no rate limit: fine
    off.limits.rate_limit_burst = 0;
    EXPECT_NO_THROW(validate_server_security(off, TokenStore{}));
}

}  // namespace
