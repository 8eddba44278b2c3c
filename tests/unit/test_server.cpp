// signerd network front end, end to end in-process: Beast clients against the
// server on an ephemeral loopback port and on a temporary Unix socket, backed
// by FakeKeyService (tests only). Covers HTTP POST, WebSocket, batches,
// /health, /metrics, limits, slow and half-open connections, malformed input,
// authentication (tokens, TLS, mutual TLS), allow-lists and the start-up
// refusal of an unauthenticated remote listener.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "dispatcher_hooks.hpp"
#include "rpc_methods.hpp"
#include "server.hpp"
#include "test_server_fixture.hpp"

using namespace teesigner::signerd;
using teesigner::signerd::testing::post_request;
using teesigner::signerd::testing::ServerFixture;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using local = boost::asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTokenA = "tok-alice-0123456789abcdef";
constexpr const char* kTokenB = "tok-bob-0123456789abcdef00";

struct HttpResult {
    unsigned status = 0;
    std::string body;
    http::response<http::string_body> response;
    json rpc() const { return json::parse(body); }
};

template <class Stream>
HttpResult exchange(Stream& stream, http::request<http::string_body> req) {
    http::write(stream, req);
    beast::flat_buffer buffer;
    HttpResult r;
    http::read(stream, buffer, r.response);
    r.status = r.response.result_int();
    r.body = r.response.body();
    return r;
}

std::string call(const std::string& method, const json& params = json::array(), int id = 1) {
    json req = {{"jsonrpc", "2.0"}, {"method", method}, {"id", id}};
    if (!params.is_null()) req["params"] = params;
    return req.dump();
}

std::string run(const std::string& cmd) {
    std::string full = cmd + " 2>&1";
    FILE* p = popen(full.c_str(), "r");
    if (!p) return "popen failed";
    std::string out;
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int rc = pclose(p);
    if (rc != 0) out = "FAILED(" + std::to_string(rc) + "): " + out;
    return out;
}

// Status of a WebSocket upgrade request (Beast's client handshake does not
// hand back a refused response).
template <class Stream>
unsigned upgrade_status(Stream& stream, const std::string& origin = {},
                        const std::string& token = {}) {
    http::request<http::string_body> req{http::verb::get, "/", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    if (!origin.empty()) req.set(http::field::origin, origin);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    return exchange(stream, req).status;
}

// Poll `pred` for up to two seconds.
template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 200; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

class ServerTest : public ServerFixture<> {
  protected:
    ServerTest() : ServerFixture("/tmp/ts-server-test", spdlog::level::warn) {}

    ServerOptions options() {
        ServerOptions o = base_options();
        o.limits.max_body_bytes = 8192;
        o.limits.max_ws_message_bytes = 8192;
        o.limits.header_timeout = 600ms;
        o.limits.body_timeout = 2000ms;
        o.limits.handshake_timeout = 2000ms;
        return o;
    }

    void start(ServerOptions o, TokenStore tokens = {}, AccessList access = {}) {
        RpcLimits limits;
        limits.max_body_bytes = std::max(o.limits.max_body_bytes, o.limits.max_ws_message_bytes);
        make_dispatcher(limits);
        install_call_observer(*dispatcher_, metrics_);
        install_access_policy(*dispatcher_, std::move(access), metrics_);
        start_server(o, std::move(tokens), [this]() {
            KeyServiceHealth h = keys_.health();
            HealthReport r;
            r.ok = h.ok;
            r.body = {{"tee", h.backend}};
            return r;
        });
    }

    HttpResult post(const std::string& body, const std::string& token = {}) {
        auto s = connect();
        return exchange(s, post_request(body, token));
    }

    HttpResult get(const std::string& target) {
        auto s = connect();
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        return exchange(s, req);
    }

    // Send raw bytes, then read whatever comes back until the server closes.
    std::string raw(const std::string& bytes) {
        tcp::socket s(ioc_);
        s.connect(endpoint());
        net::write(s, net::buffer(bytes));
        std::string out;
        beast::error_code ec;
        char buf[4096];
        for (;;) {
            size_t n = s.read_some(net::buffer(buf), ec);
            if (ec) break;
            out.append(buf, n);
        }
        return out;
    }
};

// ---- Basic transports --------------------------------------------------------------

TEST_F(ServerTest, HttpPostServesRpcMethods) {
    start(options());
    ASSERT_NE(port_, 0);
    auto r = post(call("rpc_methods"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.response[http::field::content_type], "application/json; charset=utf-8");
    auto methods = r.rpc()["result"]["methods"];
    for (const char* m :
         {"author_rotateKeys", "author_hasSessionKeys", "author_hasKey", "rpc_methods",
          "keystore_publicKeys", "keystore_generateNew", "keystore_sign", "keystore_sr25519VrfSign",
          "keystore_ecdsaSignPrehashed", "keystore_hasKeys", "signer_attest", "signer_health"})
        EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    start(options());
    beast::tcp_stream s(ioc_);
    s.connect(endpoint());
    for (int i = 0; i < 3; ++i) {
        auto r = exchange(s, post_request(call("signer_health", json::array(), i)));
        ASSERT_EQ(r.status, 200u);
        EXPECT_EQ(r.rpc()["id"], i);
        EXPECT_EQ(r.rpc()["result"]["status"], "ok");
    }
}

TEST_F(ServerTest, WebSocketRotateAndHasSessionKeys) {
    start(options());
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.handshake("127.0.0.1", "/");
    auto ask = [&ws](const std::string& request) {
        ws.write(net::buffer(request));
        beast::flat_buffer b;
        ws.read(b);
        return json::parse(beast::buffers_to_string(b.data()));
    };
    auto rotated = ask(call("author_rotateKeys", json::array(), 7));
    ASSERT_TRUE(rotated["result"].is_string()) << rotated.dump();
    const std::string blob = rotated["result"];
    EXPECT_EQ(blob.size(), 2 + 2 * kSessionKeysSize);
    EXPECT_EQ(rotated["id"], 7);
    EXPECT_EQ(ask(call("author_hasSessionKeys", {blob}))["result"], true);
    // The babe key (second slot) is there under "babe", not under "gran".
    const std::string babe = "0x" + blob.substr(2 + 64, 64);
    EXPECT_EQ(ask(call("author_hasKey", {babe, "babe"}))["result"], true);
    EXPECT_EQ(ask(call("author_hasKey", {babe, "gran"}))["result"], false);
    // A batch over WebSocket.
    auto batch = ask(json::array({json::parse(call("signer_health", nullptr, 1)),
                                  json::parse(call("rpc_methods", nullptr, 2))})
                         .dump());
    ASSERT_TRUE(batch.is_array());
    EXPECT_EQ(batch.size(), 2u);
    ws.close(websocket::close_code::normal);
}

TEST_F(ServerTest, WebSocketPipelinedRequestsAllAnswered) {
    start(options());
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.handshake("127.0.0.1", "/");
    const int n = 50;
    for (int i = 0; i < n; ++i) ws.write(net::buffer(call("signer_health", nullptr, i)));
    std::set<int> ids;
    for (int i = 0; i < n; ++i) {
        beast::flat_buffer b;
        ws.read(b);
        ids.insert(json::parse(beast::buffers_to_string(b.data()))["id"].get<int>());
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
}

TEST_F(ServerTest, HttpBatchAndNotifications) {
    start(options());
    auto r = post(R"([{"jsonrpc":"2.0","method":"signer_health","id":1},
                      {"jsonrpc":"2.0","method":"signer_health"},
                      {"jsonrpc":"2.0","method":"nope","id":3}])");
    ASSERT_EQ(r.status, 200u);
    auto out = r.rpc();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0]["result"]["status"], "ok");
    EXPECT_EQ(out[1]["error"]["code"], -32601);
    // Only notifications: 200 with an empty body.
    r = post(R"({"jsonrpc":"2.0","method":"signer_health"})");
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body.empty());
}

