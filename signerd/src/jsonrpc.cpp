#include "jsonrpc.hpp"

#include <chrono>

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

}  // namespace

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
    auto it = handlers_.find(call.method);
    if (it == handlers_.end() || !it->second.async) return false;
    const auto start = std::chrono::steady_clock::now();
    HandlerResult refusal;
    const Methods* methods = find_allowed(call.method, client, refusal);
    if (methods == nullptr) {
        respond(serialized(finish(call, std::move(refusal), true, client, start)));
        return true;
    }
    const json* params = call.params;
    call.params = nullptr;  // the completion outlives the request document
    HandlerDone done = [this, call, client, start, respond](HandlerResult result) {
        respond(serialized(finish(call, std::move(result), true, client, start)));
    };
    try {
        return methods->async(*params, client, std::move(done));
    } catch (const std::exception& e) {
        // Async handlers report through `done`; a throw is a bug, answered as one.
        respond(serialized(finish(call,
                                  HandlerResult::fail(rpc_error::kInternalError,
                                                      std::string("internal error: ") + e.what()),
                                  true, client, start)));
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
    if (observer_) {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        observer_(known_method ? call.method : std::string("<unknown>"), client, code,
                  elapsed.count());
    }
    if (!call.has_id) return std::nullopt;  // notification: no response, even on error
    return response;
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
