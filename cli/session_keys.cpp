#include "session_keys.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "commands.hpp"
#include "teesigner/core/bytes.hpp"

namespace teesigner::cli {
namespace {

// Kusama/Polkadot SessionKeys in runtime order (docs/protocol.md, author_rotateKeys).
struct SessionKeyField {
    const char* field;
    const char* key_type;
    const char* scheme;
    size_t length;
};
constexpr SessionKeyField kSessionKeys[] = {
    {"grandpa", "gran", "ed25519", 32},
    {"babe", "babe", "sr25519", 32},
    {"para_validator", "para", "sr25519", 32},
    {"para_assignment", "asgn", "sr25519", 32},
    {"authority_discovery", "audi", "sr25519", 32},
    {"beefy", "beef", "ecdsa", 33},
};
constexpr size_t kSessionKeysLength = 193;

struct Endpoint {
    std::string host;
    std::string port;
    std::string path;
};

// http://host[:port][/path]; IPv6 literals in brackets. No TLS: the signer's
// local listener is plain HTTP on loopback.
Endpoint parse_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0)
        throw CliError("--rpc must be an http:// URL (got '" + url + "')");
    std::string rest = url.substr(scheme.size());
    Endpoint e;
    const size_t slash = rest.find('/');
    e.path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string authority = rest.substr(0, slash);
    if (!authority.empty() && authority[0] == '[') {
        const size_t close = authority.find(']');
        if (close == std::string::npos) throw CliError("--rpc: unterminated IPv6 address");
        e.host = authority.substr(1, close - 1);
        const std::string tail = authority.substr(close + 1);
        e.port = tail.empty() ? "80" : tail.substr(1);
        if (!tail.empty() && tail[0] != ':')
            throw CliError("--rpc: bad authority '" + authority + "'");
    } else {
        const size_t colon = authority.rfind(':');
        e.host = authority.substr(0, colon);
        e.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
    }
    if (e.host.empty() || e.port.empty()) throw CliError("--rpc: no host or port in '" + url + "'");
    return e;
}

class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
};

int connect_to(const Endpoint& e) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &found);
    if (rc != 0) throw CliError("cannot resolve " + e.host + ": " + ::gai_strerror(rc));
    std::string last_error = "no address";
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        // Don't hang forever on a signer that accepts but never answers.
        timeval timeout{30, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            last_error = std::strerror(errno);
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0) throw CliError("cannot connect to " + e.host + ":" + e.port + ": " + last_error);
    return fd;
}

