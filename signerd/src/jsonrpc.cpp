#include "jsonrpc.hpp"

#include <chrono>
#include <cstdint>
#include <limits>

namespace teesigner::signerd {
namespace {

struct DepthExceeded {};

std::optional<std::string> serialized(const std::optional<json>& response) {
    if (!response) return std::nullopt;
    return response->dump();
}

bool valid_id(const json& id) {
    // The spec allows string, number or null; fractional numbers are discouraged
    // and we refuse them, as jsonrpsee does.
    return id.is_string() || id.is_number_integer() || id.is_number_unsigned() || id.is_null();
}

// Reads the shape scan_fixed_shape_call() documents; every method returns
// false at the first byte outside it (the caller then parses generically).
class FixedShapeScanner {
  public:
    explicit FixedShapeScanner(std::string_view text)
        : p_(text.data()), end_(text.data() + text.size()) {}

    bool scan(FixedShapeCall& call) {
        if (!take('{')) return false;
        enum : unsigned { kVersion = 1, kId = 2, kMethod = 4, kParams = 8 };
        unsigned seen = 0;
        for (;;) {
            skip_whitespace();
            std::string_view key;
            if (!plain_string(key) || !take(':')) return false;
            skip_whitespace();
            unsigned member = 0;
            if (key == "jsonrpc") {
                member = kVersion;
                std::string_view version;
                if (!plain_string(version) || version != "2.0") return false;
            } else if (key == "id") {
                member = kId;
                std::string_view id;
                if (p_ != end_ && *p_ == '"') {
                    if (!plain_string(id)) return false;
                    call.id = std::string(id);
                } else if (!integer(call.id)) {
                    return false;
                }
            } else if (key == "method") {
                member = kMethod;
                std::string_view method;
                if (!plain_string(method)) return false;
                call.method.assign(method);
            } else if (key == "params") {
                member = kParams;
                if (!string_array(call.params)) return false;
            } else {
                return false;  // an extra member: the generic path answers it
            }
            if (seen & member) return false;  // a duplicate
            seen |= member;
            if (take(',')) continue;
            if (!take('}')) return false;
            break;
        }
        skip_whitespace();
        return p_ == end_ && seen == (kVersion | kId | kMethod | kParams);
    }

  private:
    // JSON whitespace, as nlohmann's lexer skips it.
    void skip_whitespace() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    }
    bool take(char c) {
        skip_whitespace();
        if (p_ == end_ || *p_ != c) return false;
        ++p_;
        return true;
    }
    // A string at p_ of printable ASCII without escapes (its bytes are its value).
    bool plain_string(std::string_view& value) {
        if (p_ == end_ || *p_ != '"') return false;
        const char* begin = ++p_;
        for (; p_ != end_; ++p_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                value = std::string_view(begin, static_cast<size_t>(p_ - begin));
                ++p_;
                return true;
            }
            if (c < 0x20 || c > 0x7f || c == '\\') return false;
        }
        return false;
    }
    // -?(0|[1-9][0-9]*) that fits where nlohmann keeps it: uint64 when
    // non-negative, int64 when negative. A fraction, an exponent or a leading
    // zero fails at the next token.
    bool integer(json& value) {
        const bool negative = p_ != end_ && *p_ == '-';
        if (negative) ++p_;
        if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
        uint64_t magnitude = 0;
        if (*p_ == '0') {
            ++p_;
        } else {
            constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
            for (; p_ != end_ && *p_ >= '0' && *p_ <= '9'; ++p_) {
                const auto digit = static_cast<uint64_t>(*p_ - '0');
                if (magnitude > (kMax - digit) / 10) return false;
                magnitude = magnitude * 10 + digit;
            }
        }
        if (!negative) {
            value = magnitude;
            return true;
        }
        constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
        if (magnitude > kMinMagnitude) return false;
        value = magnitude == kMinMagnitude ? std::numeric_limits<int64_t>::min()
                                           : -static_cast<int64_t>(magnitude);
        return true;
    }
    // [] or ["plain", ...]
    bool string_array(json& array) {
        if (p_ == end_ || *p_ != '[') return false;
        ++p_;
        array = json::array();
        auto& items = array.get_ref<json::array_t&>();
        items.reserve(4);
        if (take(']')) return true;
        for (;;) {
            skip_whitespace();
            std::string_view item;
            if (!plain_string(item)) return false;
            items.emplace_back(std::string(item));
            if (take(']')) return true;
            if (!take(',')) return false;
        }
    }

    const char* p_;
    const char* end_;
};

}  // namespace

bool scan_fixed_shape_call(std::string_view body, FixedShapeCall& call) {
    return FixedShapeScanner(body).scan(call);
}

