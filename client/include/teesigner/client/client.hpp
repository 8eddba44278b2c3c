// C++ client for the tee-signer JSON-RPC service (docs/protocol.md): HTTP/1.1
// POST with keep-alive over TCP, TLS (server certificate and host name
// verified; optional client certificate for mutual TLS) or a Unix socket.
// Generic calls with `Client::call`, typed calls that take and return bytes
// with the convenience methods below.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace teesigner::client {

struct Endpoint {
    std::string url;  // "http://host:port", "https://host:port", "unix:/path/to/socket"
    std::optional<std::string> token;          // bearer token (Authorization: Bearer ...)
    std::string ca_file;                       // https: trust anchor (PEM); empty = system default
    std::string cert_file, key_file;           // https: client certificate for mTLS (optional)
    std::chrono::milliseconds timeout{30000};  // per call: connect, send and receive
};

/// The signer could not be reached or did not answer with a JSON-RPC response
/// (connection refused, timeout, TLS failure, malformed answer, HTTP error
/// without a JSON-RPC body).
class TransportError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A JSON-RPC error response (also for HTTP 401/413/429 answers that carry one).
class RpcError : public std::runtime_error {
  public:
    RpcError(int code, std::string message, nlohmann::json data);
    int code() const noexcept { return code_; }
    const nlohmann::json& data() const noexcept { return data_; }
    /// The server's message, without the " (code)" suffix what() carries.
    const std::string& rpc_message() const noexcept { return message_; }

  private:
    int code_;
    std::string message_;
    nlohmann::json data_;
};

/// JSON-RPC error codes (docs/protocol.md §3).
namespace rpc_code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kUnauthorized = -32001;
inline constexpr int kRequestTooLarge = -32002;
inline constexpr int kKeyNotFound = -32003;
inline constexpr int kTeeUnavailable = -32004;
inline constexpr int kNotSupported = -32005;
inline constexpr int kRateLimited = -32006;  // per-client request rate limit (HTTP 429)
inline constexpr int kSlashingRefused = -32010;
inline constexpr int kPolicyRefused = -32011;
}  // namespace rpc_code

using Bytes = std::vector<uint8_t>;

/// A Merlin transcript as keystore_sr25519VrfSign takes it.
struct VrfTranscript {
    Bytes label;
    std::vector<std::pair<Bytes, Bytes>> items;  // (label, data), in order
};

struct VrfSignature {
    Bytes pre_output;  // 32 bytes
    Bytes proof;       // 64 bytes
    Bytes signature;   // SCALE(VrfSignature) = pre_output ++ proof
};

/// Answer of the typed signer_sign* methods.
struct TypedSignature {
    Bytes signature;
    Bytes payload_hash;  // what the protection record keeps (32 bytes)
};

/// "0x" + lower-case hex.
std::string to_hex(const uint8_t* data, size_t size);
inline std::string to_hex(const Bytes& b) {
    return to_hex(b.data(), b.size());
}
/// Parses "0x"-prefixed hex (either case); throws std::invalid_argument.
Bytes from_hex(std::string_view hex);

class Client {  // one persistent (keep-alive) connection; not thread-safe: one Client per thread
  public:
    /// Parses the URL and loads TLS files (throws TransportError on a bad URL
    /// or unreadable file); connects lazily on the first call.
    explicit Client(Endpoint endpoint);
    ~Client();
    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Send one request, return "result"; throws RpcError / TransportError. Reconnects once if the
    /// server closed an idle keep-alive connection.
    nlohmann::json call(std::string_view method, nlohmann::json params = nlohmann::json::array());

    /// Drop the connection (the next call reconnects).
    void close();

    // ---- Typed methods (docs/protocol.md §4) ---------------------------------
    Bytes rotate_keys();                                               // author_rotateKeys
    bool has_session_keys(const Bytes& session_keys);                  // author_hasSessionKeys
    bool has_key(const Bytes& public_key, std::string_view key_type);  // author_hasKey
    std::vector<Bytes> public_keys(std::string_view key_type, std::string_view scheme);
    Bytes generate_new(std::string_view key_type, std::string_view scheme,
                       std::optional<std::string> seed = std::nullopt);
    Bytes sign(std::string_view key_type, std::string_view scheme, const Bytes& public_key,
               const Bytes& message);  // keystore_sign
    VrfSignature sr25519_vrf_sign(std::string_view key_type, const Bytes& public_key,
                                  const VrfTranscript& transcript,
                                  const std::optional<VrfTranscript>& extra = std::nullopt);
    Bytes ecdsa_sign_prehashed(std::string_view key_type, const Bytes& public_key,
                               const Bytes& prehash);
    TypedSignature sign_grandpa_vote(std::string_view key_type, const Bytes& public_key,
                                     const Bytes& payload);
    TypedSignature sign_babe_header(std::string_view key_type, const Bytes& public_key,
                                    const Bytes& header);
    TypedSignature sign_beefy_commitment(std::string_view key_type, const Bytes& public_key,
                                         const Bytes& commitment);
    TypedSignature sign_para_statement(std::string_view key_type, const Bytes& public_key,
                                       const Bytes& payload);
    nlohmann::json attest(const Bytes& nonce);  // signer_attest: the evidence object
    nlohmann::json health();                    // signer_health

  private:
    TypedSignature sign_typed(const char* method, std::string_view key_type,
                              const Bytes& public_key, const Bytes& payload);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace teesigner::client
