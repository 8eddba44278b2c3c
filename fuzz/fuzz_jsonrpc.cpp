// JSON-RPC request handling: any byte string must produce either no response
// (notifications only) or a well-formed JSON-RPC response, never a crash.
#include <cstdint>
#include <cstdlib>
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
        return d;
    }();
    auto response =
        dispatcher.handle(std::string_view(reinterpret_cast<const char*>(data), size), {});
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
    return 0;
}
