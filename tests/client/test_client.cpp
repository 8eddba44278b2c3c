// ts_client against a real `tee-signer serve` (soft TEE, temporary data
// directory): plain HTTP, Unix socket, HTTPS with a bearer token and with
// mutual TLS (throwaway CA made with openssl at test time), error mapping,
// keep-alive reconnects, timeouts, and the C API (a program compiled as C).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>

#include "signer_process.hpp"
#include "teesigner/client/client.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/sr25519.hpp"

#ifndef TS_CLI_PATH
#error "TS_CLI_PATH must name the tee-signer binary"
#endif
#ifndef TS_C_CLIENT_TEST_PATH
#error "TS_C_CLIENT_TEST_PATH must name the C client test program"
#endif

namespace {

using namespace teesigner::client;
using namespace teesigner::testing;
namespace core = teesigner::core;
using json = nlohmann::json;

constexpr size_t kSessionKeysLength = 193;

Endpoint at(std::string url) {
    Endpoint e;
    e.url = std::move(url);
    return e;
}

// Offsets of the keys in the SessionKeys blob (gran, babe, para, asgn, audi, beef).
Bytes key_at(const Bytes& blob, size_t index) {
    const size_t at = 32 * index;
    return Bytes(blob.begin() + static_cast<long>(at),
                 blob.begin() + static_cast<long>(at + (index == 5 ? 33 : 32)));
}

// SCALE((Message::Prevote{target_hash, target_number}, round, set_id)).
Bytes grandpa_prevote(uint8_t hash_byte, uint32_t number, uint64_t round, uint64_t set_id) {
    Bytes out{0x00};
    out.insert(out.end(), 32, hash_byte);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(number >> (8 * i)));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(round >> (8 * i)));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(set_id >> (8 * i)));
    return out;
}

bool sr25519_valid(const Bytes& pub, const Bytes& message, const Bytes& sig) {
    return core::sr25519::verify_simple(core::SignatureBytes(sig),
                                        core::as_bytes(core::sr25519::kSubstrateContext), message,
                                        core::PublicKeyBytes(pub)) == core::Error::ok;
}

class PlainSigner : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        port_ = free_port();
        socket_ = (dir_->path() / "rpc.sock").string();
        // A short idle timeout so that the reconnect test needs no long sleep.
        write_file(dir_->path() / "signer.toml", "[limits]\nidle_timeout_ms = 400\n",
                   fs::perms::owner_read | fs::perms::owner_write);
        signer_ = std::make_unique<SignerProcess>(
            TS_CLI_PATH, dir_->path(),
            std::vector<std::string>{"--config", (dir_->path() / "signer.toml").string(),
                                     "--rpc-port", std::to_string(port_), "--unix-socket",
                                     socket_});
        Client c(http());
        keys_ = c.rotate_keys();
    }
    static void TearDownTestSuite() {
        signer_.reset();
        dir_.reset();
    }
    static Endpoint http() { return at("http://127.0.0.1:" + std::to_string(port_) + "/"); }
    static Endpoint unix_socket() { return at("unix:" + socket_); }

    static std::unique_ptr<TempDir> dir_;
    static std::unique_ptr<SignerProcess> signer_;
    static uint16_t port_;
    static std::string socket_;
    static Bytes keys_;
};
std::unique_ptr<TempDir> PlainSigner::dir_;
std::unique_ptr<SignerProcess> PlainSigner::signer_;
uint16_t PlainSigner::port_ = 0;
std::string PlainSigner::socket_;
Bytes PlainSigner::keys_;

TEST_F(PlainSigner, RotateKeysOverHttpAndUnixSocketSeeTheSameKeystore) {
    ASSERT_EQ(keys_.size(), kSessionKeysLength);
    Client tcp(http());
    Client unix_client(unix_socket());
    EXPECT_TRUE(tcp.has_session_keys(keys_));
    EXPECT_TRUE(unix_client.has_session_keys(keys_));
    EXPECT_TRUE(unix_client.has_key(key_at(keys_, 1), "babe"));
    EXPECT_FALSE(unix_client.has_key(Bytes(32, 0x42), "babe"));
    const auto babe = tcp.public_keys("babe", "sr25519");
    EXPECT_NE(std::find(babe.begin(), babe.end(), key_at(keys_, 1)), babe.end());
    const json h = unix_client.health();
    EXPECT_EQ(h.value("status", ""), "ok");
}

