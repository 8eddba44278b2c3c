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

// ---- The fixed-shape fast path (scan_fixed_shape_call) -------------------------------

namespace {

// Methods in both forms answering alike, the async form at once (as the
// signing methods do when the TEE is idle), plus a blocking-only method, one
// that declines, one that throws and one the access policy refuses.
RpcDispatcher make_differential_dispatcher(RpcLimits limits,
                                           std::vector<std::pair<std::string, int>>& observed) {
    RpcDispatcher d(limits);
    auto both = [&d](const std::string& name, std::function<HandlerResult(const json&)> f) {
        d.add(
            name, [f](const json& params, const ClientContext&) { return f(params); },
            [f](const json& params, const ClientContext&, HandlerDone done) {
                done(f(params));
                return true;
            });
    };
    both("echo", [](const json& params) { return HandlerResult::ok(params); });
    both("sign", [](const json& params) {
        return HandlerResult::ok(
            {{"signature", "0x" + std::to_string(params.size())}, {"payloadHash", "0x00"}});
    });
    both("quote", [](const json&) { return HandlerResult::ok("a\"b\\c\n\x7f\x01"); });
    both("nothing", [](const json&) { return HandlerResult::ok(nullptr); });
    both("fail", [](const json& params) {
        return HandlerResult::fail(rpc_error::kSlashingRefused, "refused",
                                   json{{"params", params}});
    });
    both("throws", [](const json&) -> HandlerResult { throw std::runtime_error("boom"); });
    both("secret", [](const json& params) { return HandlerResult::ok(params); });
    d.add("blocking", [](const json&, const ClientContext&) { return HandlerResult::ok(1); });
    d.add(
        "declines", [](const json&, const ClientContext&) { return HandlerResult::ok(2); },
        [](const json&, const ClientContext&, HandlerDone) { return false; });
    d.set_access_policy(
        [](const std::string& method, const ClientContext&) { return method != "secret"; });
    d.set_observer([&observed](const std::string& method, const ClientContext&, int code, double) {
        observed.emplace_back(method, code);
    });
    return d;
}

std::string request(const std::string& members) {
    return "{" + members + "}";
}

// Request bodies of every shape: the fast path's own and all its near misses.
std::vector<std::string> differential_bodies() {
    const std::string v = R"("jsonrpc":"2.0")";
    const std::string m = R"("method":"echo")";
    const std::string p = R"("params":["babe","0x0102"])";
    std::vector<std::string> bodies = {
        // The common shape, in every member order.
        request(v + "," + m + "," + p + R"(,"id":1)"),
        request(R"("id":1,)" + v + "," + m + "," + p),
        request(p + R"(,"id":"x",)" + m + "," + v),
        request(m + "," + p + "," + v + R"(,"id":2)"),
        // JSON whitespace everywhere it may be, and where it may not.
        " \t\r\n{ \"jsonrpc\" :\t\"2.0\" ,\n\"id\" : 7 , \"method\"\r:\"echo\", \"params\" : [ "
        "\"a\" ,\n\"b\" ] } \n\t\r",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[\"a\"]}\f",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[\"a\"]}\v",
        "\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[\"a\"]}",
        // Empty and long params.
        request(v + "," + m + R"(,"params":[],"id":1)"),
        request(v + "," + m + R"(,"params":[ ],"id":1)"),
        request(v + "," + m + R"(,"params":[""],"id":1)"),
        request(v + "," + m + R"(,"params":["0x)" + std::string(600, 'a') + R"("],"id":1)"),
        // Other methods: results of other shapes, errors, refusals, blocking ones.
        request(v + R"(,"method":"sign",)" + p + R"(,"id":"s1")"),
        request(v + R"(,"method":"quote",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"nothing",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"fail",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"throws",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"secret",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"blocking",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"declines",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"nope",)" + p + R"(,"id":3)"),
        request(v + R"(,"method":"",)" + p + R"(,"id":3)"),
        // Notifications and other envelopes.
        request(v + "," + m + "," + p),
        request(v + R"(,"method":"fail",)" + p),
        request(v + "," + m + R"(,"id":1)"),
        request(v + "," + p + R"(,"id":1)"),
        request(m + "," + p + R"(,"id":1)"),
        request(v + "," + m + "," + p + R"(,"id":null)"),
        request(v + "," + m + "," + p + R"(,"id":true)"),
        request(v + "," + m + "," + p + R"(,"id":[1])"),
        request(v + R"(,"method":1,)" + p + R"(,"id":1)"),
        request(v + R"(,"method":null,)" + p + R"(,"id":1)"),
        // Ids: strings, and integers at and past the 64-bit limits.
        request(v + "," + m + "," + p + R"(,"id":"")"),
        request(v + "," + m + "," + p + R"(,"id":"a b/c\x7f")"),
        request(v + "," + m + "," + p + R"(,"id":"a\"b")"),
        request(v + "," + m + "," + p + R"(,"id":"\u0041")"),
        request(v + "," + m + "," + p + "," + "\"id\":\"\xC3\xA9\""),
        request(v + "," + m + "," + p + "," + "\"id\":\"\xFF\""),
        request(v + "," + m + "," + p + "," + "\"id\":\"a\tb\""),
    };
    for (const char* id : {"0",
                           "-0",
                           "-1",
                           "42",
                           "9223372036854775807",
                           "9223372036854775808",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "18446744073709551615",
                           "18446744073709551616",
                           "99999999999999999999999",
                           "00",
                           "01",
                           "-01",
                           "-",
                           "+1",
                           "1.5",
                           "1.0",
                           "1e3",
                           "1E3",
                           "-1e-3",
                           "0x10",
                           "1 2",
                           "Infinity",
                           "NaN"}) {
        bodies.push_back(request(v + "," + m + "," + p + ",\"id\":" + id));
        bodies.push_back(request("\"id\":" + std::string(id) + "," + v + "," + m + "," + p));
    }
    const std::vector<std::string> near_misses = {
        // Escapes in keys and values.
        request(v + "," + m + R"(,"params":["a\u0041"],"id":1)"),
        request(v + "," + m + R"(,"params":["a\"b"],"id":1)"),
        request(v + "," + m + R"(,"params":["a\\b"],"id":1)"),
        request(v + "," + m + R"(,"params":["a\/b"],"id":1)"),
        request(v + R"(,"method":"ec\u0068o",)" + p + R"(,"id":1)"),
        request(R"("json\u0072pc":"2.0",)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":"2\u002e0",)" + m + "," + p + R"(,"id":1)"),
        request(v + "," + m + "," + p + R"(,"\u0069d":1)"),
        // Values of other types in params, and params not an array.
        request(v + "," + m + R"(,"params":["a",1],"id":1)"),
        request(v + "," + m + R"(,"params":[null],"id":1)"),
        request(v + "," + m + R"(,"params":[true,false],"id":1)"),
        request(v + "," + m + R"(,"params":[["a"]],"id":1)"),
        request(v + "," + m + R"(,"params":[{"a":"b"}],"id":1)"),
        request(v + "," + m + R"(,"params":{"a":"b"},"id":1)"),
        request(v + "," + m + R"(,"params":{},"id":1)"),
        request(v + "," + m + R"(,"params":"a","id":1)"),
        request(v + "," + m + R"(,"params":null,"id":1)"),
        request(v + "," + m + R"(,"params":["a",],"id":1)"),
        request(v + "," + m + R"(,"params":[,"a"],"id":1)"),
        request(v + "," + m + R"(,"params":["a" "b"],"id":1)"),
        request(v + "," + m + "," + "\"params\":[\"\xC3\xA9\"],\"id\":1"),
        request(v + "," + m + "," + "\"params\":[\"\xC3\"],\"id\":1"),
        request(v + "," + m + "," + "\"params\":[\"a\nb\"],\"id\":1"),
        request(v + "," + m + "," + std::string("\"params\":[\"a\0b\"],\"id\":1", 22)),
        // Duplicate and extra members.
        request(v + "," + m + "," + p + R"(,"id":1,"id":2)"),
        request(v + "," + m + "," + p + R"(,"id":1,"id":"x")"),
        request(v + "," + m + "," + p + R"(,"params":[],"id":1)"),
        request(v + "," + m + R"(,"method":"sign",)" + p + R"(,"id":1)"),
        request(v + R"(,"jsonrpc":"1.0",)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":"1.0",)" + v + "," + m + "," + p + R"(,"id":1)"),
        request(v + "," + m + "," + p + R"(,"id":1,"x":0)"),
        request(v + "," + m + "," + p + R"(,"id":1,"":0)"),
        // Wrong versions.
        request(R"("jsonrpc":"1.0",)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":"2.00",)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":"2",)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":2.0,)" + m + "," + p + R"(,"id":1)"),
        request(R"("jsonrpc":null,)" + m + "," + p + R"(,"id":1)"),
        // Trailing bytes, truncation and broken structure.
        request(v + "," + m + "," + p + R"(,"id":1)") + " x",
        request(v + "," + m + "," + p + R"(,"id":1)") + "}",
        request(v + "," + m + "," + p + R"(,"id":1)") + ",",
        request(v + "," + m + "," + p + R"(,"id":1)") + std::string(1, '\0'),
        request(v + "," + m + "," + p + R"(,"id":1)") + "/**/",
        request(v + "," + m + "," + p + R"(,"id":1,)"),
        request("," + v + "," + m + "," + p + R"(,"id":1)"),
        request(v + ",," + m + "," + p + R"(,"id":1)"),
        "{" + v + "," + m + "," + p + R"(,"id":1)",
        "{" + v + "," + m + "," + p + R"(,"id":)",
        "{" + v + "," + m + R"(,"params":["a)",
        R"({"jsonrpc""2.0","method":"echo","params":[],"id":1})",
        R"({"jsonrpc":"2.0" "method":"echo","params":[],"id":1})",
        R"({'jsonrpc':'2.0','method':'echo','params':[],'id':1})",
        // Not an object: batches and scalars.
        "[" + request(v + "," + m + "," + p + R"(,"id":1)") + "]",
        "[]",
        "{}",
        "\"x\"",
        "1",
        "null",
        "",
        "   ",
        "{",
    };
    bodies.insert(bodies.end(), near_misses.begin(), near_misses.end());
    return bodies;
}

}  // namespace

