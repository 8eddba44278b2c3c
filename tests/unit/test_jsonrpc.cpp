// JSON-RPC 2.0 conformance of the dispatcher, including the examples of the
// specification's section 7 (jsonrpc.org/specification).
#include <gtest/gtest.h>

#include "jsonrpc.hpp"

using namespace teesigner::signerd;

namespace {

RpcDispatcher make_dispatcher(RpcLimits limits = {}) {
    RpcDispatcher d(limits);
    d.add("subtract", [](const json& params, const ClientContext&) {
        if (params.is_array() && params.size() == 2 && params[0].is_number() && params[1].is_number())
            return HandlerResult::ok(params[0].get<int>() - params[1].get<int>());
        if (params.is_object() && params.contains("minuend") && params.contains("subtrahend"))
            return HandlerResult::ok(params["minuend"].get<int>() - params["subtrahend"].get<int>());
        return HandlerResult::fail(rpc_error::kInvalidParams, "expected two numbers");
    });
    d.add("notify_hello", [](const json&, const ClientContext&) { return HandlerResult::ok(nullptr); });
    d.add("get_data", [](const json&, const ClientContext&) {
        return HandlerResult::ok(json::array({"hello", 5}));
    });
    d.add("throws", [](const json&, const ClientContext&) -> HandlerResult {
        throw std::runtime_error("boom");
    });
    return d;
}

json call(const RpcDispatcher& d, std::string_view body) {
    auto out = d.handle(body, ClientContext{});
    return out ? json::parse(*out) : json();
}

int error_code(const json& response) { return response.at("error").at("code").get<int>(); }

}  // namespace

TEST(JsonRpc, PositionalAndNamedParams) {
    auto d = make_dispatcher();
    auto r = call(d, R"({"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1})");
    EXPECT_EQ(r, json::parse(R"({"jsonrpc":"2.0","result":19,"id":1})"));
    r = call(d, R"({"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":"x"})");
    EXPECT_EQ(r["result"], 19);
    EXPECT_EQ(r["id"], "x");
}

TEST(JsonRpc, NotificationsGetNoResponse) {
    auto d = make_dispatcher();
    EXPECT_FALSE(d.handle(R"({"jsonrpc":"2.0","method":"notify_hello","params":[7]})", {}));
    // Even an unknown method called as a notification gets no reply.
    EXPECT_FALSE(d.handle(R"({"jsonrpc":"2.0","method":"foobar"})", {}));
    EXPECT_FALSE(d.handle(R"([{"jsonrpc":"2.0","method":"notify_hello"}])", {}));
}

TEST(JsonRpc, UnknownMethod) {
    auto d = make_dispatcher();
    auto r = call(d, R"({"jsonrpc":"2.0","method":"foobar","id":"1"})");
    EXPECT_EQ(error_code(r), -32601);
    EXPECT_EQ(r["id"], "1");
}

TEST(JsonRpc, ParseErrors) {
    auto d = make_dispatcher();
    auto r = call(d, R"({"jsonrpc":"2.0","method":"foobar,"params":"bar","baz])");
    EXPECT_EQ(error_code(r), -32700);
    EXPECT_TRUE(r["id"].is_null());
    EXPECT_EQ(error_code(call(d, "")), -32700);
    EXPECT_EQ(error_code(call(d, "\xff\xfe")), -32700);
    r = call(d, R"([{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method")");
    EXPECT_EQ(error_code(r), -32700);
}

TEST(JsonRpc, InvalidRequests) {
    auto d = make_dispatcher();
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":1,"params":"bar"})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"1.0","method":"get_data","id":1})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"method":"get_data","id":1})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"get_data","id":{"a":1}})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"get_data","id":[1]})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"get_data","id":1.5})")), -32600);
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"get_data","params":3,"id":1})")), -32600);
    EXPECT_EQ(error_code(call(d, R"("just a string")")), -32600);
    EXPECT_EQ(error_code(call(d, "[]")), -32600);
}

TEST(JsonRpc, InvalidBatchMembersAnsweredOneByOne) {
    auto d = make_dispatcher();
    auto r = call(d, "[1,2,3]");
    ASSERT_TRUE(r.is_array());
    ASSERT_EQ(r.size(), 3u);
    for (const auto& member : r) EXPECT_EQ(error_code(member), -32600);
}

TEST(JsonRpc, MixedBatch) {
    auto d = make_dispatcher();
    auto r = call(d, R"([
        {"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"1"},
        {"jsonrpc":"2.0","method":"notify_hello","params":[7]},
        {"jsonrpc":"2.0","method":"subtract","params":[42],"id":"2"},
        {"foo":"boo"},
        {"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},
        {"jsonrpc":"2.0","method":"get_data","id":"9"}])");
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0]["result"], 19);
    EXPECT_EQ(error_code(r[1]), -32602);
    EXPECT_EQ(error_code(r[2]), -32600);
    EXPECT_EQ(error_code(r[3]), -32601);
    EXPECT_EQ(r[4]["result"], json::array({"hello", 5}));
}

TEST(JsonRpc, LimitsAreEnforced) {
    RpcLimits limits;
    limits.max_body_bytes = 64;
    limits.max_batch_size = 2;
    limits.max_depth = 4;
    auto d = make_dispatcher(limits);
    EXPECT_EQ(error_code(call(d, std::string(100, ' '))), -32002);
    auto batch = R"([{"jsonrpc":"2.0","method":"get_data","id":1},1,2])";
    EXPECT_EQ(error_code(call(d, batch)), -32002);
    EXPECT_EQ(error_code(call(d, "[[[[[[1]]]]]]")), -32600);
}

TEST(JsonRpc, DeepNestingDoesNotCrash) {
    auto d = make_dispatcher();
    std::string deep(100000, '[');
    EXPECT_EQ(error_code(call(d, deep)), -32600);
}

TEST(JsonRpc, HandlerExceptionBecomesInternalError) {
    auto d = make_dispatcher();
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"throws","id":1})")), -32603);
}

TEST(JsonRpc, AccessPolicyRefusesMethod) {
    auto d = make_dispatcher();
    d.set_access_policy([](const std::string& method, const ClientContext& c) {
        return c.identity == "admin" || method == "get_data";
    });
    ClientContext node;
    node.identity = "node";
    node.transport = "http";
    auto out = d.handle(R"({"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":1})", node);
    ASSERT_TRUE(out);
    EXPECT_EQ(error_code(json::parse(*out)), -32001);
    out = d.handle(R"({"jsonrpc":"2.0","method":"get_data","id":1})", node);
    EXPECT_TRUE(json::parse(*out).contains("result"));
}

TEST(JsonRpc, ObserverSeesEveryCall) {
    auto d = make_dispatcher();
    std::vector<std::pair<std::string, int>> seen;
    d.set_observer([&](const std::string& m, const ClientContext&, int code, double) {
        seen.emplace_back(m, code);
    });
    (void)d.handle(R"([{"jsonrpc":"2.0","method":"get_data","id":1},{"jsonrpc":"2.0","method":"nope","id":2}])", {});
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], std::make_pair(std::string("get_data"), 0));
    EXPECT_EQ(seen[1], std::make_pair(std::string("<unknown>"), -32601));
}