TEST_F(PlainSigner, SignsAndTheSignaturesVerify) {
    Client c(unix_socket());
    // authority discovery: opaque signing allowed by default.
    const Bytes audi = key_at(keys_, 4);
    const Bytes message = {'h', 'e', 'l', 'l', 'o'};
    const Bytes sig = c.sign("audi", "sr25519", audi, message);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(sr25519_valid(audi, message, sig));
    EXPECT_FALSE(sr25519_valid(audi, Bytes{'h', 'e', 'l', 'l', 'O'}, sig));

    // GRANDPA through the typed, protected path.
    const Bytes gran = key_at(keys_, 0);
    const Bytes vote = grandpa_prevote(0x11, 100, 7, 3);
    const TypedSignature typed = c.sign_grandpa_vote("gran", gran, vote);
    ASSERT_EQ(typed.signature.size(), 64u);
    EXPECT_EQ(core::ed25519::verify(core::SignatureBytes(typed.signature), vote,
                                    core::PublicKeyBytes(gran)),
              core::Error::ok);
    const auto hash = core::blake2b_256(vote);
    EXPECT_EQ(typed.payload_hash, Bytes(hash.begin(), hash.end()));
    // The identical vote again is fine.
    EXPECT_EQ(c.sign_grandpa_vote("gran", gran, vote).payload_hash, typed.payload_hash);
}

TEST_F(PlainSigner, ErrorsMapToRpcErrorWithCodeAndData) {
    Client c(http());
    try {
        c.call("author_insertKey", json::array({"babe", "//Alice", "0x00"}));
        FAIL() << "no error";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kMethodNotFound);
    }
    try {
        c.sign("audi", "sr25519", Bytes(31, 1), Bytes{1});
        FAIL() << "no error";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kInvalidParams);
        EXPECT_NE(std::string(e.what()).find("public"), std::string::npos) << e.what();
    }
    try {
        c.sign("audi", "sr25519", Bytes(32, 7), Bytes{1});
        FAIL() << "no error";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kKeyNotFound);
    }
    // A conflicting prevote for the same (set_id, round): -32010 with details.
    const Bytes gran = key_at(keys_, 0);
    c.sign_grandpa_vote("gran", gran, grandpa_prevote(0x21, 200, 9, 3));
    try {
        c.sign_grandpa_vote("gran", gran, grandpa_prevote(0x22, 200, 9, 3));
        FAIL() << "equivocation was signed";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kSlashingRefused);
        EXPECT_EQ(e.data().value("code", ""), "grandpa_prevote_equivocation") << e.data().dump();
        EXPECT_EQ(e.data().value("position", json()), json::array({3, 9})) << e.data().dump();
    }
    // Opaque bytes for a GRANDPA key: refused by the policy (-32011).
    try {
        c.sign("gran", "ed25519", gran, Bytes{1, 2, 3});
        FAIL() << "opaque GRANDPA signing allowed";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kPolicyRefused);
    }
    // The connection survives JSON-RPC errors.
    EXPECT_TRUE(c.has_session_keys(keys_));
}

TEST_F(PlainSigner, KeepAliveConnectionIsReusedAndReopenedAfterServerIdleClose) {
    Client c(http());
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(c.has_session_keys(keys_));
    // The server closes idle connections after 400 ms: the next call must
    // notice and reconnect once, transparently.
    std::this_thread::sleep_for(std::chrono::milliseconds(900));
    EXPECT_TRUE(c.has_session_keys(keys_));
    Client u(unix_socket());
    EXPECT_TRUE(u.has_session_keys(keys_));
    std::this_thread::sleep_for(std::chrono::milliseconds(900));
    EXPECT_TRUE(u.has_session_keys(keys_));
}