TEST(JsonRpcFastPath, AnswersByteForByteAsTheGenericPath) {
    RpcLimits tight;
    tight.max_body_bytes = 80;  // some bodies above fit, some are one byte over
    RpcLimits depth1;
    depth1.max_depth = 1;  // the params array is too deep
    RpcLimits depth2;
    depth2.max_depth = 2;
    RpcLimits depth0;
    depth0.max_depth = 0;
    std::vector<std::string> bodies = differential_bodies();
    bodies.push_back(request(R"("jsonrpc":"2.0","method":"echo","params":["x"],"id":")" +
                             std::string(80 - 53, 'a') + "\""));  // exactly 80 bytes
    bodies.push_back(request(R"("jsonrpc":"2.0","method":"echo","params":["x"],"id":")" +
                             std::string(81 - 53, 'a') + "\""));  // 81
    int fast = 0, taken_count = 0;
    for (const RpcLimits& limits : {RpcLimits{}, tight, depth0, depth1, depth2}) {
        std::vector<std::pair<std::string, int>> observed;
        RpcDispatcher d = make_differential_dispatcher(limits, observed);
        for (const std::string& body : bodies) {
            SCOPED_TRACE("max_body_bytes " + std::to_string(limits.max_body_bytes) + " max_depth " +
                         std::to_string(limits.max_depth) + ": " + body);
            FixedShapeCall scanned;
            if (scan_fixed_shape_call(body, scanned)) ++fast;
            observed.clear();
            int answers = 0;
            std::optional<std::string> answered;
            const bool taken =
                d.handle_without_blocking(body, {}, [&](std::optional<std::string> out) {
                    ++answers;
                    answered = std::move(out);
                });
            const auto observed_without_blocking = observed;
            observed.clear();
            const std::optional<std::string> generic = d.handle(body, {});
            ASSERT_EQ(answers, taken ? 1 : 0);
            if (!taken) {
                EXPECT_TRUE(observed_without_blocking.empty()) << "left to handle(), not counted";
                continue;
            }
            ++taken_count;
            EXPECT_EQ(answered, generic);
            EXPECT_EQ(observed_without_blocking, observed);
        }
    }
    EXPECT_GT(fast, 100) << "the fast path was exercised";
    EXPECT_GT(taken_count, 200);
}

