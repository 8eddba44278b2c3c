#include "jsonrpc.hpp"

#include <chrono>

namespace teesigner::signerd {
namespace {

struct DepthExceeded {};

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
    handlers_[method] = std::move(handler);
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

std::optional<std::string> RpcDispatcher::handle(std::string_view body,
                                                 const ClientContext& client) const {
    if (body.size() > limits_.max_body_bytes) {
        return error_response(
                   nullptr, rpc_error::kRequestTooLarge,
                   "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes")
            .dump();
    }
    bool too_deep = false;
    auto parsed = parse_json_limited(body, limits_.max_depth, &too_deep);
    if (!parsed) {
        return error_response(nullptr,
                              too_deep ? rpc_error::kInvalidRequest : rpc_error::kParseError,
                              too_deep ? "JSON nesting too deep" : "Parse error")
            .dump();
    }
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
    auto response = handle_single(*parsed, client);
    if (!response) return std::nullopt;
    return response->dump();
}

std::optional<json> RpcDispatcher::handle_single(const json& request,
                                                 const ClientContext& client) const {
    if (!request.is_object())
        return error_response(nullptr, rpc_error::kInvalidRequest, "request must be an object");
    const bool has_id = request.contains("id");
    const json id = has_id ? request["id"] : json(nullptr);
    if (has_id && !valid_id(id))
        return error_response(nullptr, rpc_error::kInvalidRequest,
                              "id must be a string, an integer or null");
    auto version = request.find("jsonrpc");
    if (version == request.end() || *version != "2.0")
        return error_response(id, rpc_error::kInvalidRequest, "jsonrpc must be \"2.0\"");
    auto method_it = request.find("method");
    if (method_it == request.end() || !method_it->is_string())
        return error_response(id, rpc_error::kInvalidRequest, "method must be a string");
    for (const auto& [key, value] : request.items()) {
        if (key != "jsonrpc" && key != "method" && key != "params" && key != "id")
            return error_response(id, rpc_error::kInvalidRequest, "unknown member \"" + key + "\"");
    }
    static const json kNoParams = nullptr;
    const json* params = &kNoParams;  // not a copy: params can hold a long message
    if (auto p = request.find("params"); p != request.end()) {
        if (!p->is_array() && !p->is_object())
            return error_response(id, rpc_error::kInvalidRequest,
                                  "params must be an array or an object");
        params = &*p;
    }

    const std::string method = method_it->get<std::string>();
    const auto start = std::chrono::steady_clock::now();
    int code = 0;
    json response;
    auto handler = handlers_.find(method);
    if (handler == handlers_.end()) {
        code = rpc_error::kMethodNotFound;
        response = error_response(id, code, "Method not found: " + method);
    } else if (access_ && !access_(method, client)) {
        code = rpc_error::kUnauthorized;
        response = error_response(
            id, code, "method " + method + " is not allowed for client " + client.identity);
    } else {
        HandlerResult result;
        try {
            result = handler->second(*params, client);
        } catch (const std::exception& e) {
            // Handlers should not throw; a bug must not take the service down.
            result = HandlerResult::fail(rpc_error::kInternalError,
                                         std::string("internal error: ") + e.what());
        }
        if (result.error) {
            code = result.error->code;
            response = error_response(id, code, result.error->message, result.error->data);
        } else {
            response = {{"jsonrpc", "2.0"},
                        {"result", result.result ? std::move(*result.result) : json(nullptr)},
                        {"id", id}};
        }
    }
    if (observer_) {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        observer_(handler == handlers_.end() ? std::string("<unknown>") : method, client, code,
                  elapsed.count());
    }
    if (!has_id) return std::nullopt;  // notification: no response, even on error
    return response;
}

}  // namespace teesigner::signerd
