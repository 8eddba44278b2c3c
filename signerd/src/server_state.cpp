#include "server_state.hpp"

#include "auth.hpp"
#include "jsonrpc.hpp"

namespace teesigner::signerd::server_detail {

bool iequals_prefix(std::string_view value, std::string_view prefix) {
    if (value.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool address_is_loopback(const net::ip::address& a) {
    if (a.is_loopback()) return true;
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
    return false;
}

std::string normalized_ip(const net::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

json error_body(int code, const std::string& message) {
    return RpcDispatcher::error_response(nullptr, code, message);
}

AuthOutcome authenticate(const State& state, const ConnInfo& conn,
                         const http::request_header<>& req) {
    if (!conn.cert_identity.empty()) return {true, conn.cert_identity, {}};
    auto header = req.find(http::field::authorization);
    if (header != req.end()) {
        auto token = parse_bearer(header->value());
        if (!token) return {false, {}, "malformed_authorization"};
        if (auto name = state.tokens.authenticate(*token)) return {true, *name, {}};
        return {false, {}, "bad_token"};
    }
    if (conn.local && !state.options.require_auth_local) return {true, "local", {}};
    return {false, {}, "missing_credentials"};
}

std::string auth_message(const std::string& reason) {
    if (reason == "bad_token") return "authentication failed: invalid bearer token";
    if (reason == "malformed_authorization")
        return "authentication failed: expected \"Authorization: Bearer <token>\"";
    return "authentication required: send \"Authorization: Bearer <token>\" or a client "
           "certificate";
}

bool rate_limited(const State& state, const std::string& identity) {
    return identity != "local" || state.options.limits.rate_limit_local;
}

std::string rate_key(const std::string& identity, const ConnInfo& conn) {
    return identity == "local" ? "local@" + conn.client : identity;
}

std::string rate_limited_message(const State& state, const std::string& identity,
                                 unsigned retry_after_s) {
    const auto& l = state.options.limits;
    return "rate limited: client \"" + identity + "\" sent more than " +
           std::to_string(l.rate_limit_per_second) + " requests per second (burst " +
           std::to_string(l.rate_limit_burst) + "); retry in " + std::to_string(retry_after_s) +
           " s";
}

void count_rate_limited(State& state, const std::string& identity) {
    state.metrics.inc(kRateLimitedMetric, {{"identity", identity}});
}

std::optional<std::string> rate_limited_answer(const std::string& text, int max_depth,
                                               const std::string& message) {
    auto error_for = [&](const json& request) {
        json id = nullptr;
        if (request.is_object() && request.contains("id")) {
            const json& v = request["id"];
            if (v.is_string() || v.is_number_integer() || v.is_number_unsigned()) id = v;
        }
        return RpcDispatcher::error_response(id, kRateLimitedCode, message);
    };
    const auto parsed = parse_json_limited(text, max_depth, nullptr);
    if (!parsed) return error_for(json()).dump();
    if (parsed->is_array()) {
        json out = json::array();
        for (const auto& member : *parsed) {
            if (member.is_object() && !member.contains("id")) continue;  // notification
            out.push_back(error_for(member));
        }
        if (out.empty()) return std::nullopt;
        return out.dump();
    }
    if (parsed->is_object() && !parsed->contains("id")) return std::nullopt;
    return error_for(*parsed).dump();
}

bool origin_allowed(const State& state, const http::request_header<>& req) {
    auto origin = req.find(http::field::origin);
    if (origin == req.end()) return true;  // not a browser, or same-origin navigation
    for (const auto& allowed : state.options.allowed_origins) {
        if (allowed == "*" || allowed == origin->value()) return true;
    }
    return false;
}

}  // namespace teesigner::signerd::server_detail
