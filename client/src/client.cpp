#include "teesigner/client/client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/un.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <variant>

namespace teesigner::client {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using local = boost::asio::local::stream_protocol;
using json = nlohmann::json;

RpcError::RpcError(int code, std::string message, json data)
    : std::runtime_error(message + " (" + std::to_string(code) + ")"),
      code_(code),
      message_(std::move(message)),
      data_(std::move(data)) {}

std::string to_hex(const uint8_t* data, size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "0x";
    out.reserve(2 + 2 * size);
    for (size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 15]);
    }
    return out;
}

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

Bytes from_hex(std::string_view hex) {
    if (hex.size() < 2 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X'))
        throw std::invalid_argument("hex string must start with 0x");
    hex.remove_prefix(2);
    if (hex.size() % 2 != 0) throw std::invalid_argument("hex string has an odd length");
    Bytes out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit(hex[2 * i]);
        const int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) throw std::invalid_argument("hex string has a non-hex character");
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return out;
}

namespace {

constexpr size_t kMaxResponseBytes = 64u << 20;

struct Target {
    enum class Kind { http, https, unix_socket } kind = Kind::http;
    std::string host;  // without IPv6 brackets
    std::string port;
    std::string path = "/";
    std::string socket_path;
    std::string host_header;
};

Target parse_url(const std::string& url) {
    Target t;
    if (url.rfind("unix:", 0) == 0) {
        t.kind = Target::Kind::unix_socket;
        t.socket_path = url.substr(5);
        // Also accept unix:///path.
        if (t.socket_path.rfind("//", 0) == 0) t.socket_path.erase(0, 2);
        if (t.socket_path.empty()) throw TransportError("unix: URL without a socket path");
        if (t.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
            throw TransportError("unix socket path too long: " + t.socket_path);
        t.host_header = "localhost";
        return t;
    }
    std::string rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
        t.port = "80";
    } else if (url.rfind("https://", 0) == 0) {
        t.kind = Target::Kind::https;
        rest = url.substr(8);
        t.port = "443";
    } else {
        throw TransportError("signer URL must start with http://, https:// or unix: (got '" + url +
                             "')");
    }
    const size_t slash = rest.find('/');
    if (slash != std::string::npos) t.path = rest.substr(slash);
    const std::string authority = rest.substr(0, slash);
    if (authority.find('@') != std::string::npos)
        throw TransportError("signer URL must not carry credentials; use a token file");
    std::string port;
    if (!authority.empty() && authority[0] == '[') {
        const size_t close = authority.find(']');
        if (close == std::string::npos)
            throw TransportError("unterminated IPv6 address in '" + url + "'");
        t.host = authority.substr(1, close - 1);
        const std::string tail = authority.substr(close + 1);
        if (!tail.empty()) {
            if (tail[0] != ':') throw TransportError("bad host:port in '" + url + "'");
            port = tail.substr(1);
        }
    } else {
        const size_t colon = authority.rfind(':');
        t.host = authority.substr(0, colon);
        if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    if (t.host.empty()) throw TransportError("no host in '" + url + "'");
    if (!port.empty()) {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
            std::stoul(port) == 0 || std::stoul(port) > 65535)
            throw TransportError("bad port in '" + url + "'");
        t.port = port;
    }
    const bool v6 = t.host.find(':') != std::string::npos;
    t.host_header = (v6 ? "[" + t.host + "]" : t.host) + ":" + t.port;
    return t;
}

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    if (e == 0) return "unknown error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

using TlsSocket = ssl::stream<tcp::socket>;
using Connection =
    std::variant<std::monostate, tcp::socket, std::unique_ptr<TlsSocket>, local::socket>;

}  // namespace

struct Client::Impl {
    Endpoint endpoint;
    Target target;
    net::io_context ioc;
    std::unique_ptr<ssl::context> tls;
    Connection conn;
    beast::flat_buffer buffer;
    uint64_t next_id = 1;
    bool reused = false;  // the connection already carried a request