TEST_F(ServerTest, UnixSocketHttpAndWebSocket) {
    auto o = options();
    // A stale socket file from a previous run is replaced.
    { local::acceptor stale(ioc_, local::endpoint(o.unix_socket)); }
    ASSERT_TRUE(std::filesystem::exists(o.unix_socket));
    start(o);
    struct stat st {};
    ASSERT_EQ(::stat(o.unix_socket.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    beast::basic_stream<local> s(ioc_);
    s.connect(local::endpoint(o.unix_socket));
    auto r = exchange(s, post_request(call("signer_health")));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.rpc()["result"]["status"], "ok");

    websocket::stream<beast::basic_stream<local>> ws(ioc_);
    beast::get_lowest_layer(ws).connect(local::endpoint(o.unix_socket));
    ws.handshake("localhost", "/");
    ws.write(net::buffer(call("keystore_generateNew", {"audi", "sr25519"})));
    beast::flat_buffer b;
    ws.read(b);
    auto reply = json::parse(beast::buffers_to_string(b.data()));
    EXPECT_EQ(reply["result"].get<std::string>().size(), 66u) << reply.dump();

    server_->stop();
    EXPECT_FALSE(std::filesystem::exists(o.unix_socket));
}

TEST_F(ServerTest, UnixSocketPathThatIsNotASocketIsNotRemoved) {
    auto o = options();
    std::ofstream(o.unix_socket) << "precious";
    EXPECT_THROW(start(o), std::runtime_error);
    EXPECT_TRUE(std::filesystem::exists(o.unix_socket));
}

// ---- /health and /metrics ---------------------------------------------------------------

TEST_F(ServerTest, HealthEndpoint) {
    start(options());
    auto r = get("/health");
    EXPECT_EQ(r.status, 200u);
    auto body = json::parse(r.body);
    EXPECT_EQ(body["status"], "ok");
    EXPECT_EQ(body["tee"], "fake");
    keys_.healthy = false;
    r = get("/health");
    EXPECT_EQ(r.status, 503u);
    EXPECT_EQ(json::parse(r.body)["status"], "unhealthy");
}

TEST_F(ServerTest, MetricsEndpoint) {
    start(options());
    post(call("rpc_methods"));
    post(call("rpc_methods"));
    post(call("keystore_sign", {"babe", "sr25519", "0x" + std::string(64, '1'), "0x00"}));
    keys_.refuse_next_sign = true;
    auto pk = post(call("keystore_generateNew", {"gran", "ed25519"})).rpc()["result"];
    post(call("keystore_sign", {"gran", "ed25519", pk, "0x00"}));
    metrics_.refusal("custom_rule");  // other parts of the service can count too
    auto r = get("/metrics");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    const std::string& m = r.body;
    EXPECT_NE(m.find("# TYPE teesigner_rpc_requests_total counter"), std::string::npos) << m;
    EXPECT_NE(m.find("teesigner_rpc_requests_total{method=\"rpc_methods\",code=\"0\"} 2"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("teesigner_rpc_requests_total{method=\"keystore_sign\",code=\"-32003\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("teesigner_rpc_requests_total{method=\"keystore_sign\",code=\"-32010\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("# TYPE teesigner_rpc_request_duration_seconds histogram"), std::string::npos);
    EXPECT_NE(
        m.find(
            "teesigner_rpc_request_duration_seconds_bucket{method=\"rpc_methods\",le=\"+Inf\"} 2"),
        std::string::npos)
        << m;
    EXPECT_NE(m.find("teesigner_rpc_request_duration_seconds_count{method=\"rpc_methods\"} 2"),
              std::string::npos);
    EXPECT_NE(m.find("teesigner_refusals_total{rule=\"grandpa_equivocation\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("teesigner_refusals_total{rule=\"custom_rule\"} 1"), std::string::npos);
    EXPECT_NE(m.find("teesigner_tee_restarts_total 0"), std::string::npos);
    // The RPC layer's stages: every answer went back through its connection's
    // thread once; the calls that may block waited for a worker.
    EXPECT_NE(m.find("\nteesigner_rpc_reply_queue_seconds_count 5\n"), std::string::npos) << m;
    EXPECT_NE(m.find("\nteesigner_rpc_worker_queue_seconds_count 5\n"), std::string::npos) << m;
    EXPECT_NE(m.find("teesigner_keys{key_type=\"gran\",scheme=\"ed25519\"} 1"), std::string::npos)
        << m;
    EXPECT_NE(m.find("teesigner_http_responses_total{code=\"200\"}"), std::string::npos);
    EXPECT_NE(m.find("teesigner_up 1"), std::string::npos);
}

// ---- Limits and bad input ---------------------------------------------------------------

TEST_F(ServerTest, BodyOverLimitGets413AndJsonRpcError) {
    start(options());
    std::string big = R"({"jsonrpc":"2.0","method":"rpc_methods","id":1,"params":[")" +
                      std::string(9000, 'a') + "\"]}";
    auto r = post(big);
    EXPECT_EQ(r.status, 413u);
    EXPECT_EQ(r.rpc()["error"]["code"], rpc_error::kRequestTooLarge);
    // A declared Content-Length over the limit is refused before the body is read.
    std::string reply =
        raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            "100000000\r\n\r\n{");
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
    // Chunked bodies are limited as well.
    reply =
        raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n3000\r\n" +
            std::string(0x3000, ' ') + "\r\n0\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
    // Still serving.
    EXPECT_EQ(post(call("rpc_methods")).status, 200u);
}

TEST_F(ServerTest, HeaderOverLimitGets431) {
    auto o = options();
    o.limits.max_header_bytes = 2048;
    start(o);
    std::string reply =
        raw("POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
}

TEST_F(ServerTest, WebSocketMessageOverLimitClosesConnection) {
    start(options());
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.handshake("127.0.0.1", "/");
    ws.write(net::buffer(std::string(10000, ' ')));
    beast::flat_buffer b;
    beast::error_code ec;
    ws.read(b, ec);
    EXPECT_TRUE(ec) << "expected the connection to be closed";
    EXPECT_EQ(ws.reason().code, websocket::close_code::too_big);
    EXPECT_EQ(post(call("rpc_methods")).status, 200u);
}

TEST_F(ServerTest, MalformedHttpGets400) {
    start(options());
    std::string reply = raw("GARBAGE\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    reply = raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    reply = raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_EQ(post(call("rpc_methods")).status, 200u);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
    start(options());
    tcp::socket s(ioc_);
    s.connect(endpoint());
    const std::string body = call("signer_health");
    net::write(s, net::buffer("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Expect: 100-continue\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n"));
    char buf[256];
    const size_t n = s.read_some(net::buffer(buf));
    EXPECT_EQ(std::string(buf, n), "HTTP/1.1 100 Continue\r\n\r\n");
    net::write(s, net::buffer(body));
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(json::parse(res.body())["result"]["status"], "ok");
}

// Random bytes and mangled requests never take the service down.
TEST_F(ServerTest, GarbageNeverCrashesTheServer) {
    auto o = options();
    o.limits.header_timeout = 300ms;
    o.limits.body_timeout = 300ms;
    start(o);
    std::mt19937 rng(1234);
    const std::string valid =
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 52\r\n\r\n" +
        call("signer_health");
    for (int i = 0; i < 150; ++i) {
        std::string data;
        if (i % 3 == 0) {
            data.resize(rng() % 600);
            for (auto& c : data) c = static_cast<char>(rng());
        } else {
            data = valid;
            for (int k = 0; k < 1 + i % 5; ++k)
                data[rng() % data.size()] = static_cast<char>(rng());
            data.resize(rng() % (data.size() + 1));
        }
        tcp::socket s(ioc_);
        s.connect(endpoint());
        beast::error_code ec;
        net::write(s, net::buffer(data), ec);
        s.shutdown(net::socket_base::shutdown_send, ec);
        char buf[1024];
        while (!ec) s.read_some(net::buffer(buf), ec);
    }
    auto r = post(call("signer_health"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.rpc()["result"]["status"], "ok");
    // JSON-level garbage over WebSocket as well.
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.handshake("127.0.0.1", "/");
    for (const std::string& msg :
         {std::string("{"), std::string("[1,2"), std::string("null"), std::string(200, '['),
          std::string(R"({"jsonrpc":"2.0","method":1,"id":{}})")}) {
        ws.write(net::buffer(msg));
        beast::flat_buffer b;
        ws.read(b);
        EXPECT_TRUE(json::parse(beast::buffers_to_string(b.data())).contains("error"));
    }
    // Invalid UTF-8 in a text frame is a WebSocket protocol error: closed (1007).
    ws.write(net::buffer(std::string("\xff\xfe")));
    beast::flat_buffer b;
    beast::error_code ec;
    ws.read(b, ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(ws.reason().code, websocket::close_code::bad_payload);
    EXPECT_EQ(post(call("signer_health")).status, 200u);
}

TEST_F(ServerTest, MalformedJsonAndWrongMethodsGetJsonRpcErrors) {
    start(options());
    EXPECT_EQ(post("{not json").rpc()["error"]["code"], -32700);
    EXPECT_EQ(post("[]").rpc()["error"]["code"], -32600);
    EXPECT_EQ(post(call("no_such_method")).rpc()["error"]["code"], -32601);
    // GET on an unknown path, PUT, wrong content type, cross-origin.
    EXPECT_EQ(get("/").status, 404u);
    auto req = post_request(call("rpc_methods"));
    req.method(http::verb::put);
    {
        beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        EXPECT_EQ(exchange(s, req).status, 405u);
    }
    req = post_request(call("rpc_methods"));
    req.set(http::field::content_type, "text/plain");
    {
        beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        EXPECT_EQ(exchange(s, req).status, 415u);
    }
    req = post_request(call("rpc_methods"));
    req.set(http::field::origin, "http://evil.example");
    {
        beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        EXPECT_EQ(exchange(s, req).status, 403u);
    }
    // A browser WebSocket from a foreign origin is refused too.
    {
        beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        EXPECT_EQ(upgrade_status(s, "http://evil.example"), 403u);
    }
    {
        beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        EXPECT_EQ(upgrade_status(s), 101u);
    }
    websocket::stream<beast::tcp_stream> ws(ioc_);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& r) { r.set(http::field::origin, "http://evil.example"); }));
    beast::error_code ec;
    ws.handshake("127.0.0.1", "/", ec);
    EXPECT_EQ(ec, websocket::error::upgrade_declined);
}

TEST_F(ServerTest, StrictParamValidation) {
    start(options());
    auto err = [this](const std::string& method, const json& params) {
        auto r = post(call(method, params)).rpc();
        EXPECT_TRUE(r.contains("error")) << r.dump();
        return r["error"];
    };
    const std::string pk32 = "0x" + std::string(64, 'a');
    auto e = err("keystore_sign", {"babe", "sr25519", "0x" + std::string(62, 'a'), "0x00"});
    EXPECT_EQ(e["code"], -32602);
    EXPECT_EQ(e["message"], "public: expected 32 bytes, got 31");
    e = err("keystore_sign", {"bab", "sr25519", pk32, "0x00"});
    EXPECT_EQ(e["code"], -32602);
    EXPECT_NE(e["message"].get<std::string>().find("keyType"), std::string::npos);
    e = err("keystore_sign", {"babe", "rsa", pk32, "0x00"});
    EXPECT_EQ(e["message"], "scheme: scheme must be \"sr25519\", \"ed25519\" or \"ecdsa\"");
    e = err("keystore_sign", {"babe", "sr25519", pk32, "00"});
    EXPECT_EQ(e["message"], "message: expected a 0x-prefixed hex string");
    e = err("keystore_sign", {"babe", "sr25519", pk32, "0x0g"});
    EXPECT_EQ(e["message"], "message: invalid hex digit");
    e = err("keystore_sign", {"babe", "sr25519", pk32, 5});
    EXPECT_EQ(e["code"], -32602);
    e = err("keystore_sign", {"babe", "sr25519", pk32});
    EXPECT_EQ(e["message"], "missing parameter message");
    e = err("keystore_sign", {"babe", "sr25519", pk32, "0x", 1});
    EXPECT_EQ(e["message"], "expected at most 4 parameters, got 5");
    e = err("keystore_sign", json{{"keyType", "babe"}, {"bogus", 1}});
    EXPECT_EQ(e["message"], "unknown parameter \"bogus\"");
    // ecdsa public keys are 33 bytes.
    e = err("keystore_sign", {"beef", "ecdsa", pk32, "0x00"});
    EXPECT_EQ(e["message"], "public: expected 33 bytes, got 32");
    e = err("keystore_ecdsaSignPrehashed", {"beef", "0x02" + std::string(64, 'a'), "0x00"});
    EXPECT_EQ(e["message"], "prehash: expected 32 bytes, got 1");
    e = err("author_hasSessionKeys", {"0x00"});
    EXPECT_EQ(e["code"], -32602);
    e = err("keystore_generateNew", {"babe", "sr25519", "//Alice"});
    EXPECT_EQ(e["code"], rpc_error::kPolicyRefused);
    e = err("signer_attest", {"0x" + std::string(130, '0')});
    EXPECT_EQ(e["message"], "nonce: expected at most 64 bytes");
    e = err("keystore_sr25519VrfSign",
            {"babe", pk32, json{{"label", "BABE"}, {"items", json::array()}}});
    EXPECT_EQ(e["message"], "transcript.label: expected a 0x-prefixed hex string");
    // Unknown key: a JSON-RPC error, not a crash.
    e = err("keystore_sign", {"babe", "sr25519", pk32, "0x00"});
    EXPECT_EQ(e["code"], rpc_error::kKeyNotFound);
    // Named parameters work too.
    auto pk = post(call("keystore_generateNew", json{{"keyType", "babe"}, {"scheme", "sr25519"}}))
                  .rpc()["result"];
    auto ok = post(call("keystore_sign", json{{"keyType", "babe"},
                                              {"scheme", "sr25519"},
                                              {"public", pk},
                                              {"message", "0x1234"}}))
                  .rpc();
    EXPECT_EQ(ok["result"].get<std::string>().size(), 2u + 128u) << ok.dump();
    auto vrf = post(call("keystore_sr25519VrfSign",
                         {"babe", pk,
                          json{{"label", "0x42414245"},
                               {"items", json::array({json::array(
                                             {"0x736c6f74206e756d626572", "0x0100000000000000"})})},
                               {"extra", {{"label", "0x"}, {"items", json::array()}}}}}))
                   .rpc();
    EXPECT_EQ(vrf["result"]["proof"].get<std::string>().size(), 2u + 128u) << vrf.dump();
    EXPECT_EQ(keys_.last_vrf_items, 1u);
    EXPECT_TRUE(keys_.last_vrf_had_extra);
    EXPECT_FALSE(keys_.last_vrf_input_hash.has_value());
    // The input given as its 64-byte hash (docs/protocol.md §4), with and
    // without an extra transcript.
    const std::string hash64 = "0x" + std::string(126, '0') + "2a";
    vrf = post(call("keystore_sr25519VrfSign", {"babe", pk, json{{"inputHash", hash64}}})).rpc();
    EXPECT_EQ(vrf["result"]["proof"].get<std::string>().size(), 2u + 128u) << vrf.dump();
    ASSERT_TRUE(keys_.last_vrf_input_hash.has_value());
    EXPECT_EQ((*keys_.last_vrf_input_hash)[63], 0x2a);
    EXPECT_FALSE(keys_.last_vrf_had_extra);
    vrf = post(call("keystore_sr25519VrfSign",
                    json{{"keyType", "babe"},
                         {"public", pk},
                         {"transcript",
                          {{"inputHash", hash64},
                           {"extra", {{"label", "0x565246"}, {"items", json::array()}}}}}}))
              .rpc();
    EXPECT_TRUE(vrf.contains("result")) << vrf.dump();
    EXPECT_TRUE(keys_.last_vrf_had_extra);
    vrf = post(call("keystore_sr25519VrfSign",
                    {"babe", pk, json{{"inputHash", hash64}, {"extra", nullptr}}}))
              .rpc();
    EXPECT_TRUE(vrf.contains("result")) << vrf.dump();
    EXPECT_FALSE(keys_.last_vrf_had_extra);
    auto has =
        post(call("keystore_hasKeys", json::array({json::array({json::array({pk, "babe"})})})))
            .rpc();
    EXPECT_EQ(has["result"], true);
}

// A client that trickles its header, and one that connects and sends nothing,
// are both closed after the header timeout, while others are served meanwhile.
TEST_F(ServerTest, SlowLorisAndHalfOpenConnectionsAreClosed) {
    auto o = options();
    o.limits.header_timeout = 800ms;
    o.limits.idle_timeout = 60s;
    start(o);
    tcp::socket slow(ioc_), silent(ioc_);
    slow.connect(endpoint());
    silent.connect(endpoint());
    slow.non_blocking(true);
    silent.non_blocking(true);
    const std::string header = "POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'z');
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<std::chrono::milliseconds> slow_closed, silent_closed;
    bool other_served = false;
    auto closed = [](tcp::socket& s) {
        char buf[256];
        beast::error_code ec;
        s.read_some(net::buffer(buf), ec);
        return ec && ec != net::error::would_block;
    };
    for (size_t i = 0; i < header.size() && std::chrono::steady_clock::now() - t0 < 10s; ++i) {
        beast::error_code ec;
        slow.write_some(net::buffer(&header[i], 1), ec);
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - t0);
        if (!slow_closed && (ec || closed(slow))) slow_closed = elapsed;
        if (!silent_closed && closed(silent)) silent_closed = elapsed;
        if (i == 2) other_served = post(call("rpc_methods")).status == 200;
        if (slow_closed && silent_closed) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(other_served);
    ASSERT_TRUE(slow_closed.has_value()) << "slow client was never closed";
    ASSERT_TRUE(silent_closed.has_value()) << "silent client was never closed";
    EXPECT_GE(slow_closed->count(), 700);
    EXPECT_LT(slow_closed->count(), 8000);
    EXPECT_GE(silent_closed->count(), 700);
    EXPECT_LT(silent_closed->count(), 8000);
    EXPECT_EQ(post(call("rpc_methods")).status, 200u);
    EXPECT_GE(metrics_.value(Metrics::kConnectionsRejected, {{"reason", "header_timeout"}}), 2);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
    auto o = options();
    o.limits.idle_timeout = 700ms;
    start(o);
    beast::tcp_stream s(ioc_);
    s.connect(endpoint());
    ASSERT_EQ(exchange(s, post_request(call("rpc_methods"))).status, 200u);
    std::this_thread::sleep_for(1500ms);
    beast::error_code ec;
    char buf[16];
    s.socket().read_some(net::buffer(buf), ec);
    EXPECT_EQ(ec, net::error::eof);
}

TEST_F(ServerTest, ConnectionLimitsPerClientIp) {
    auto o = options();
    o.limits.max_connections_per_ip = 2;
    o.limits.header_timeout = 5s;
    start(o);
    tcp::socket a(ioc_), b(ioc_), c(ioc_);
    a.connect(endpoint());
    b.connect(endpoint());
    c.connect(endpoint());
    beast::error_code ec;
    char buf[16];
    c.read_some(net::buffer(buf), ec);  // the third is closed at once
    EXPECT_TRUE(ec);
    a.close();
    b.close();
    // Slots are released: a new client is served again.
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
        try {
            served = post(call("rpc_methods")).status == 200;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_TRUE(served);
    EXPECT_GE(metrics_.value(Metrics::kConnectionsRejected, {{"reason", "max_connections_per_ip"}}),
              1);
}

// ---- Authentication and authorisation -----------------------------------------------------

TokenStore two_tokens() {
    return TokenStore::parse(std::string("alice:") + kTokenA + "\nbob:" + kTokenB + "\n");
}

// keystore_sr25519VrfSign's transcript: exactly one of {label, items} and
// inputHash (64 bytes); every other shape is -32602 naming the member.
TEST_F(ServerTest, VrfInputHashParamValidation) {
    start(options());
    auto pk = post(call("keystore_generateNew", {"babe", "sr25519"})).rpc()["result"];
    auto err = [&](const json& transcript) {
        auto r = post(call("keystore_sr25519VrfSign", {"babe", pk, transcript})).rpc();
        EXPECT_TRUE(r.contains("error")) << r.dump();
        EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
        return r["error"]["message"].get<std::string>();
    };
    const std::string h64 = "0x" + std::string(128, '1');
    const json items = json::array();
    EXPECT_EQ(err({{"inputHash", "0x" + std::string(126, '1')}}),
              "transcript.inputHash: expected 64 bytes, got 63");
    EXPECT_EQ(err({{"inputHash", "0x" + std::string(130, '1')}}),
              "transcript.inputHash: expected 64 bytes, got 65");
    EXPECT_EQ(err({{"inputHash", 5}}), "transcript.inputHash: expected a 0x-prefixed hex string");
    EXPECT_EQ(err({{"inputHash", h64}, {"label", "0x"}, {"items", items}}),
              "transcript: give either label and items or inputHash, not both");
    EXPECT_EQ(err({{"inputHash", h64}, {"items", items}}),
              "transcript: give either label and items or inputHash, not both");
    EXPECT_EQ(err(json::object()), "transcript: missing label and items, or inputHash");
    EXPECT_EQ(err({{"extra", nullptr}}), "transcript: missing label and items, or inputHash");
    EXPECT_EQ(err({{"inputHash", h64}, {"bogus", 1}}), "transcript: unknown member \"bogus\"");
    EXPECT_EQ(err({{"inputHash", h64}, {"extra", {{"inputHash", h64}}}}),
              "transcript.extra: the extra transcript must be {label, items}, not a hash");
    EXPECT_EQ(err({{"inputHash", h64}, {"extra", "0x00"}}),
              "transcript.extra: expected an object {label, items}");
    EXPECT_EQ(err({{"label", "0x"}}), "transcript.items: missing");
    EXPECT_EQ(err("0x00"),
              "transcript: expected an object {label, items, extra} or {inputHash, extra}");
    EXPECT_FALSE(keys_.last_vrf_input_hash.has_value());  // nothing reached the service
}

TEST_F(ServerTest, LocalClientsNeedNoAuthByDefaultButBadTokensAreRefused) {
    start(options(), two_tokens());
    EXPECT_EQ(post(call("rpc_methods")).status, 200u);
    EXPECT_EQ(post(call("rpc_methods"), kTokenA).status, 200u);
    // Without [access] rules, methods that can weaken protection are local-only.
    EXPECT_EQ(post(call("signer_setProtectionPolicy", json::array({json::array()})), kTokenA)
                  .rpc()["error"]["code"],
              rpc_error::kUnauthorized);
    EXPECT_EQ(post(call("signer_setProtectionPolicy", json::array({json::array()})))
                  .rpc()["error"]["code"],
              rpc_error::kNotSupported);  // local may; the fake service has no policy
    // signer_retireKeys too (it deletes keys); local reaches the method, which
    // answers -32005 here: the fixture configures no key usage records.
    EXPECT_EQ(post(call("signer_retireKeys", json::array({"0x" + std::string(386, '0')})), kTokenA)
                  .rpc()["error"]["code"],
              rpc_error::kUnauthorized);
    EXPECT_EQ(post(call("signer_retireKeys", json::array({"0x" + std::string(386, '0')})))
                  .rpc()["error"]["code"],
              rpc_error::kNotSupported);
    auto r = post(call("rpc_methods"), "wrong-token-0123456789");
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.rpc()["error"]["code"], rpc_error::kUnauthorized);
    EXPECT_EQ(r.response[http::field::www_authenticate], "Bearer");
    EXPECT_EQ(metrics_.value(Metrics::kAuthFailures, {{"reason", "bad_token"}}), 1);
}

TEST_F(ServerTest, RequireAuthLocalAndAllowLists) {
    auto o = options();
    o.require_auth_local = true;
    AccessList access;
    access.allow("alice", {"*"});
    access.allow("bob", {"rpc_methods", "signer_*"});
    start(o, two_tokens(), access);
    EXPECT_EQ(post(call("rpc_methods")).status, 401u);
    EXPECT_EQ(post(call("rpc_methods"), kTokenA).status, 200u);
    EXPECT_EQ(post(call("signer_health"), kTokenB).rpc()["result"]["status"], "ok");
    auto refused = post(call("author_rotateKeys"), kTokenB).rpc();
    EXPECT_EQ(refused["error"]["code"], rpc_error::kUnauthorized) << refused.dump();
    EXPECT_EQ(keys_.rotations, 0);
    EXPECT_TRUE(post(call("author_rotateKeys"), kTokenA).rpc()["result"].is_string());
    EXPECT_EQ(metrics_.value(Metrics::kRefusals, {{"rule", "access"}}), 1);

    // The Unix socket requires the token as well now.
    beast::basic_stream<local> s(ioc_);
    s.connect(local::endpoint(o.unix_socket));
    EXPECT_EQ(exchange(s, post_request(call("rpc_methods"))).status, 401u);
    beast::basic_stream<local> s2(ioc_);
    s2.connect(local::endpoint(o.unix_socket));
    EXPECT_EQ(exchange(s2, post_request(call("rpc_methods"), kTokenB)).status, 200u);

    // WebSocket upgrade carries the token in its request.
    {
        beast::tcp_stream t(ioc_);
        t.connect(endpoint());
        EXPECT_EQ(upgrade_status(t), 401u);
    }
    websocket::stream<beast::tcp_stream> ws2(ioc_);
    beast::get_lowest_layer(ws2).connect(endpoint());
    ws2.set_option(websocket::stream_base::decorator([](websocket::request_type& r) {
        r.set(http::field::authorization, std::string("Bearer ") + kTokenB);
    }));
    ws2.handshake("127.0.0.1", "/");
    ws2.write(net::buffer(call("author_rotateKeys")));
    beast::flat_buffer b;
    ws2.read(b);
    EXPECT_EQ(json::parse(beast::buffers_to_string(b.data()))["error"]["code"],
              rpc_error::kUnauthorized);
}

// ---- TLS and mutual TLS ---------------------------------------------------------------

class TlsServerTest : public ServerTest {
  protected:
    void SetUp() override {
        ServerTest::SetUp();
        const std::string d = dir_;
        const std::string ext_server = d + "/server.ext";
        const std::string ext_client = d + "/client.ext";
        std::ofstream(ext_server) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                     "extendedKeyUsage=serverAuth\n";
        std::ofstream(ext_client) << "extendedKeyUsage=clientAuth\n";
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
        for (const std::string& cmd :
             {"openssl req -x509" + ec + "-keyout " + d + "/ca.key -out " + d +
                  "/ca.pem -days 2 -subj /CN=test-ca",
              "openssl req" + ec + "-keyout " + d + "/server.key -out " + d +
                  "/server.csr -subj /CN=localhost",
              "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
                  "/ca.key -CAcreateserial -out " + d + "/server.pem -days 2 -extfile " +
                  ext_server,
              "openssl req" + ec + "-keyout " + d + "/client.key -out " + d +
                  "/client.csr -subj /CN=validator-a",
              "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d +
                  "/ca.key -CAcreateserial -out " + d + "/client.pem -days 2 -extfile " +
                  ext_client,
              // A client certificate from a CA the server does not trust.
              "openssl req -x509" + ec + "-keyout " + d + "/rogue.key -out " + d +
                  "/rogue.pem -days 2 -subj /CN=validator-a"}) {
            const std::string out = run(cmd);
            ASSERT_EQ(out.find("FAILED"), std::string::npos) << cmd << "\n" << out;
        }
    }

    ServerOptions tls_options() {
        auto o = options();
        o.tls_cert = dir_ + "/server.pem";
        o.tls_key = dir_ + "/server.key";
        return o;
    }

    ssl::context client_context(const std::string& cert = {}) {
        ssl::context ctx(ssl::context::tls_client);
        ctx.load_verify_file(dir_ + "/ca.pem");
        ctx.set_verify_mode(ssl::verify_peer);
        if (!cert.empty()) {
            ctx.use_certificate_chain_file(dir_ + "/" + cert + ".pem");
            ctx.use_private_key_file(dir_ + "/" + cert + ".key", ssl::context::pem);
        }
        return ctx;
    }

    HttpResult tls_post(ssl::context& ctx, const std::string& body, const std::string& token = {}) {
        beast::ssl_stream<beast::tcp_stream> s(ioc_, ctx);
        beast::get_lowest_layer(s).connect(endpoint());
        s.handshake(ssl::stream_base::client);
        return exchange(s, post_request(body, token));
    }
};

TEST_F(TlsServerTest, TlsWithBearerToken) {
    auto o = tls_options();
    o.require_auth_local = true;
    start(o, two_tokens());
    EXPECT_TRUE(server_->tls_enabled());
    auto ctx = client_context();
    auto r = tls_post(ctx, call("rpc_methods"), kTokenA);
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.rpc()["result"]["methods"].is_array());
    EXPECT_EQ(tls_post(ctx, call("rpc_methods")).status, 401u);
    EXPECT_EQ(tls_post(ctx, call("rpc_methods"), "not-a-valid-token-at-all").status, 401u);
    // WebSocket over TLS.
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc_, ctx);
    beast::get_lowest_layer(ws).connect(endpoint());
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(http::field::authorization, std::string("Bearer ") + kTokenA);
    }));
    ws.handshake("127.0.0.1", "/");
    ws.write(net::buffer(call("signer_health")));
    beast::flat_buffer b;
    ws.read(b);
    EXPECT_EQ(json::parse(beast::buffers_to_string(b.data()))["result"]["status"], "ok");
    // Plain HTTP to the TLS port gets nothing useful.
    std::string reply;
    try {
        reply = raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    } catch (const std::exception&) {
    }
    EXPECT_EQ(reply.find("200 OK"), std::string::npos);
}