std::optional<json> parse_json_limited(std::string_view text, int max_depth, bool* too_deep) {
    if (too_deep) *too_deep = false;
    try {
        return json::parse(
            text.begin(), text.end(),
            [max_depth](int depth, json::parse_event_t event, json&) {
                if ((event == json::parse_event_t::object_start ||
                     event == json::parse_event_t::array_start) &&
                    depth >= max_depth)
                    throw DepthExceeded{};
                return true;
            },
            /*allow_exceptions=*/true, /*ignore_comments=*/false);
    } catch (const DepthExceeded&) {
        if (too_deep) *too_deep = true;
        return std::nullopt;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

void RpcDispatcher::add(const std::string& method, Handler handler) {
    handlers_[method] = Methods{std::move(handler), {}};
}

void RpcDispatcher::add(const std::string& method, Handler handler, AsyncHandler async) {
    handlers_[method] = Methods{std::move(handler), std::move(async)};
}

std::vector<std::string> RpcDispatcher::methods() const {
    std::vector<std::string> names;
    names.reserve(handlers_.size());
    for (const auto& [name, handler] : handlers_) names.push_back(name);
    return names;
}

json RpcDispatcher::error_response(const json& id, int code, std::string_view message,
                                   const std::optional<json>& data) {
    json error = {{"code", code}, {"message", std::string(message)}};
    if (data) error["data"] = *data;
    return {{"jsonrpc", "2.0"}, {"error", std::move(error)}, {"id", id}};
}

std::optional<json> RpcDispatcher::parse_body(std::string_view body, json& error) const {
    if (body.size() > limits_.max_body_bytes) {
        error = error_response(
            nullptr, rpc_error::kRequestTooLarge,
            "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
        return std::nullopt;
    }
    bool too_deep = false;
    auto parsed = parse_json_limited(body, limits_.max_depth, &too_deep);
    if (!parsed) {
        error =
            error_response(nullptr, too_deep ? rpc_error::kInvalidRequest : rpc_error::kParseError,
                           too_deep ? "JSON nesting too deep" : "Parse error");
    }
    return parsed;
}

std::optional<std::string> RpcDispatcher::handle(std::string_view body,
                                                 const ClientContext& client) const {
    json error;
    auto parsed = parse_body(body, error);
    if (!parsed) return error.dump();
    if (parsed->is_array()) {
        if (parsed->empty())
            return error_response(nullptr, rpc_error::kInvalidRequest, "empty batch").dump();
        if (parsed->size() > limits_.max_batch_size) {
            return error_response(
                       nullptr, rpc_error::kRequestTooLarge,
                       "batch exceeds " + std::to_string(limits_.max_batch_size) + " requests")
                .dump();
        }
        json responses = json::array();
        for (const auto& member : *parsed) {
            if (auto response = handle_single(member, client))
                responses.push_back(std::move(*response));
        }
        if (responses.empty()) return std::nullopt;  // all notifications
        return responses.dump();
    }
    return serialized(handle_single(*parsed, client));
}

bool RpcDispatcher::handle_without_blocking(std::string_view body, const ClientContext& client,
                                            ResponseSink respond) const {
    // The common shape of a signing call skips the DOM parse. Its object and
    // params array nest two deep, hence the depth check; the size limit is
    // checked as parse_body() checks it.
    if (body.size() <= limits_.max_body_bytes && limits_.max_depth >= 2) {
        FixedShapeCall fast;
        if (scan_fixed_shape_call(body, fast)) {
            Call call;
            call.id = std::move(fast.id);
            call.has_id = true;
            call.method = std::move(fast.method);
            call.params = &fast.params;
            return start_without_blocking(std::move(call), client, respond);
        }
    }
    json error;
    auto parsed = parse_body(body, error);
    if (!parsed) {
        respond(error.dump());
        return true;
    }
    if (!parsed->is_object()) return false;  // a batch (or an invalid request): handle()
    Call call;
    if (auto bad = check_envelope(*parsed, call)) {
        respond(bad->dump());
        return true;
    }
    return start_without_blocking(std::move(call), client, respond);
}

bool RpcDispatcher::start_without_blocking(Call call, const ClientContext& client,
                                           const ResponseSink& respond) const {
    auto it = handlers_.find(call.method);
    if (it == handlers_.end() || !it->second.async) return false;
    const auto start = std::chrono::steady_clock::now();
    HandlerResult refusal;
    const Methods* methods = find_allowed(call.method, client, refusal);
    if (methods == nullptr) {
        respond(finish_serialized(call, std::move(refusal), client, start));
        return true;
    }
    const json* params = call.params;
    call.params = nullptr;  // the completion outlives the request document
    HandlerDone done = [this, call, client, start, respond](HandlerResult result) {
        respond(finish_serialized(call, std::move(result), client, start));
    };
    try {
        return methods->async(*params, client, std::move(done));
    } catch (const std::exception& e) {
        // Async handlers report through `done`; a throw is a bug, answered as one.
        respond(finish_serialized(call,
                                  HandlerResult::fail(rpc_error::kInternalError,
                                                      std::string("internal error: ") + e.what()),
                                  client, start));
        return true;
    }
}

std::optional<json> RpcDispatcher::check_envelope(const json& request, Call& call) {
    if (!request.is_object())
        return error_response(nullptr, rpc_error::kInvalidRequest, "request must be an object");
    call.has_id = request.contains("id");
    call.id = call.has_id ? request["id"] : json(nullptr);
    if (call.has_id && !valid_id(call.id))
        return error_response(nullptr, rpc_error::kInvalidRequest,
                              "id must be a string, an integer or null");
    auto version = request.find("jsonrpc");
    if (version == request.end() || *version != "2.0")
        return error_response(call.id, rpc_error::kInvalidRequest, "jsonrpc must be \"2.0\"");
    auto method_it = request.find("method");
    if (method_it == request.end() || !method_it->is_string())
        return error_response(call.id, rpc_error::kInvalidRequest, "method must be a string");
    for (const auto& [key, value] : request.items()) {
        if (key != "jsonrpc" && key != "method" && key != "params" && key != "id")
            return error_response(call.id, rpc_error::kInvalidRequest,
                                  "unknown member \"" + key + "\"");
    }
    static const json kNoParams = nullptr;
    call.params = &kNoParams;  // not a copy: params can hold a long message
    if (auto p = request.find("params"); p != request.end()) {
        if (!p->is_array() && !p->is_object())
            return error_response(call.id, rpc_error::kInvalidRequest,
                                  "params must be an array or an object");
        call.params = &*p;
    }
    call.method = method_it->get<std::string>();
    return std::nullopt;
}

const RpcDispatcher::Methods* RpcDispatcher::find_allowed(const std::string& method,
                                                          const ClientContext& client,
                                                          HandlerResult& refusal) const {
    auto it = handlers_.find(method);
    if (it == handlers_.end()) {
        refusal = HandlerResult::fail(rpc_error::kMethodNotFound, "Method not found: " + method);
        return nullptr;
    }
    if (access_ && !access_(method, client)) {
        refusal = HandlerResult::fail(
            rpc_error::kUnauthorized,
            "method " + method + " is not allowed for client " + client.identity);
        return nullptr;
    }
    return &it->second;
}

std::optional<json> RpcDispatcher::finish(const Call& call, HandlerResult result, bool known_method,
                                          const ClientContext& client,
                                          std::chrono::steady_clock::time_point start) const {
    int code = 0;
    json response;
    if (result.error) {
        code = result.error->code;
        response = error_response(call.id, code, result.error->message, result.error->data);
    } else {
        response = {{"jsonrpc", "2.0"},
                    {"result", result.result ? std::move(*result.result) : json(nullptr)},
                    {"id", call.id}};
    }
    observe(call, code, known_method, client, start);
    if (!call.has_id) return std::nullopt;  // notification: no response, even on error
    return response;
}

std::optional<std::string> RpcDispatcher::finish_serialized(
    const Call& call, HandlerResult result, const ClientContext& client,
    std::chrono::steady_clock::time_point start) const {
    if (result.error) return serialized(finish(call, std::move(result), true, client, start));
    observe(call, 0, true, client, start);
    if (!call.has_id) return std::nullopt;
    // finish()'s response object, dumped: its keys in std::map order, no spaces.
    const std::string id = call.id.dump();
    const std::string value = result.result ? result.result->dump() : std::string("null");
    std::string out;
    out.reserve(id.size() + value.size() + 34);
    out += "{\"id\":";
    out += id;
    out += ",\"jsonrpc\":\"2.0\",\"result\":";
    out += value;
    out += '}';
    return out;
}

void RpcDispatcher::observe(const Call& call, int error_code, bool known_method,
                            const ClientContext& client,
                            std::chrono::steady_clock::time_point start) const {
    if (!observer_) return;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (known_method) {
        observer_(call.method, client, error_code, elapsed.count());
    } else {
        observer_(std::string("<unknown>"), client, error_code, elapsed.count());
    }
}

std::optional<json> RpcDispatcher::handle_single(const json& request,
                                                 const ClientContext& client) const {
    Call call;
    if (auto bad = check_envelope(request, call)) return bad;
    const auto start = std::chrono::steady_clock::now();
    HandlerResult result;
    const Methods* methods = find_allowed(call.method, client, result);
    if (methods != nullptr) {
        try {
            result = methods->sync(*call.params, client);
        } catch (const std::exception& e) {
            // Handlers should not throw; a bug must not take the service down.
            result = HandlerResult::fail(rpc_error::kInternalError,
                                         std::string("internal error: ") + e.what());
        }
    }
    const bool known = handlers_.count(call.method) != 0;
    return finish(call, std::move(result), known, client, start);
}

}  // namespace teesigner::signerd
