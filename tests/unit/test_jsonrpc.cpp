// JSON-RPC 2.0 conformance of the dispatcher, including the examples of the
// specification's section 7 (jsonrpc.org/specification).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "jsonrpc.hpp"

using namespace teesigner::signerd;

namespace {

RpcDispatcher make_dispatcher(RpcLimits limits = {}) {
    RpcDispatcher d(limits);
    d.add("subtract", [](const json& params, const ClientContext&) {
        if (params.is_array() && params.size() == 2 && params[0].is_number() &&
            params[1].is_number())
            return HandlerResult::ok(params[0].get<int>() - params[1].get<int>());
        if (params.is_object() && params.contains("minuend") && params.contains("subtrahend"))
            return HandlerResult::ok(params["minuend"].get<int>() -
                                     params["subtrahend"].get<int>());
        return HandlerResult::fail(rpc_error::kInvalidParams, "expected two numbers");
    });
    d.add("notify_hello",
          [](const json&, const ClientContext&) { return HandlerResult::ok(nullptr); });
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

int error_code(const json& response) {
    return response.at("error").at("code").get<int>();
}

}  // namespace

TEST(JsonRpc, PositionalAndNamedParams) {
    auto d = make_dispatcher();
    auto r = call(d, R"({"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1})");
    EXPECT_EQ(r, json::parse(R"({"jsonrpc":"2.0","result":19,"id":1})"));
    r = call(
        d,
        R"({"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":"x"})");
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
    r = call(
        d,
        R"([{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method")");
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
    EXPECT_EQ(error_code(call(d, R"({"jsonrpc":"2.0","method":"get_data","params":3,"id":1})")),
              -32600);
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
    (void)d.handle(
        R"([{"jsonrpc":"2.0","method":"get_data","id":1},{"jsonrpc":"2.0","method":"nope","id":2}])",
        {});
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], std::make_pair(std::string("get_data"), 0));
    EXPECT_EQ(seen[1], std::make_pair(std::string("<unknown>"), -32601));
}

// ---- The non-blocking path (RpcDispatcher::handle_without_blocking) ------------------

namespace {

// Collects what an I/O thread would send back, and how often it was asked to.
struct Sink {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::optional<std::string>> answers;
    ResponseSink fn() {
        return [this](std::optional<std::string> out) {
            std::lock_guard lk(mu);
            answers.push_back(std::move(out));
            cv.notify_all();
        };
    }
    void wait_for(size_t n) {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(10), [&] { return answers.size() >= n; });
    }
};

// "sum" in both forms: the async one answers from another thread, after the
// caller returned, unless the first param is "decline" (then the blocking form
// must run instead).
struct AsyncFixture {
    RpcDispatcher d;
    std::vector<std::thread> threads;
    std::atomic<int> sync_calls{0}, async_calls{0};
    std::vector<std::pair<std::string, int>> observed;  // (method, error code)
    std::mutex observed_mu;
    AsyncFixture() {
        d.add(
            "sum",
            [this](const json& params, const ClientContext&) {
                ++sync_calls;
                return HandlerResult::ok(params[1].get<int>() + params[2].get<int>());
            },
            [this](const json& params, const ClientContext&, HandlerDone done) {
                if (params[0] == "decline") return false;
                ++async_calls;
                const int a = params[1].get<int>(), b = params[2].get<int>();
                threads.emplace_back([done, a, b] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                    if (b < 0)
                        done(HandlerResult::fail(rpc_error::kInvalidParams, "negative"));
                    else
                        done(HandlerResult::ok(a + b));
                });
                return true;
            });
        d.add("blocking", [](const json&, const ClientContext&) { return HandlerResult::ok(1); });
        d.set_observer([this](const std::string& method, const ClientContext&, int code, double) {
            std::lock_guard lk(observed_mu);
            observed.emplace_back(method, code);
        });
    }
    ~AsyncFixture() {
        for (auto& t : threads) t.join();
    }
};

}  // namespace