    explicit Impl(Endpoint e) : endpoint(std::move(e)), target(parse_url(endpoint.url)) {
        if (endpoint.timeout.count() <= 0) throw TransportError("timeout must be positive");
        if (endpoint.cert_file.empty() != endpoint.key_file.empty())
            throw TransportError("a client certificate needs both a certificate and a key file");
        if (target.kind != Target::Kind::https &&
            (!endpoint.ca_file.empty() || !endpoint.cert_file.empty()))
            throw TransportError("CA and client certificate files need an https:// URL");
        if (endpoint.token) {
            for (char c : *endpoint.token) {
                if (c <= ' ' || c > '~')
                    throw TransportError("the token must be printable ASCII without spaces");
            }
        }
        if (target.kind == Target::Kind::https) make_tls();
    }

    void make_tls() {
        tls = std::make_unique<ssl::context>(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
        tls->set_verify_mode(ssl::verify_peer);
        if (endpoint.ca_file.empty()) {
            if (SSL_CTX_set_default_verify_paths(tls->native_handle()) != 1)
                throw TransportError("cannot load the system CA certificates: " + openssl_error());
        } else if (SSL_CTX_load_verify_locations(tls->native_handle(), endpoint.ca_file.c_str(),
                                                 nullptr) != 1) {
            throw TransportError("cannot load CA file " + endpoint.ca_file + ": " +
                                 openssl_error());
        }
        if (!endpoint.cert_file.empty()) {
            if (SSL_CTX_use_certificate_chain_file(tls->native_handle(),
                                                   endpoint.cert_file.c_str()) != 1)
                throw TransportError("cannot load client certificate " + endpoint.cert_file + ": " +
                                     openssl_error());
            if (SSL_CTX_use_PrivateKey_file(tls->native_handle(), endpoint.key_file.c_str(),
                                            SSL_FILETYPE_PEM) != 1)
                throw TransportError("cannot load client key " + endpoint.key_file + ": " +
                                     openssl_error());
            if (SSL_CTX_check_private_key(tls->native_handle()) != 1)
                throw TransportError("client key " + endpoint.key_file +
                                     " does not match certificate " + endpoint.cert_file);
        }
    }

    // Runs the io_context until `done` or the deadline; on the deadline the
    // pending operation is aborted (cancel), the connection dropped and the
    // call fails with a timeout.
    void run_until(const bool& done, std::chrono::steady_clock::time_point deadline,
                   const std::function<void()>& cancel) {
        ioc.restart();
        while (!done) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) {
                cancel();
                ioc.restart();
                ioc.run();  // the aborted handler still refers to our locals
                drop();
                throw TransportError("timed out after " + std::to_string(endpoint.timeout.count()) +
                                     " ms talking to " + endpoint.url);
            }
            ioc.run_one_for(deadline - now);
            if (ioc.stopped() && !done) {
                drop();
                throw TransportError("internal: I/O finished without completing");
            }
        }
    }

    void drop() {
        beast::error_code ec;
        if (auto* s = std::get_if<tcp::socket>(&conn)) s->close(ec);
        if (auto* s = std::get_if<std::unique_ptr<TlsSocket>>(&conn))
            (*s)->lowest_layer().close(ec);
        if (auto* s = std::get_if<local::socket>(&conn)) s->close(ec);
        conn = std::monostate{};
        buffer.clear();
        reused = false;
    }

    void close_socket() {
        beast::error_code ec;
        if (auto* s = std::get_if<tcp::socket>(&conn)) s->close(ec);
        if (auto* s = std::get_if<std::unique_ptr<TlsSocket>>(&conn))
            (*s)->lowest_layer().close(ec);
        if (auto* s = std::get_if<local::socket>(&conn)) s->close(ec);
    }

    tcp::socket connect_tcp(std::chrono::steady_clock::time_point deadline) {
        tcp::resolver resolver(ioc);
        bool done = false;
        beast::error_code error;
        tcp::resolver::results_type results;
        resolver.async_resolve(target.host, target.port,
                               [&](beast::error_code ec, tcp::resolver::results_type r) {
                                   error = ec;
                                   results = std::move(r);
                                   done = true;
                               });
        run_until(done, deadline, [&] { resolver.cancel(); });
        if (error) throw TransportError("cannot resolve " + target.host + ": " + error.message());
        tcp::socket socket(ioc);
        done = false;
        net::async_connect(socket, results, [&](beast::error_code ec, const tcp::endpoint&) {
            error = ec;
            done = true;
        });
        run_until(done, deadline, [&] {
            beast::error_code ignored;
            socket.close(ignored);
        });
        if (error)
            throw TransportError("cannot connect to " + target.host_header + ": " +
                                 error.message());
        socket.set_option(tcp::no_delay(true), error);
        return socket;
    }

    void connect(std::chrono::steady_clock::time_point deadline) {
        buffer.clear();
        reused = false;
        switch (target.kind) {
            case Target::Kind::http:
                conn = connect_tcp(deadline);
                return;
            case Target::Kind::unix_socket: {
                local::socket socket(ioc);
                bool done = false;
                beast::error_code error;
                socket.async_connect(local::endpoint(target.socket_path),
                                     [&](beast::error_code ec) {
                                         error = ec;
                                         done = true;
                                     });
                run_until(done, deadline, [&] {
                    beast::error_code ignored;
                    socket.close(ignored);
                });
                if (error)
                    throw TransportError("cannot connect to unix socket " + target.socket_path +
                                         ": " + error.message());
                conn = std::move(socket);
                return;
            }
            case Target::Kind::https: {
                auto stream = std::make_unique<TlsSocket>(connect_tcp(deadline), *tls);
                SSL* ssl = stream->native_handle();
                beast::error_code error;
                net::ip::make_address(target.host, error);
                const bool is_ip = !error;
                // Verify the certificate against the host name or IP address
                // we connected to; SNI only for names.
                X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
                X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str())
                                     : X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), 0);
                if (ok != 1) throw TransportError("cannot set the TLS host name to verify");
                if (!is_ip && SSL_set_tlsext_host_name(ssl, target.host.c_str()) != 1)
                    throw TransportError("cannot set the TLS server name");
                bool done = false;
                stream->async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
                    error = ec;
                    done = true;
                });
                run_until(done, deadline, [&] {
                    beast::error_code ignored;
                    stream->lowest_layer().close(ignored);
                });
                if (error) {
                    std::string detail = error.message();
                    const long verify = SSL_get_verify_result(ssl);
                    if (verify != X509_V_OK)
                        detail = std::string("certificate verification failed: ") +
                                 X509_verify_cert_error_string(verify);
                    throw TransportError("TLS handshake with " + target.host_header +
                                         " failed: " + detail);
                }
                conn = std::move(stream);
                return;
            }
        }
    }

    template <class Stream>
    void exchange_on(Stream& stream, http::request<http::string_body>& req,
                     http::response_parser<http::string_body>& parser, beast::error_code& error,
                     std::chrono::steady_clock::time_point deadline) {
        bool done = false;
        http::async_write(stream, req, [&](beast::error_code ec, size_t) {
            error = ec;
            done = true;
        });
        run_until(done, deadline, [this] { close_socket(); });
        if (error) return;
        done = false;
        http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
            error = ec;
            done = true;
        });
        run_until(done, deadline, [this] { close_socket(); });
    }

    // One HTTP exchange. Returns false (and drops the connection) when a
    // reused connection turned out to be closed by the server before it
    // answered anything, so the caller may retry once on a fresh one.
    bool exchange(http::request<http::string_body>& req, http::response<http::string_body>& res,
                  std::chrono::steady_clock::time_point deadline) {
        if (std::holds_alternative<std::monostate>(conn)) connect(deadline);
        const bool was_reused = reused;
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxResponseBytes);
        beast::error_code error;
        std::visit(
            [&](auto& c) {
                using T = std::decay_t<decltype(c)>;
                if constexpr (std::is_same_v<T, std::unique_ptr<TlsSocket>>)
                    exchange_on(*c, req, parser, error, deadline);
                else if constexpr (!std::is_same_v<T, std::monostate>)
                    exchange_on(c, req, parser, error, deadline);
            },
            conn);
        if (error) {
            const bool closed_by_peer =
                error == http::error::end_of_stream || error == net::error::eof ||
                error == net::error::connection_reset || error == net::error::broken_pipe ||
                error == net::ssl::error::stream_truncated;
            const bool nothing_received = !parser.got_some();
            drop();
            if (was_reused && closed_by_peer && nothing_received) return false;
            throw TransportError("HTTP exchange with " + endpoint.url +
                                 " failed: " + error.message());
        }
        res = parser.release();
        reused = true;
        if (!res.keep_alive()) drop();
        return true;
    }

    json call(std::string_view method, json params) {
        if (!params.is_array() && !params.is_object())
            throw std::invalid_argument("JSON-RPC params must be an array or an object");
        const uint64_t id = next_id++;
        const json request = {
            {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
        http::request<http::string_body> req(http::verb::post, target.path, 11);
        req.set(http::field::host, target.host_header);
        req.set(http::field::user_agent, "tee-signer-client");
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "application/json");
        if (endpoint.token) req.set(http::field::authorization, "Bearer " + *endpoint.token);
        req.keep_alive(true);
        req.body() = request.dump();
        req.prepare_payload();

        const auto deadline = std::chrono::steady_clock::now() + endpoint.timeout;
        http::response<http::string_body> res;
        if (!exchange(req, res, deadline) && !exchange(req, res, deadline))
            throw TransportError("the signer at " + endpoint.url + " closed the connection");
        return parse_response(res, id);
    }

    json parse_response(const http::response<http::string_body>& res, uint64_t id) const {
        const unsigned status = res.result_int();
        json answer = json::parse(res.body(), nullptr, false);
        // Non-200 answers (401, 413, 429, ...) carry a JSON-RPC error body
        // with id null: report them as that error.
        if (status != 200) {
            if (answer.is_object() && answer.contains("error") && answer["error"].is_object())
                throw rpc_error(answer["error"]);
            throw TransportError("HTTP " + std::to_string(status) + " from " + endpoint.url);
        }
        if (answer.is_discarded() || !answer.is_object())
            throw TransportError("the signer's answer is not a JSON-RPC response object");
        if (answer.value("jsonrpc", json()) != "2.0")
            throw TransportError("the signer's answer lacks \"jsonrpc\": \"2.0\"");
        if (answer.contains("error")) {
            if (!answer["error"].is_object())
                throw TransportError("the signer's error member is not an object");
            throw rpc_error(answer["error"]);
        }
        if (answer.value("id", json()) != json(id))
            throw TransportError("the signer answered a different request id");
        if (!answer.contains("result")) throw TransportError("the signer's answer has no result");
        return std::move(answer["result"]);
    }

    static RpcError rpc_error(const json& error) {
        const json& code = error.contains("code") ? error["code"] : json();
        const json& message = error.contains("message") ? error["message"] : json();
        if (!code.is_number_integer() || !message.is_string())
            throw TransportError("the signer's error lacks an integer code or a message");
        return RpcError(code.get<int>(), message.get<std::string>(),
                        error.contains("data") ? error["data"] : json());
    }
};