TEST_F(TlsServerTest, MutualTlsIdentityFromCertificateCommonName) {
    auto o = tls_options();
    o.tls_ca = dir_ + "/ca.pem";
    o.require_auth_local = true;
    o.unix_socket.clear();  // no tokens: the Unix socket could not authenticate anyone
    AccessList access;
    access.allow("validator-a", {"rpc_methods", "keystore_*"});
    start(o, TokenStore{}, access);
    auto ctx = client_context("client");
    auto r = tls_post(ctx, call("rpc_methods"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.rpc()["result"]["methods"].is_array());
    // Identity "validator-a" may not rotate keys.
    EXPECT_EQ(tls_post(ctx, call("author_rotateKeys")).rpc()["error"]["code"],
              rpc_error::kUnauthorized);
    // No client certificate: the handshake fails.
    auto anon = client_context();
    EXPECT_THROW(tls_post(anon, call("rpc_methods")), std::exception);
    // A certificate with the right CN from an untrusted CA: refused too.
    auto rogue = client_context("rogue");
    EXPECT_THROW(tls_post(rogue, call("rpc_methods")), std::exception);
    // The server counts the failures on its own threads: allow it a moment.
    EXPECT_TRUE(eventually([this] {
        return metrics_.value(Metrics::kConnectionsRejected,
                              {{"reason", "tls_handshake_failed"}}) >= 2;
    }));
}

TEST_F(TlsServerTest, TlsBadCertificatePathFailsAtStartup) {
    auto o = tls_options();
    o.tls_key = dir_ + "/missing.key";
    try {
        start(o, two_tokens());
        FAIL() << "expected a start-up error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.key"), std::string::npos) << e.what();
    }
}