// One HTTP/1.1 POST with Connection: close; returns the response body.
std::string http_post(const std::string& url, const std::string& body) {
    const Endpoint e = parse_url(url);
    Socket sock(connect_to(e));
    const std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    std::string request = "POST " + e.path + " HTTP/1.1\r\nHost: " + host + ":" + e.port +
                          "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    for (size_t sent = 0; sent < request.size();) {
        const ssize_t n =
            ::send(sock.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw CliError(std::string("sending the request failed: ") + std::strerror(errno));
        sent += static_cast<size_t>(n);
    }
    std::string response;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(sock.fd(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw CliError(std::string("reading the answer failed: ") + std::strerror(errno));
        if (n == 0) break;
        response.append(buf, static_cast<size_t>(n));
        if (response.size() > (1u << 20)) throw CliError("the signer's answer is too large");
    }
    const size_t header_end = response.find("\r\n\r\n");
    if (response.compare(0, 5, "HTTP/") != 0 || header_end == std::string::npos)
        throw CliError("the signer did not answer with HTTP");
    const std::string status_line = response.substr(0, response.find("\r\n"));
    const size_t sp = status_line.find(' ');
    const std::string status = sp == std::string::npos ? "" : status_line.substr(sp + 1, 3);
    std::string headers = response.substr(0, header_end);
    for (char& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (headers.find("transfer-encoding: chunked") != std::string::npos)
        throw CliError("the signer answered with a chunked body, which this client does not read");
    std::string answer = response.substr(header_end + 4);
    if (status != "200") {
        // Auth and limit failures carry a JSON-RPC error body; show it.
        throw CliError("HTTP " + status_line.substr(sp == std::string::npos ? 0 : sp + 1) +
                       (answer.empty() ? "" : ": " + answer));
    }
    return answer;
}

}  // namespace

std::pair<uint8_t, uint8_t> set_keys_call_index(const std::string& network) {
    // Session is pallet 8 on Kusama and 9 on Polkadot; set_keys is its call 0.
    // Read from the runtime metadata shipped in @polkadot/types-support 16.5.6
    // (metadata v14; Kusama spec_version 1003000, Polkadot spec_version 1002005).
    if (network == "kusama") return {8, 0};
    if (network == "polkadot") return {9, 0};
    throw CliError("--network must be kusama or polkadot (got '" + network + "')");
}

std::vector<uint8_t> set_keys_call_data(const std::string& network,
                                        const std::vector<uint8_t>& session_keys) {
    const auto [pallet, call] = set_keys_call_index(network);
    std::vector<uint8_t> out;
    out.reserve(2 + session_keys.size() + 1);
    out.push_back(pallet);
    out.push_back(call);
    // keys: T::Keys is a struct of fixed-size public keys: its SCALE encoding is
    // the concatenation author_rotateKeys returns, with no length prefix.
    out.insert(out.end(), session_keys.begin(), session_keys.end());
    out.push_back(0x00);  // proof: Vec<u8>, compact length 0
    return out;
}

int run_session_keys(const SessionKeysOptions& options) {
    if (options.output_type != "text" && options.output_type != "json")
        throw CliError("--output-type must be text or json");
    const auto [pallet, call] = set_keys_call_index(options.network);

    const nlohmann::json request = {{"jsonrpc", "2.0"},
                                    {"id", 1},
                                    {"method", "author_rotateKeys"},
                                    {"params", nlohmann::json::array()}};
    const std::string body = http_post(options.rpc, request.dump());
    nlohmann::json answer;
    try {
        answer = nlohmann::json::parse(body);
    } catch (const std::exception&) {
        throw CliError("the signer's answer is not JSON");
    }
    if (!answer.is_object()) throw CliError("the signer's answer is not a JSON-RPC response");
    if (answer.contains("error")) {
        const auto& err = answer["error"];
        throw CliError("author_rotateKeys failed: " + err.value("message", std::string("?")) +
                       " (" + std::to_string(err.value("code", 0)) + ")");
    }
    if (!answer.contains("result") || !answer["result"].is_string())
        throw CliError("author_rotateKeys answered without a hex result");
    const std::string hex = answer["result"].get<std::string>();
    auto keys = core::from_hex(hex);
    if (!keys.ok()) throw CliError("author_rotateKeys answered malformed hex");
    if (keys.value().size() != kSessionKeysLength)
        throw CliError("author_rotateKeys answered " + std::to_string(keys.value().size()) +
                       " bytes, expected " + std::to_string(kSessionKeysLength) +
                       " (Kusama/Polkadot SessionKeys)");
    const std::vector<uint8_t>& blob = keys.value();
    const std::vector<uint8_t> call_data = set_keys_call_data(options.network, blob);

    nlohmann::json listed = nlohmann::json::array();
    size_t at = 0;
    for (const auto& k : kSessionKeys) {
        const core::ByteSpan pub(blob.data() + at, k.length);
        listed.push_back({{"field", k.field},
                          {"keyType", k.key_type},
                          {"scheme", k.scheme},
                          {"public", core::to_hex(pub)}});
        at += k.length;
    }

    if (options.output_type == "json") {
        const nlohmann::json out = {{"network", options.network},
                                    {"sessionKeys", core::to_hex(blob)},
                                    {"keys", listed},
                                    {"callIndex", {pallet, call}},
                                    {"setKeysCallData", core::to_hex(call_data)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("Network:            %s\n", options.network.c_str());
    std::printf("Session keys:       %s\n", core::to_hex(blob).c_str());
    for (const auto& k : listed) {
        std::printf("  %-20s %s %-8s %s\n", k["field"].get<std::string>().c_str(),
                    k["keyType"].get<std::string>().c_str(), k["scheme"].get<std::string>().c_str(),
                    k["public"].get<std::string>().c_str());
    }
    std::printf("session.setKeys:    call index (%u, %u), proof 0x\n", unsigned{pallet},
                unsigned{call});
    std::printf("Call data:          %s\n", core::to_hex(call_data).c_str());
    return 0;
}

}  // namespace teesigner::cli