TEST(JsonRpcFastPath, RecognizesExactlyTheFixedShape) {
    // Every recognized body means what json::parse makes of it, id type included.
    size_t recognized = 0;
    for (const std::string& body : differential_bodies()) {
        FixedShapeCall call;
        if (!scan_fixed_shape_call(body, call)) continue;
        ++recognized;
        SCOPED_TRACE(body);
        const json parsed = json::parse(body);
        ASSERT_TRUE(parsed.is_object());
        EXPECT_EQ(parsed.size(), 4u);
        EXPECT_EQ(parsed["jsonrpc"], "2.0");
        EXPECT_EQ(parsed["id"].type(), call.id.type());
        EXPECT_EQ(parsed["id"].dump(), call.id.dump());
        EXPECT_EQ(parsed["method"], call.method);
        EXPECT_EQ(parsed["params"].dump(), call.params.dump());
        ASSERT_TRUE(call.params.is_array());
    }
    EXPECT_GT(recognized, 30u);

    const auto recognizes = [](const std::string& body) {
        FixedShapeCall call;
        return scan_fixed_shape_call(body, call);
    };
    EXPECT_TRUE(
        recognizes(R"({"jsonrpc":"2.0","id":-9223372036854775808,"method":"m","params":[]})"));
    EXPECT_TRUE(
        recognizes(R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"m","params":[]})"));
    EXPECT_TRUE(recognizes(
        " {\"params\":[\"a\",\"b\"],\"method\":\"m\",\"id\":\"x\",\"jsonrpc\":\"2.0\"}\n"));
    for (const char* body : {
             R"({"jsonrpc":"2.0","id":-9223372036854775809,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":18446744073709551616,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":1.0,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":01,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":null,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":1,"method":"m"})",
             R"({"jsonrpc":"2.0","id":1,"method":"m","params":["\u0041"]})",
             R"({"jsonrpc":"2.0","id":"\n","method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1]})",
             R"({"jsonrpc":"2.0","id":1,"method":"m","params":{}})",
             R"({"jsonrpc":"2.0","id":1,"id":1,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":1,"method":"m","params":[],"x":1})",
             R"({"jsonrpc":"1.0","id":1,"method":"m","params":[]})",
             R"({"jsonrpc":"2.0","id":1,"method":"m","params":[]} x)",
             R"([{"jsonrpc":"2.0","id":1,"method":"m","params":[]}])",
         }) {
        EXPECT_FALSE(recognizes(body)) << body;
    }
}