// ---- Start-up refusal of unauthenticated remote listeners ---------------------------------

TEST(ServerSecurity, NonLoopbackListenerNeedsTlsAndAuthentication) {
    ServerOptions o;
    o.rpc_addr = "0.0.0.0";
    try {
        validate_server_security(o, TokenStore{});
        FAIL() << "expected refusal";
    } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("refusing to listen on 0.0.0.0:9955 without authentication"),
                  std::string::npos)
            << msg;
        EXPECT_NE(msg.find("--tls-cert"), std::string::npos);
    }
    // Tokens without TLS: still refused (tokens would travel in clear).
    EXPECT_THROW(validate_server_security(o, two_tokens()), std::runtime_error);
    // TLS without tokens or client CA: refused.
    o.tls_cert = "/x/cert.pem";
    o.tls_key = "/x/key.pem";
    EXPECT_THROW(validate_server_security(o, TokenStore{}), std::runtime_error);
    // TLS + tokens, or mutual TLS: accepted.
    EXPECT_NO_THROW(validate_server_security(o, two_tokens()));
    o.tls_ca = "/x/ca.pem";
    EXPECT_NO_THROW(validate_server_security(o, TokenStore{}));
    // Loopback needs nothing; IPv6 too; and a real Server refuses to start.
    ServerOptions lo;
    lo.rpc_addr = "::1";
    EXPECT_NO_THROW(validate_server_security(lo, TokenStore{}));
    EXPECT_FALSE(is_loopback_address("192.168.1.10"));
    EXPECT_TRUE(is_loopback_address("127.0.0.2"));
    EXPECT_TRUE(is_loopback_address("localhost"));
    RpcDispatcher d;
    Metrics m;
    ServerOptions remote;
    remote.rpc_addr = "0.0.0.0";
    remote.rpc_port = 0;
    Server s(remote, d, m, TokenStore{});
    EXPECT_THROW(s.start(), std::runtime_error);
    // Misconfigurations with clear messages.
    ServerOptions half;
    half.tls_cert = "/x/cert.pem";
    EXPECT_THROW(validate_server_security(half, TokenStore{}), std::runtime_error);
    ServerOptions req;
    req.require_auth_local = true;
    EXPECT_THROW(validate_server_security(req, TokenStore{}), std::runtime_error);
    ServerOptions bad_addr;
    bad_addr.rpc_addr = "my-host.example";
    EXPECT_THROW(validate_server_security(bad_addr, TokenStore{}), std::runtime_error);
}

}  // namespace
