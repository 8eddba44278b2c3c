// JSON-RPC 2.0 request handling, transport independent. Follows the
// specification to the letter: -32700 parse error, -32600 invalid request
// (wrong version, bad id, empty batch, non-object member), -32601 unknown
// method, -32602 invalid params; notifications get no response; a batch gets
// an array of the responses to its non-notification members.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace teesigner::signerd {

using json = nlohmann::json;

namespace rpc_error {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
// Server-defined errors (-32000 .. -32099).
constexpr int kUnauthorized = -32001;       // method not allowed for this client identity
constexpr int kRequestTooLarge = -32002;    // body or batch over the configured limit
constexpr int kKeyNotFound = -32003;        // no such key in the TEE
constexpr int kTeeUnavailable = -32004;     // TEE backend failed or restarting
constexpr int kNotSupported = -32005;       // the TEE/TA build does not offer this operation
constexpr int kKeyLimit = -32007;           // the TEE holds the maximum number of keys
constexpr int kSlashingRefused = -32010;    // signing would be slashable
constexpr int kPolicyRefused = -32011;      // refused by key-type policy (e.g. opaque signing)
}  // namespace rpc_error

/// An error a handler returns; becomes the "error" member of the response.
struct RpcError {
    int code;
    std::string message;
    std::optional<json> data;
};

/// Who is calling: used for the per-method allow-list and for logs/metrics.
struct ClientContext {
    std::string identity = "local";  // token name, certificate subject, or "local"
    std::string transport;           // "http", "https", "ws", "wss", "unix+http", "unix+ws"
    std::string peer;                // remote "ip:port" or "unix" (logs only)
};

/// A handler gets the params (array, object or null when absent) and returns a
/// result or an RpcError. Handlers validate their params and answer
/// kInvalidParams with a message naming the problem.
struct HandlerResult {
    std::optional<json> result;
    std::optional<RpcError> error;
    static HandlerResult ok(json value) { return {std::move(value), std::nullopt}; }
    static HandlerResult fail(int code, std::string message, std::optional<json> data = {}) {
        return {std::nullopt, RpcError{code, std::move(message), std::move(data)}};
    }
};
using Handler = std::function<HandlerResult(const json& params, const ClientContext& client)>;

/// Called once per dispatched call (after it completes) for metrics and audit.
using CallObserver =
    std::function<void(const std::string& method, const ClientContext& client, int error_code,
                       double seconds)>;

/// Decides whether a client may call a method (per-identity allow-list).
using AccessPolicy = std::function<bool(const std::string& method, const ClientContext& client)>;

struct RpcLimits {
    size_t max_body_bytes = 1 << 20;  // 1 MiB
    size_t max_batch_size = 256;
    int max_depth = 32;  // JSON nesting depth
};

class RpcDispatcher {
public:
    explicit RpcDispatcher(RpcLimits limits = {}) : limits_(limits) {}

    void add(const std::string& method, Handler handler);
    void set_access_policy(AccessPolicy policy) { access_ = std::move(policy); }
    void set_observer(CallObserver observer) { observer_ = std::move(observer); }

    /// Names of all registered methods, sorted (for rpc_methods).
    std::vector<std::string> methods() const;
    const RpcLimits& limits() const { return limits_; }

    /// Handle one request body. Returns the serialized response, or nothing when
    /// the body held only notifications.
    std::optional<std::string> handle(std::string_view body, const ClientContext& client) const;

    /// Build an error response object (id may be null).
    static json error_response(const json& id, int code, std::string_view message,
                               const std::optional<json>& data = std::nullopt);

private:
    std::optional<json> handle_single(const json& request, const ClientContext& client) const;

    RpcLimits limits_;
    std::map<std::string, Handler> handlers_;
    AccessPolicy access_;
    CallObserver observer_;
};

/// Parse JSON with a nesting-depth limit. Returns nullopt on any parse error
/// or when the limit is exceeded (`too_deep` tells which).
std::optional<json> parse_json_limited(std::string_view text, int max_depth, bool* too_deep);

}  // namespace teesigner::signerd
