// JSON-RPC 2.0 request handling, transport independent. Follows the
// specification to the letter: -32700 parse error, -32600 invalid request
// (wrong version, bad id, empty batch, non-object member), -32601 unknown
// method, -32602 invalid params; notifications get no response; a batch gets
// an array of the responses to its non-notification members.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teesigner::signerd {

using json = nlohmann::json;

namespace rpc_error {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
// Server-defined errors (-32000 .. -32099).
constexpr int kUnauthorized = -32001;     // method not allowed for this client identity
constexpr int kRequestTooLarge = -32002;  // body or batch over the configured limit
constexpr int kKeyNotFound = -32003;      // no such key in the TEE
constexpr int kTeeUnavailable = -32004;   // TEE backend failed or restarting
constexpr int kNotSupported = -32005;     // the TEE/TA build does not offer this operation
constexpr int kKeyLimit = -32007;         // the TEE holds the maximum number of keys
constexpr int kSlashingRefused = -32010;  // signing would be slashable
constexpr int kPolicyRefused = -32011;    // refused by key-type policy (e.g. opaque signing)
constexpr int kRetireRefused = -32012;    // signer_retireKeys: a key is still (possibly) in use
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

/// Completes an asynchronous call: called exactly once, from any thread.
using HandlerDone = std::function<void(HandlerResult)>;
/// The non-blocking form of a method (the signing methods): it validates the
/// params at once and returns true when it will call `done`, or false,
/// without calling it, when this request needs the blocking handler (which
/// then runs on a worker thread). It must not block: it runs on an I/O thread.
using AsyncHandler =
    std::function<bool(const json& params, const ClientContext& client, HandlerDone done)>;
/// Receives a serialized response, or nothing for notifications.
using ResponseSink = std::function<void(std::optional<std::string>)>;

/// Called once per dispatched call (after it completes) for metrics and audit.
using CallObserver = std::function<void(const std::string& method, const ClientContext& client,
                                        int error_code, double seconds)>;

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
    /// A method with a non-blocking form too (see AsyncHandler).
    void add(const std::string& method, Handler handler, AsyncHandler async);
    void set_access_policy(AccessPolicy policy) { access_ = std::move(policy); }
    void set_observer(CallObserver observer) { observer_ = std::move(observer); }

    /// Names of all registered methods, sorted (for rpc_methods).
    std::vector<std::string> methods() const;
    const RpcLimits& limits() const { return limits_; }

    /// Handle one request body. Returns the serialized response, or nothing when
    /// the body held only notifications.
    std::optional<std::string> handle(std::string_view body, const ClientContext& client) const;

    /// For an I/O thread: answer `body` without blocking when that is possible
    /// (a malformed body or envelope, a refused method, or a single call whose
    /// asynchronous handler accepts it), so a signature needs no hand-off to a
    /// worker and back. Returns true when `respond` is (or will be) called
    /// exactly once, possibly before this returns; false when the body needs
    /// handle() on a worker thread (batches, blocking methods), without
    /// calling `respond` and with nothing counted yet.
    bool handle_without_blocking(std::string_view body, const ClientContext& client,
                                 ResponseSink respond) const;

    /// Build an error response object (id may be null).
    static json error_response(const json& id, int code, std::string_view message,
                               const std::optional<json>& data = std::nullopt);

  private:
    struct Methods {
        Handler sync;
        AsyncHandler async;  // may be empty
    };
    /// A request whose envelope is valid.
    struct Call {
        json id;
        bool has_id = false;
        std::string method;
        const json* params = nullptr;  // into the request: not a copy
    };
    /// The error response for an invalid envelope, or nothing (then `call` is set).
    static std::optional<json> check_envelope(const json& request, Call& call);
    /// Parse `body` (size and depth limits): the document, or the error response.
    std::optional<json> parse_body(std::string_view body, json& error) const;
    /// The method's handlers, or the error result (unknown method, not allowed).
    const Methods* find_allowed(const std::string& method, const ClientContext& client,
                                HandlerResult& refusal) const;
    /// The response to a finished call (nothing for a notification); counts it.
    std::optional<json> finish(const Call& call, HandlerResult result, bool known_method,
                               const ClientContext& client,
                               std::chrono::steady_clock::time_point start) const;
    /// finish(), serialized: a success is written without a response object,
    /// byte for byte what that object's dump() would give.
    std::optional<std::string> finish_serialized(const Call& call, HandlerResult result,
                                                 const ClientContext& client,
                                                 std::chrono::steady_clock::time_point start) const;
    /// Tells the observer about a finished call.
    void observe(const Call& call, int error_code, bool known_method, const ClientContext& client,
                 std::chrono::steady_clock::time_point start) const;
    /// handle_without_blocking() once the envelope of `call` is known to be valid.
    bool start_without_blocking(Call call, const ClientContext& client,
                                const ResponseSink& respond) const;
    std::optional<json> handle_single(const json& request, const ClientContext& client) const;

    RpcLimits limits_;
    std::map<std::string, Methods> handlers_;
    AccessPolicy access_;
    CallObserver observer_;
};

/// The one shape of request handle_without_blocking() reads without a JSON
/// parse: a single object whose members are exactly "jsonrpc":"2.0", "id" (an
/// integer that fits 64 bits, or a plain string), "method" (a plain string)
/// and "params" (an array of plain strings), in any order, with JSON
/// whitespace between tokens and nothing but whitespace after the object.
/// "Plain" strings hold printable ASCII (0x20-0x7f) without a backslash, so
/// they mean exactly their bytes. Anything else (escapes, other values,
/// duplicate or extra members, a notification) is not recognized and goes
/// through the generic parse; so, for a recognized body, `call` holds exactly
/// what json::parse would have given (the id an unsigned integer when
/// non-negative, a signed one when negative).
struct FixedShapeCall {
    json id;
    std::string method;
    json params;  // an array of strings
};
bool scan_fixed_shape_call(std::string_view body, FixedShapeCall& call);

/// Parse JSON with a nesting-depth limit. Returns nullopt on any parse error
/// or when the limit is exceeded (`too_deep` tells which).
std::optional<json> parse_json_limited(std::string_view text, int max_depth, bool* too_deep);

}  // namespace teesigner::signerd