TEST(JsonRpcAsync, ASingleCallIsAnsweredLaterFromAnotherThreadExactlyOnce) {
    AsyncFixture f;
    Sink sink;
    ASSERT_TRUE(f.d.handle_without_blocking(
        R"({"jsonrpc":"2.0","method":"sum","params":["go",40,2],"id":"a"})", {}, sink.fn()));
    ASSERT_TRUE(f.d.handle_without_blocking(
        R"({"jsonrpc":"2.0","method":"sum","params":["go",1,-1],"id":7})", {}, sink.fn()));
    sink.wait_for(2);
    for (auto& t : f.threads) t.join();
    f.threads.clear();
    ASSERT_EQ(sink.answers.size(), 2u);
    std::map<json, json> by_id;
    for (const auto& a : sink.answers) {
        ASSERT_TRUE(a.has_value());
        json r = json::parse(*a);
        EXPECT_EQ(r["jsonrpc"], "2.0");
        by_id[r["id"]] = r;
    }
    EXPECT_EQ(by_id["a"]["result"], 42);
    EXPECT_EQ(error_code(by_id[7]), rpc_error::kInvalidParams);
    EXPECT_EQ(f.async_calls, 2);
    EXPECT_EQ(f.sync_calls, 0);
    std::lock_guard lk(f.observed_mu);
    ASSERT_EQ(f.observed.size(), 2u);  // each call counted once, when it completed
    EXPECT_EQ(f.observed[0].first, "sum");
}

TEST(JsonRpcAsync, EnvelopeErrorsAreAnsweredAtOnceWithTheirCodes) {
    AsyncFixture f;
    const std::pair<const char*, int> cases[] = {
        {R"({"jsonrpc":"2.0","method":"sum","params":[1,2)", rpc_error::kParseError},
        {R"({"jsonrpc":"1.0","method":"sum","params":["go",1,2],"id":1})",
         rpc_error::kInvalidRequest},
        {R"({"jsonrpc":"2.0","method":"sum","params":["go",1,2],"id":1.5})",
         rpc_error::kInvalidRequest},
        {R"({"jsonrpc":"2.0","method":"sum","params":"x","id":1})", rpc_error::kInvalidRequest},
        {R"({"jsonrpc":"2.0","method":"sum","params":["go",1,2],"id":1,"x":0})",
         rpc_error::kInvalidRequest},
    };
    for (const auto& [body, code] : cases) {
        Sink sink;
        ASSERT_TRUE(f.d.handle_without_blocking(body, {}, sink.fn())) << body;
        ASSERT_EQ(sink.answers.size(), 1u) << body << ": answered before returning";
        ASSERT_TRUE(sink.answers[0].has_value());
        EXPECT_EQ(error_code(json::parse(*sink.answers[0])), code) << body;
    }
    EXPECT_EQ(f.async_calls + f.sync_calls, 0);
}

TEST(JsonRpcAsync, WhatMayBlockIsLeftToTheBlockingPathWithNothingCounted) {
    AsyncFixture f;
    Sink sink;
    // A batch, a method without a non-blocking form, a declined call, an unknown method.
    for (const char* body : {R"([{"jsonrpc":"2.0","method":"sum","params":["go",1,2],"id":1}])",
                             R"({"jsonrpc":"2.0","method":"blocking","id":1})",
                             R"({"jsonrpc":"2.0","method":"sum","params":["decline",1,2],"id":1})",
                             R"({"jsonrpc":"2.0","method":"nope","id":1})", "[]"}) {
        EXPECT_FALSE(f.d.handle_without_blocking(body, {}, sink.fn())) << body;
    }
    EXPECT_TRUE(sink.answers.empty());
    EXPECT_TRUE(f.observed.empty());
    // The blocking path then answers the declined call with the blocking handler.
    auto r = call(f.d, R"({"jsonrpc":"2.0","method":"sum","params":["decline",1,2],"id":1})");
    EXPECT_EQ(r["result"], 3);
    EXPECT_EQ(f.sync_calls, 1);
}

TEST(JsonRpcAsync, NotificationsAndRefusedCallersGetWhatTheBlockingPathGives) {
    AsyncFixture f;
    f.d.set_access_policy(
        [](const std::string&, const ClientContext& c) { return c.identity != "eve"; });
    Sink sink;
    ASSERT_TRUE(f.d.handle_without_blocking(
        R"({"jsonrpc":"2.0","method":"sum","params":["go",1,2]})", {}, sink.fn()));
    sink.wait_for(1);
    ASSERT_EQ(sink.answers.size(), 1u);
    EXPECT_FALSE(sink.answers[0].has_value()) << "a notification gets no response";

    ClientContext eve;
    eve.identity = "eve";
    Sink refused;
    ASSERT_TRUE(f.d.handle_without_blocking(
        R"({"jsonrpc":"2.0","method":"sum","params":["go",1,2],"id":3})", eve, refused.fn()));
    ASSERT_EQ(refused.answers.size(), 1u);
    EXPECT_EQ(error_code(json::parse(*refused.answers[0])), rpc_error::kUnauthorized);
    EXPECT_EQ(f.async_calls, 1) << "a refused caller's call never starts";
}