Client::Client(Endpoint endpoint) : impl_(std::make_unique<Impl>(std::move(endpoint))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

json Client::call(std::string_view method, json params) {
    return impl_->call(method, std::move(params));
}

void Client::close() {
    impl_->drop();
}

// ---- Typed methods ----------------------------------------------------------------

namespace {

Bytes bytes_result(const json& result, const char* what) {
    if (!result.is_string())
        throw TransportError(std::string(what) + ": expected a hex string in the answer");
    try {
        return from_hex(result.get<std::string>());
    } catch (const std::invalid_argument& e) {
        throw TransportError(std::string(what) + ": " + e.what());
    }
}

bool bool_result(const json& result, const char* what) {
    if (!result.is_boolean())
        throw TransportError(std::string(what) + ": expected a boolean in the answer");
    return result.get<bool>();
}

TypedSignature typed_result(const json& result, const char* what) {
    if (!result.is_object() || !result.contains("signature") || !result.contains("payloadHash"))
        throw TransportError(std::string(what) + ": expected {signature, payloadHash}");
    return {bytes_result(result["signature"], what), bytes_result(result["payloadHash"], what)};
}

json transcript_json(const VrfTranscript& t) {
    json items = json::array();
    for (const auto& [label, data] : t.items)
        items.push_back(json::array({to_hex(label), to_hex(data)}));
    return {{"label", to_hex(t.label)}, {"items", std::move(items)}};
}

}  // namespace

Bytes Client::rotate_keys() {
    return bytes_result(call("author_rotateKeys"), "author_rotateKeys");
}

bool Client::has_session_keys(const Bytes& session_keys) {
    return bool_result(call("author_hasSessionKeys", json::array({to_hex(session_keys)})),
                       "author_hasSessionKeys");
}

bool Client::has_key(const Bytes& public_key, std::string_view key_type) {
    return bool_result(call("author_hasKey", json::array({to_hex(public_key), key_type})),
                       "author_hasKey");
}

std::vector<Bytes> Client::public_keys(std::string_view key_type, std::string_view scheme) {
    const json result = call("keystore_publicKeys", json::array({key_type, scheme}));
    if (!result.is_array()) throw TransportError("keystore_publicKeys: expected an array");
    std::vector<Bytes> out;
    for (const auto& k : result) out.push_back(bytes_result(k, "keystore_publicKeys"));
    return out;
}

Bytes Client::generate_new(std::string_view key_type, std::string_view scheme,
                           std::optional<std::string> seed) {
    json params = json::array({key_type, scheme});
    if (seed) params.push_back(std::move(*seed));
    return bytes_result(call("keystore_generateNew", std::move(params)), "keystore_generateNew");
}

Bytes Client::sign(std::string_view key_type, std::string_view scheme, const Bytes& public_key,
                   const Bytes& message) {
    return bytes_result(
        call("keystore_sign", json::array({key_type, scheme, to_hex(public_key), to_hex(message)})),
        "keystore_sign");
}

VrfSignature Client::sr25519_vrf_sign(std::string_view key_type, const Bytes& public_key,
                                      const VrfTranscript& transcript,
                                      const std::optional<VrfTranscript>& extra) {
    json t = transcript_json(transcript);
    t["extra"] = extra ? transcript_json(*extra) : json();
    const json result =
        call("keystore_sr25519VrfSign", json::array({key_type, to_hex(public_key), t}));
    if (!result.is_object() || !result.contains("preOutput") || !result.contains("proof") ||
        !result.contains("signature"))
        throw TransportError("keystore_sr25519VrfSign: expected {preOutput, proof, signature}");
    return {bytes_result(result["preOutput"], "keystore_sr25519VrfSign"),
            bytes_result(result["proof"], "keystore_sr25519VrfSign"),
            bytes_result(result["signature"], "keystore_sr25519VrfSign")};
}

Bytes Client::ecdsa_sign_prehashed(std::string_view key_type, const Bytes& public_key,
                                   const Bytes& prehash) {
    return bytes_result(call("keystore_ecdsaSignPrehashed",
                             json::array({key_type, to_hex(public_key), to_hex(prehash)})),
                        "keystore_ecdsaSignPrehashed");
}

// The four typed signing methods share their parameters and answer.
TypedSignature Client::sign_typed(const char* method, std::string_view key_type,
                                  const Bytes& public_key, const Bytes& payload) {
    return typed_result(call(method, json::array({key_type, to_hex(public_key), to_hex(payload)})),
                        method);
}

TypedSignature Client::sign_grandpa_vote(std::string_view key_type, const Bytes& public_key,
                                         const Bytes& payload) {
    return sign_typed("signer_signGrandpaVote", key_type, public_key, payload);
}

TypedSignature Client::sign_babe_header(std::string_view key_type, const Bytes& public_key,
                                        const Bytes& header) {
    return sign_typed("signer_signBabeHeader", key_type, public_key, header);
}

TypedSignature Client::sign_beefy_commitment(std::string_view key_type, const Bytes& public_key,
                                             const Bytes& commitment) {
    return sign_typed("signer_signBeefyCommitment", key_type, public_key, commitment);
}

TypedSignature Client::sign_para_statement(std::string_view key_type, const Bytes& public_key,
                                           const Bytes& payload) {
    return sign_typed("signer_signParaStatement", key_type, public_key, payload);
}

json Client::attest(const Bytes& nonce) {
    json result = call("signer_attest", json::array({to_hex(nonce)}));
    if (!result.is_object()) throw TransportError("signer_attest: expected an object");
    return result;
}

json Client::health() {
    json result = call("signer_health");
    if (!result.is_object()) throw TransportError("signer_health: expected an object");
    return result;
}

}  // namespace teesigner::client
