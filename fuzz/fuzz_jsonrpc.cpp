// JSON-RPC request handling: any byte string must produce either no response
// (notifications only) or a well-formed JSON-RPC response, never a crash. The
// non-blocking path an I/O thread takes (handle_without_blocking) must answer
// exactly once when it takes a body, never when it leaves it to handle(), and
// then exactly as handle() does. A body its fixed-shape scanner recognizes
// must mean exactly what json::parse makes of it.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "jsonrpc.hpp"

using namespace teesigner::signerd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static RpcDispatcher dispatcher = [] {
        RpcLimits limits;
        limits.max_body_bytes = 1 << 16;
        limits.max_batch_size = 16;
        limits.max_depth = 16;
        RpcDispatcher d(limits);
        d.add("echo",
              [](const json& params, const ClientContext&) { return HandlerResult::ok(params); });
        d.add("fail", [](const json&, const ClientContext&) {
            return HandlerResult::fail(rpc_error::kInvalidParams, "no");
        });
        // Both forms, answering alike: the async one completes at once.
        d.add(
            "echo_async",
            [](const json& params, const ClientContext&) { return HandlerResult::ok(params); },
            [](const json& params, const ClientContext&, HandlerDone done) {
                done(HandlerResult::ok(params));
                return true;
            });
        d.add(
            "fail_async",
            [](const json&, const ClientContext&) {
                return HandlerResult::fail(rpc_error::kInvalidParams, "no");
            },
            [](const json&, const ClientContext&, HandlerDone done) {
                done(HandlerResult::fail(rpc_error::kInvalidParams, "no"));
                return true;
            });
        // Declines every call: handle() must run the blocking form.
        d.add(
            "declines", [](const json&, const ClientContext&) { return HandlerResult::ok(1); },
            [](const json&, const ClientContext&, HandlerDone) { return false; });
        return d;
    }();
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    auto response = dispatcher.handle(body, {});
    if (response) {
        json parsed = json::parse(*response);  // our own output must always parse
        auto check = [](const json& r) {
            if (!r.is_object() || r.value("jsonrpc", "") != "2.0" || !r.contains("id")) abort();
            if (r.contains("result") == r.contains("error")) abort();
        };
        if (parsed.is_array()) {
            for (const auto& r : parsed) check(r);
        } else {
            check(parsed);
        }
    }

    int answers = 0;
    std::optional<std::string> answered;
    const bool taken =
        dispatcher.handle_without_blocking(body, {}, [&](std::optional<std::string> out) {
            ++answers;
            answered = std::move(out);
        });
    if (answers != (taken ? 1 : 0)) abort();
    if (taken && answered != response) abort();

    FixedShapeCall call;
    if (scan_fixed_shape_call(body, call)) {
        const json parsed = json::parse(body);  // throws (a crash) if the scanner was wrong
        if (!parsed.is_object() || parsed.size() != 4 || parsed["jsonrpc"] != "2.0") abort();
        const json& id = parsed["id"];
        if (id.type() != call.id.type() || id.dump() != call.id.dump()) abort();
        if (parsed["method"] != call.method) abort();
        if (!call.params.is_array() || parsed["params"].dump() != call.params.dump()) abort();
    }
    return 0;
}
