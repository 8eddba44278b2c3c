// ServerFixture: what the in-process server tests (test_server.cpp,
// test_server_limits.cpp) share: a temporary directory for the Unix socket, a
// Server on an ephemeral loopback port over a key service of type Keys (a
// FakeKeyService or a class derived from it), and connections to it.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "rpc_methods.hpp"
#include "server.hpp"
#include "test_server_fake_key_service.hpp"

namespace teesigner::signerd::testing {

// A JSON-RPC POST to "/", with a bearer token unless `token` is empty.
inline boost::beast::http::request<boost::beast::http::string_body> post_request(
    const std::string& body, const std::string& token = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    return req;
}

template <class Keys = FakeKeyService>
class ServerFixture : public ::testing::Test {
  protected:
    // The temporary directory is `dir_prefix` followed by "-XXXXXX" (mkdtemp);
    // `log_level` is set for the test's duration.
    ServerFixture(std::string dir_prefix, spdlog::level::level_enum log_level)
        : dir_prefix_(std::move(dir_prefix)), log_level_(log_level) {}

    void SetUp() override {
        spdlog::set_level(log_level_);
        std::string tmpl = dir_prefix_ + "-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        if (server_) server_->stop();
        server_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // Loopback TCP on an ephemeral port, the Unix socket in the temporary
    // directory, two I/O threads and two RPC workers.
    ServerOptions base_options() const {
        using namespace std::chrono_literals;
        ServerOptions o;
        o.rpc_addr = "127.0.0.1";
        o.rpc_port = 0;
        o.unix_socket = dir_ + "/rpc.sock";
        o.limits.idle_timeout = 20s;
        o.io_threads = 2;
        o.rpc_workers = 2;
        return o;
    }

    // A new dispatcher_ with the RPC methods over keys_.
    void make_dispatcher(RpcLimits limits = {}) {
        dispatcher_ = std::make_unique<RpcDispatcher>(limits);
        register_rpc_methods(*dispatcher_, keys_, metrics_);
    }

    // Start a server for dispatcher_ (make_dispatcher first); port_ is its TCP port.
    void start_server(const ServerOptions& o, TokenStore tokens, HealthProvider health = {}) {
        server_ = std::make_unique<Server>(o, *dispatcher_, metrics_, std::move(tokens),
                                           std::move(health));
        server_->start();
        port_ = server_->tcp_port();
    }

    boost::asio::ip::tcp::endpoint endpoint() const {
        return {boost::asio::ip::make_address("127.0.0.1"), port_};
    }

    boost::beast::tcp_stream connect() {
        boost::beast::tcp_stream s(ioc_);
        s.connect(endpoint());
        return s;
    }

    std::string dir_;
    boost::asio::io_context ioc_;
    Keys keys_;
    Metrics metrics_;
    std::unique_ptr<RpcDispatcher> dispatcher_;
    std::unique_ptr<Server> server_;
    uint16_t port_ = 0;

  private:
    std::string dir_prefix_;
    spdlog::level::level_enum log_level_;
};

}  // namespace teesigner::signerd::testing