TEST_F(PlainSigner, CProgramSignsAndVerifies) {
    const fs::path log = dir_->path() / "c-client.log";
    const int rc = run_command({TS_C_CLIENT_TEST_PATH, "unix:" + socket_}, log);
    EXPECT_EQ(rc, 0) << read_file(log);
    const int rc_tcp = run_command({TS_C_CLIENT_TEST_PATH, http().url}, log);
    EXPECT_EQ(rc_tcp, 0) << read_file(log);
}

TEST(ClientTransport, BadUrlsAndFilesAreRefusedUpFront) {
    EXPECT_THROW(Client(at("ftp://127.0.0.1:1")), TransportError);
    EXPECT_THROW(Client(at("http://")), TransportError);
    EXPECT_THROW(Client(at("http://127.0.0.1:99999")), TransportError);
    EXPECT_THROW(Client(at("unix:")), TransportError);
    EXPECT_THROW(Client(at("http://user:pw@127.0.0.1:1")), TransportError);
    Endpoint e = at("https://127.0.0.1:1");
    e.ca_file = "/nonexistent/ca.pem";
    EXPECT_THROW(Client{e}, TransportError);
    Endpoint http_with_ca = at("http://127.0.0.1:1");
    http_with_ca.ca_file = "/etc/hostname";
    EXPECT_THROW(Client{http_with_ca}, TransportError);
}

TEST(ClientTransport, ConnectionRefusedAndTimeoutAreTransportErrors) {
    Client refused(at("http://127.0.0.1:" + std::to_string(free_port())));
    try {
        refused.call("rpc_methods");
        FAIL() << "no error";
    } catch (const TransportError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
    }
    // A listener that accepts and never answers.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    Endpoint e = at("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
    e.timeout = std::chrono::milliseconds(300);
    Client silent(e);
    const auto start = std::chrono::steady_clock::now();
    try {
        silent.call("rpc_methods");
        FAIL() << "no error";
    } catch (const TransportError& ex) {
        EXPECT_NE(std::string(ex.what()).find("timed out"), std::string::npos) << ex.what();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(250));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// ---- TLS: server certificate and host name checks, tokens, mutual TLS -------------

class TlsSigner : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        const fs::path d = dir_->path();
        const fs::path log = d / "openssl.log";
        auto ssl = [&](std::vector<std::string> args) {
            args.insert(args.begin(), "openssl");
            ASSERT_EQ(run_command(args, log), 0) << read_file(log);
        };
        auto pem = [&](const char* name) { return (d / name).string(); };
        // A CA, a server certificate for DNS:localhost only (so that
        // https://127.0.0.1 fails the host name check), a client certificate
        // (CN=node-a), and an unrelated CA.
        for (const char* ca : {"ca", "other-ca"}) {
            ssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", pem(ca) + ".key", "-out", pem(ca) + ".pem", "-days", "2", "-subj",
                 std::string("/CN=test ") + ca});
        }
        write_file(d / "server.ext", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
                   fs::perms::owner_read | fs::perms::owner_write);
        write_file(d / "client.ext", "extendedKeyUsage=clientAuth\n",
                   fs::perms::owner_read | fs::perms::owner_write);
        for (const auto& [name, cn] :
             {std::pair{"server", "localhost"}, std::pair{"client", "node-a"}}) {
            ssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 pem(name) + ".key", "-out", pem(name) + ".csr", "-subj",
                 std::string("/CN=") + cn});
            ssl({"x509", "-req", "-in", pem(name) + ".csr", "-CA", pem("ca") + ".pem", "-CAkey",
                 pem("ca") + ".key", "-CAcreateserial", "-days", "2", "-out", pem(name) + ".pem",
                 "-extfile", (d / (std::string(name) + ".ext")).string()});
        }
        token_ = "ops-token-0123456789abcdef";
        write_file(d / "tokens", "ops:" + token_ + "\n",
                   fs::perms::owner_read | fs::perms::owner_write);
        port_ = free_port();
        signer_ = std::make_unique<SignerProcess>(
            TS_CLI_PATH, d,
            std::vector<std::string>{"--rpc-port", std::to_string(port_), "--tls-cert",
                                     pem("server") + ".pem", "--tls-key", pem("server") + ".key",
                                     "--tls-ca", pem("ca") + ".pem", "--tokens-file",
                                     (d / "tokens").string(), "--require-auth-local"});
    }
    static void TearDownTestSuite() {
        signer_.reset();
        dir_.reset();
    }
    static Endpoint endpoint(const std::string& host = "localhost") {
        Endpoint e = at("https://" + host + ":" + std::to_string(port_));
        e.ca_file = (dir_->path() / "ca.pem").string();
        return e;
    }

    static std::unique_ptr<TempDir> dir_;
    static std::unique_ptr<SignerProcess> signer_;
    static uint16_t port_;
    static std::string token_;
};
std::unique_ptr<TempDir> TlsSigner::dir_;
std::unique_ptr<SignerProcess> TlsSigner::signer_;
uint16_t TlsSigner::port_ = 0;
std::string TlsSigner::token_;

TEST_F(TlsSigner, TokenOverHttps) {
    Endpoint e = endpoint();
    e.token = token_;
    Client c(e);
    const Bytes keys = c.rotate_keys();
    EXPECT_EQ(keys.size(), kSessionKeysLength);
    EXPECT_TRUE(c.has_session_keys(keys));  // same connection
}

TEST_F(TlsSigner, MutualTlsWithoutToken) {
    Endpoint e = endpoint();
    e.cert_file = (dir_->path() / "client.pem").string();
    e.key_file = (dir_->path() / "client.key").string();
    Client c(e);
    EXPECT_EQ(c.health().value("status", ""), "ok");
}

TEST_F(TlsSigner, MissingOrWrongCredentialsAreUnauthorized) {
    Client anonymous(endpoint());
    try {
        anonymous.health();
        FAIL() << "served without credentials";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kUnauthorized);
    }
    Endpoint wrong = endpoint();
    wrong.token = "not-the-token-0123456789";
    Client w(wrong);
    try {
        w.health();
        FAIL() << "served with a wrong token";
    } catch (const RpcError& e) {
        EXPECT_EQ(e.code(), rpc_code::kUnauthorized);
    }
}

TEST_F(TlsSigner, ServerCertificateAndHostNameAreVerified) {
    Endpoint untrusted = endpoint();
    untrusted.ca_file = (dir_->path() / "other-ca.pem").string();
    untrusted.token = token_;
    try {
        Client(untrusted).health();
        FAIL() << "accepted a certificate from an untrusted CA";
    } catch (const TransportError& e) {
        EXPECT_NE(std::string(e.what()).find("certificate verification failed"), std::string::npos)
            << e.what();
    }
    Endpoint by_ip = endpoint("127.0.0.1");  // the certificate names only localhost
    by_ip.token = token_;
    try {
        Client(by_ip).health();
        FAIL() << "accepted a certificate for another host name";
    } catch (const TransportError& e) {
        EXPECT_NE(std::string(e.what()).find("certificate verification failed"), std::string::npos)
            << e.what();
    }
    // The client key must match its certificate.
    Endpoint mismatched = endpoint();
    mismatched.cert_file = (dir_->path() / "client.pem").string();
    mismatched.key_file = (dir_->path() / "server.key").string();
    EXPECT_THROW(Client{mismatched}, TransportError);
}

TEST_F(TlsSigner, CApiOverHttpsWithToken) {
    const fs::path log = dir_->path() / "c-client.log";
    // The C program reads the token from the environment like the CLI does.
    ::setenv("TS_SIGNER_TOKEN", token_.c_str(), 1);
    const int rc = run_command({TS_C_CLIENT_TEST_PATH, endpoint().url, endpoint().ca_file}, log);
    ::unsetenv("TS_SIGNER_TOKEN");
    EXPECT_EQ(rc, 0) << read_file(log);
}

}  // namespace
