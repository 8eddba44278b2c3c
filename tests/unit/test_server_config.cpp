// signerd configuration (TOML + flags), bearer-token files, allow-lists,
// Prometheus rendering and the JSON log escaping.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "dispatcher_hooks.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "serve.hpp"
#include "server.hpp"

using namespace teesigner::signerd;

namespace {

const std::string kSourceDir =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Config, DefaultsAreLocalAndSoft) {
    Config c = default_config();
    EXPECT_EQ(c.tee, "soft");
    EXPECT_EQ(c.server.rpc_addr, "127.0.0.1");
    EXPECT_EQ(c.server.rpc_port, 9955);
    EXPECT_TRUE(c.server.tcp_enabled);
    EXPECT_TRUE(c.server.unix_socket.empty());
    EXPECT_FALSE(c.server.require_auth_local);
    EXPECT_FALSE(c.methods.allow_dev_seeds);
    EXPECT_FALSE(c.data_dir.empty());
    EXPECT_NO_THROW(validate_config(c));
}

TEST(Config, ExampleConfigParsesToTheDefaults) {
    Config c = default_config();
    apply_toml_file(c, kSourceDir + "/signerd/example-config.toml");
    validate_config(c);
    const Config d = default_config();
    EXPECT_EQ(c.server.rpc_addr, d.server.rpc_addr);
    EXPECT_EQ(c.server.rpc_port, d.server.rpc_port);
    EXPECT_EQ(c.server.limits.max_body_bytes, d.server.limits.max_body_bytes);
    EXPECT_EQ(c.server.limits.header_timeout, d.server.limits.header_timeout);
    EXPECT_EQ(c.server.limits.idle_timeout, d.server.limits.idle_timeout);
    EXPECT_EQ(c.server.limits.max_connections_per_ip, d.server.limits.max_connections_per_ip);
    EXPECT_EQ(c.rpc_limits.max_batch_size, d.rpc_limits.max_batch_size);
    EXPECT_EQ(c.methods.max_message_bytes, d.methods.max_message_bytes);
    EXPECT_EQ(c.server.io_threads, d.server.io_threads);
    EXPECT_EQ(c.server.rpc_workers, d.server.rpc_workers);
    EXPECT_EQ(c.keys.retire_min_idle_sessions, d.keys.retire_min_idle_sessions);
    EXPECT_EQ(c.keys.session_seconds, d.keys.session_seconds);
    EXPECT_TRUE(c.access.empty());
}

TEST(Config, EveryOption) {
    Config c = default_config();
    apply_toml(c, R"(
data_dir = "/srv/signer"
tee = "optee"
log_format = "json"
log_level = "debug"
[rpc]
addr = "10.0.0.5"
port = 9000
unix_socket = "/run/signer.sock"
require_auth_local = true
metrics_require_auth = true
allowed_origins = ["https://ops.example"]
io_threads = 3
workers = 8
[tls]
cert = "/etc/s/cert.pem"
key = "/etc/s/key.pem"
ca = "/etc/s/ca.pem"
[auth]
tokens_file = "/etc/s/tokens"
[access]
local = ["*"]
"validator-1" = ["keystore_*", "rpc_methods"]
[limits]
max_body_bytes = 4096
max_header_bytes = 2048
max_ws_message_bytes = 8192
max_batch = 10
max_json_depth = 8
max_message_bytes = 1000
header_timeout_ms = 1500
body_timeout_ms = 2500
idle_timeout_ms = 3500
handshake_timeout_ms = 4500
write_timeout_ms = 5500
max_connections = 20
max_connections_per_ip = 4
max_inflight_per_connection = 2
[softtee]
storage = "/srv/signer/sealed"
ta = "/usr/libexec/ts-softtee-ta"
timeout_ms = 9000
[keystore]
allow_dev_seeds = true
[keys]
retire_min_idle_sessions = 3
session_seconds = 3600
usage_file = "/srv/signer/usage.json"
)",
               "test.toml");
    validate_config(c);
    EXPECT_EQ(c.data_dir, "/srv/signer");
    EXPECT_EQ(c.tee, "optee");
    EXPECT_EQ(c.log_format, "json");
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.server.rpc_addr, "10.0.0.5");
    EXPECT_EQ(c.server.rpc_port, 9000);
    EXPECT_EQ(c.server.unix_socket, "/run/signer.sock");
    EXPECT_TRUE(c.server.require_auth_local);
    EXPECT_TRUE(c.server.metrics_require_auth);
    EXPECT_EQ(c.server.allowed_origins, std::vector<std::string>{"https://ops.example"});
    EXPECT_EQ(c.server.io_threads, 3);
    EXPECT_EQ(c.server.rpc_workers, 8);
    EXPECT_EQ(c.server.tls_cert, "/etc/s/cert.pem");
    EXPECT_EQ(c.server.tls_key, "/etc/s/key.pem");
    EXPECT_EQ(c.server.tls_ca, "/etc/s/ca.pem");
    EXPECT_EQ(c.tokens_file, "/etc/s/tokens");
    EXPECT_EQ(c.access.at("validator-1"), (std::vector<std::string>{"keystore_*", "rpc_methods"}));
    EXPECT_EQ(c.server.limits.max_body_bytes, 4096u);
    EXPECT_EQ(c.server.limits.max_header_bytes, 2048u);
    EXPECT_EQ(c.server.limits.max_ws_message_bytes, 8192u);
    EXPECT_EQ(c.rpc_limits.max_batch_size, 10u);
    EXPECT_EQ(c.rpc_limits.max_depth, 8);
    EXPECT_EQ(c.methods.max_message_bytes, 1000u);
    EXPECT_EQ(c.server.limits.header_timeout.count(), 1500);
    EXPECT_EQ(c.server.limits.body_timeout.count(), 2500);
    EXPECT_EQ(c.server.limits.idle_timeout.count(), 3500);
    EXPECT_EQ(c.server.limits.handshake_timeout.count(), 4500);
    EXPECT_EQ(c.server.limits.write_timeout.count(), 5500);
    EXPECT_EQ(c.server.limits.max_connections, 20u);
    EXPECT_EQ(c.server.limits.max_connections_per_ip, 4u);
    EXPECT_EQ(c.server.limits.max_inflight_per_connection, 2u);
    EXPECT_EQ(c.softtee_storage, "/srv/signer/sealed");
    EXPECT_EQ(c.softtee_ta, "/usr/libexec/ts-softtee-ta");
    EXPECT_EQ(c.softtee_timeout_ms, 9000u);
    EXPECT_TRUE(c.methods.allow_dev_seeds);
    EXPECT_EQ(c.keys.retire_min_idle_sessions, 3u);
    EXPECT_EQ(c.keys.session_seconds, 3600u);
    EXPECT_EQ(c.keys.usage_file, "/srv/signer/usage.json");
    AccessList access = access_list(c);
    EXPECT_TRUE(access.allowed("keystore_sign", "validator-1"));
    EXPECT_FALSE(access.allowed("author_rotateKeys", "validator-1"));
    EXPECT_TRUE(access.allowed("author_rotateKeys", "local"));
    EXPECT_FALSE(access.allowed("rpc_methods", "stranger"));
}

TEST(Config, KeysRetirementWindowIsBounded) {
    Config c = default_config();
    EXPECT_EQ(c.keys.retire_min_idle_sessions, 2u);
    EXPECT_EQ(c.keys.session_seconds, 14400u);  // Polkadot
    const std::string zero_length =
        error_of([&] { apply_toml(c, "[keys]\nsession_seconds = 0\n", "f.toml"); });
    EXPECT_EQ(zero_length.rfind("f.toml:2: keys.session_seconds: ", 0), 0u) << zero_length;
    const std::string zero_sessions =
        error_of([&] { apply_toml(c, "[keys]\nretire_min_idle_sessions = 0\n", "f.toml"); });
    EXPECT_EQ(zero_sessions.rfind("f.toml:2: keys.retire_min_idle_sessions: ", 0), 0u)
        << zero_sessions;
    EXPECT_EQ(error_of([&] { apply_toml(c, "[keys]\nwindow = 3\n", "f.toml"); }),
              "f.toml:2: keys.window: unknown option");
}

TEST(Config, PortZeroDisablesTcp) {
    Config c = default_config();
    apply_toml(c, "[rpc]\nport = 0\nunix_socket = \"/tmp/x.sock\"\n", "t.toml");
    EXPECT_FALSE(c.server.tcp_enabled);
}

TEST(Config, ErrorsNameTheFileLineAndKey) {
    Config c = default_config();
    EXPECT_EQ(error_of([&] { apply_toml(c, "[rpc]\nadress = \"1.2.3.4\"\n", "f.toml"); }),
              "f.toml:2: rpc.adress: unknown option");
    EXPECT_EQ(error_of([&] { apply_toml(c, "[rpc]\nport = \"80\"\n", "f.toml"); }),
              "f.toml:2: rpc.port: expected an integer");
    EXPECT_EQ(error_of([&] { apply_toml(c, "[rpc]\nport = 70000\n", "f.toml"); }),
              "f.toml:2: rpc.port: must be between 0 and 65535");
    EXPECT_EQ(error_of([&] { apply_toml(c, "[bogus]\n", "f.toml"); }),
              "f.toml:1: bogus: unknown option");
    EXPECT_EQ(error_of([&] { apply_toml(c, "rpc = 5\n", "f.toml"); }),
              "f.toml:1: rpc: expected a table");
    EXPECT_EQ(error_of([&] { apply_toml(c, "[access]\nx = [1]\n", "f.toml"); }),
              "f.toml:2: access.x: expected an array of strings");
    const std::string syntax = error_of([&] { apply_toml(c, "[rpc\n", "f.toml"); });
    EXPECT_EQ(syntax.rfind("f.toml:1:", 0), 0u) << syntax;
    EXPECT_NE(error_of([&] { apply_toml_file(c, "/nonexistent/x.toml"); }).find("cannot read"),
              std::string::npos);
    c.tee = "sgx";
    EXPECT_NE(error_of([&] { validate_config(c); }).find("tee must be"), std::string::npos);
    c = default_config();
    c.access["x"] = {"key*store"};
    EXPECT_NE(error_of([&] { validate_config(c); }).find("'*' may only end"), std::string::npos);
}

TEST(Config, FlagsOverrideTheFile) {
    char tmpl[] = "/tmp/ts-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string file = std::string(tmpl) + "/c.toml";
    std::ofstream(file) << "data_dir = \"/from/file\"\n[rpc]\naddr = \"127.0.0.2\"\nport = 1234\n";
    ServeFlags f;
    f.config_file = file;
    Config c = build_config(f);
    EXPECT_EQ(c.data_dir, "/from/file");
    EXPECT_EQ(c.server.rpc_addr, "127.0.0.2");
    EXPECT_EQ(c.server.rpc_port, 1234);
    EXPECT_EQ(c.softtee_storage, "/from/file/softtee");
    f.set_rpc_port = true;
    f.rpc_port = 4321;
    f.set_data_dir = true;
    f.data_dir = "/from/flag";
    f.require_auth_local = true;
    f.set_log_format = true;
    f.log_format = "json";
    c = build_config(f);
    EXPECT_EQ(c.server.rpc_port, 4321);
    EXPECT_EQ(c.server.rpc_addr, "127.0.0.2");
    EXPECT_EQ(c.data_dir, "/from/flag");
    EXPECT_TRUE(c.server.require_auth_local);
    EXPECT_EQ(c.log_format, "json");
    f.log_format = "xml";
    EXPECT_THROW(build_config(f), std::runtime_error);
    std::filesystem::remove_all(tmpl);
}

TEST(Config, ServeCommandFlags) {
    CLI::App app{"test"};
    ServeCommand serve(app);
    std::vector<std::string> args = {
        "serve", "--rpc-port",   "0",    "--unix-socket",       "/tmp/s.sock", "--tee",
        "soft",  "--log-format", "json", "--require-auth-local"};
    std::vector<char*> argv = {const_cast<char*>("tee-signer")};
    for (auto& a : args) argv.push_back(a.data());
    app.parse(static_cast<int>(argv.size()), argv.data());
    ASSERT_TRUE(serve.parsed());
    ServeFlags f = serve.flags();
    EXPECT_TRUE(f.set_rpc_port);
    EXPECT_FALSE(f.set_rpc_addr);
    EXPECT_TRUE(f.require_auth_local);
    Config c = build_config(f);
    EXPECT_FALSE(c.server.tcp_enabled);
    EXPECT_EQ(c.server.unix_socket, "/tmp/s.sock");
    EXPECT_EQ(c.log_format, "json");
    EXPECT_TRUE(c.server.require_auth_local);
    EXPECT_EQ(c.server.rpc_addr, "127.0.0.1");

    CLI::App app2{"test"};
    ServeCommand serve2(app2);
    std::vector<std::string> bad = {"tee-signer", "serve", "--tee", "sgx"};
    std::vector<char*> argv2;
    for (auto& a : bad) argv2.push_back(a.data());
    EXPECT_THROW(app2.parse(static_cast<int>(argv2.size()), argv2.data()), CLI::ParseError);
}

// ---- Tokens ---------------------------------------------------------------------------

TEST(Tokens, ParseAndAuthenticate) {
    TokenStore t = TokenStore::parse(
        "# operators\n"
        "alice:0123456789abcdef0123\n"
        "\n"
        "  bob : ffffffffffffffffffff  \r\n");
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.authenticate("0123456789abcdef0123"), "alice");
    EXPECT_EQ(t.authenticate("ffffffffffffffffffff"), "bob");
    EXPECT_FALSE(t.authenticate("0123456789abcdef012"));
    EXPECT_FALSE(t.authenticate(""));
    EXPECT_FALSE(t.authenticate("0123456789abcdef01234"));
}

TEST(Tokens, RejectsBadFilesWithoutQuotingTokens) {
    auto err = [](const std::string& text) {
        return error_of([&] { TokenStore::parse(text, "tokens"); });
    };
    EXPECT_EQ(err("alice\n"), "tokens:1: expected name:token");
    EXPECT_EQ(err("alice:short\n"),
              "tokens:1: token for \"alice\" must be at least 16 printable ASCII characters "
              "without spaces");
    EXPECT_EQ(err("bad name:0123456789abcdef0123\n"),
              "tokens:1: token name must be 1-64 characters of [A-Za-z0-9._@-]");
    EXPECT_EQ(err("a:0123456789abcdef0123\na:0123456789abcdef0124\n"),
              "tokens:2: duplicate token name \"a\"");
    const std::string dup = err("a:0123456789abcdef0123\nb:0123456789abcdef0123\n");
    EXPECT_EQ(dup, "tokens:2: token of \"b\" is the same as the token of \"a\"");
    EXPECT_EQ(dup.find("0123456789"), std::string::npos);
}

TEST(Tokens, LoadFileWarnsAboutPermissions) {
    char tmpl[] = "/tmp/ts-tokens-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string file = std::string(tmpl) + "/tokens";
    std::ofstream(file) << "ops:0123456789abcdef0123\n";
    ::chmod(file.c_str(), 0644);
    std::vector<std::string> warnings;
    TokenStore t = TokenStore::load_file(file, &warnings);
    EXPECT_EQ(t.authenticate("0123456789abcdef0123"), "ops");
    ASSERT_EQ(warnings.size(), 1u);
    ::chmod(file.c_str(), 0600);
    warnings.clear();
    TokenStore::load_file(file, &warnings);
    EXPECT_TRUE(warnings.empty());
    EXPECT_THROW(TokenStore::load_file(file + ".missing"), std::runtime_error);
    std::filesystem::remove_all(tmpl);
}

TEST(Tokens, BearerHeader) {
    EXPECT_EQ(parse_bearer("Bearer abc"), "abc");
    EXPECT_EQ(parse_bearer("bearer   abc  "), "abc");
    EXPECT_FALSE(parse_bearer("Basic abc"));
    EXPECT_FALSE(parse_bearer("Bearer"));
    EXPECT_FALSE(parse_bearer("Bearer "));
    EXPECT_FALSE(parse_bearer("Bearerabc"));
}

TEST(AccessListTest, Patterns) {
    AccessList a;
    EXPECT_TRUE(a.allowed("anything", "anyone"));  // no rules: open
    a.allow("node", {"keystore_*", "author_hasKey"});
    a.allow("*", {"rpc_methods"});
    EXPECT_TRUE(a.allowed("keystore_sign", "node"));
    EXPECT_TRUE(a.allowed("author_hasKey", "node"));
    EXPECT_FALSE(a.allowed("author_hasKeys", "node"));
    EXPECT_FALSE(a.allowed("rpc_methods", "node"));  // an entry replaces the fallback
    EXPECT_TRUE(a.allowed("rpc_methods", "stranger"));
    EXPECT_FALSE(a.allowed("keystore_sign", "stranger"));
    EXPECT_TRUE(method_matches("*", "x"));
}

TEST(AccessListTest, SensitiveMethodsNeedLocalOrAnExplicitGrant) {
    EXPECT_TRUE(is_sensitive_method("signer_setProtectionPolicy"));
    EXPECT_TRUE(is_sensitive_method("signer_importProtection"));
    EXPECT_FALSE(is_sensitive_method("signer_exportProtection"));
    EXPECT_TRUE(is_sensitive_method("signer_retireKeys"));
    AccessList open;
    EXPECT_TRUE(open.allowed("signer_setProtectionPolicy", "local"));
    EXPECT_FALSE(open.allowed("signer_setProtectionPolicy", "validator-1"));
    EXPECT_TRUE(open.allowed("signer_exportProtection", "validator-1"));
    AccessList a;
    a.allow("admin", {"*"});
    a.allow("ops", {"signer_*"});
    a.allow("local", {"signer_setProtectionPolicy"});
    EXPECT_TRUE(a.allowed("keystore_sign", "admin"));
    EXPECT_FALSE(a.allowed("signer_setProtectionPolicy", "admin"));  // bare "*" is not enough
    EXPECT_FALSE(a.allowed("signer_retireKeys", "admin"));
    EXPECT_TRUE(a.allowed("signer_retireKeys", "ops"));
    EXPECT_FALSE(open.allowed("signer_retireKeys", "validator-1"));
    EXPECT_TRUE(open.allowed("signer_retireKeys", "local"));
    EXPECT_TRUE(a.allowed("signer_importProtection", "ops"));
    EXPECT_TRUE(a.allowed("signer_setProtectionPolicy", "local"));
    EXPECT_FALSE(a.allowed("signer_importProtection", "local"));
    EXPECT_TRUE(method_matches("author_*", "author_"));
    EXPECT_FALSE(method_matches("author_*", "autho"));
}

// ---- Metrics ------------------------------------------------------------------------

TEST(MetricsTest, PrometheusTextFormat) {
    Metrics m;
    m.inc(Metrics::kRequests, {{"method", "keystore_sign"}, {"code", "0"}});
    m.inc(Metrics::kRequests, {{"method", "keystore_sign"}, {"code", "0"}});
    m.observe(Metrics::kLatency, {{"method", "keystore_sign"}}, 0.003);
    m.observe(Metrics::kLatency, {{"method", "keystore_sign"}}, 20);
    m.set_key_count("babe", "sr25519", 2);
    m.declare("custom_total", Metrics::Type::counter, "A custom counter.");
    m.inc("custom_total", {{"what", "a\"b\\c\nd"}});
    const std::string text = m.render();
    EXPECT_NE(text.find("# HELP teesigner_rpc_requests_total "), std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_requests_total{method=\"keystore_sign\",code=\"0\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_bucket{method=\"keystore_sign\","
                        "le=\"0.0025\"} 0\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_bucket{method=\"keystore_sign\","
                        "le=\"0.005\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_bucket{method=\"keystore_sign\","
                        "le=\"10\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_bucket{method=\"keystore_sign\","
                        "le=\"+Inf\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_sum{method=\"keystore_sign\"} "
                        "20.003"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_rpc_request_duration_seconds_count{method=\"keystore_sign\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("teesigner_keys{key_type=\"babe\",scheme=\"sr25519\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("custom_total{what=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("teesigner_tee_restarts_total 0\n"), std::string::npos);
    m.tee_restart();
    EXPECT_EQ(m.value(Metrics::kTeeRestarts), 1);
    // Every line is a comment or "name{labels} value".
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t nl = text.find('\n', pos);
        ASSERT_NE(nl, std::string::npos);
        const std::string line = text.substr(pos, nl - pos);
        EXPECT_FALSE(line.empty());
        if (line[0] != '#') {
            EXPECT_NE(line.rfind(' '), std::string::npos) << line;
        }
        pos = nl + 1;
    }
}

TEST(MetricsTest, HandlesCountExactlyAsTheLabelForms) {
    Metrics by_labels, by_handles;
    const Labels ok = {{"method", "keystore_sign"}, {"code", "0"}};
    const Labels refused = {{"method", "keystore_sign"}, {"code", "-32010"}};
    const Labels latency = {{"method", "keystore_sign"}};
    const double seconds[] = {0.0001, 0.003, 0.003, 0.7, 20, 0.0005};
    for (double s : seconds) {
        by_labels.inc(Metrics::kRequests, ok);
        by_labels.observe(Metrics::kLatency, latency, s);
    }
    by_labels.inc(Metrics::kRequests, refused, 2);

    auto requests = by_handles.inc_handle(Metrics::kRequests, ok);
    auto histogram = by_handles.observe_handle(Metrics::kLatency, latency, seconds[0]);
    ASSERT_TRUE(requests);
    ASSERT_TRUE(histogram);
    for (size_t i = 1; i < std::size(seconds); ++i) {
        requests.inc();
        histogram.observe(seconds[i]);
    }
    by_handles.inc_handle(Metrics::kRequests, refused, 2);
    EXPECT_EQ(by_handles.render(), by_labels.render());
    EXPECT_EQ(by_handles.value(Metrics::kRequests, ok), 6);
    // The label forms and a handle update the same sample.
    by_handles.inc(Metrics::kRequests, ok);
    requests.inc();
    EXPECT_EQ(by_handles.value(Metrics::kRequests, ok), 8);
    // Only a declared histogram family hands out handles (its buckets are fixed).
    EXPECT_FALSE(by_handles.observe_handle("undeclared_seconds", {}, 1));
    EXPECT_FALSE(by_handles.observe_handle(Metrics::kRequests, ok, 1));
}

TEST(MetricsTest, CallObserverCountsEachMethodAndOutcome) {
    RpcDispatcher d;
    d.add("ok_call", [](const json&, const ClientContext&) { return HandlerResult::ok(1); });
    d.add("bad_params", [](const json&, const ClientContext&) {
        return HandlerResult::fail(rpc_error::kInvalidParams, "no");
    });
    d.add("odd_code",  // a code outside the usual ones: counted through labels
          [](const json&, const ClientContext&) { return HandlerResult::fail(7, "odd"); });
    Metrics m;
    install_call_observer(d, m);
    // Added after the observer: counted through labels too.
    d.add("late", [](const json&, const ClientContext&) { return HandlerResult::ok(2); });
    const auto body = [](const std::string& method) {
        return R"({"jsonrpc":"2.0","method":")" + method + R"(","params":[],"id":1})";
    };
    EXPECT_EQ(m.render().find("ok_call"), std::string::npos) << "no sample before a call";
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 250; ++i) {
                (void)d.handle(body("ok_call"), {});
                (void)d.handle(body("late"), {});
                if (i % 50 == 0) {
                    (void)d.handle(body("bad_params"), {});
                    (void)d.handle(body("odd_code"), {});
                    (void)d.handle(body("nope"), {});
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    const auto requests = [&](const std::string& method, const std::string& code) {
        return m.value(Metrics::kRequests, {{"method", method}, {"code", code}});
    };
    EXPECT_EQ(requests("ok_call", "0"), 1000);
    EXPECT_EQ(requests("late", "0"), 1000);
    EXPECT_EQ(requests("bad_params", "-32602"), 20);
    EXPECT_EQ(requests("odd_code", "7"), 20);
    EXPECT_EQ(requests("<unknown>", "-32601"), 20);
    EXPECT_EQ(requests("ok_call", "-32602"), 0);
    const std::string text = m.render();
    for (const auto& [method, n] : std::vector<std::pair<std::string, int>>{
             {"ok_call", 1000}, {"late", 1000}, {"bad_params", 20}, {"<unknown>", 20}}) {
        const std::string count = "teesigner_rpc_request_duration_seconds_count{method=\"" +
                                  method + "\"} " + std::to_string(n) + "\n";
        const std::string inf = "teesigner_rpc_request_duration_seconds_bucket{method=\"" + method +
                                "\",le=\"+Inf\"} " + std::to_string(n) + "\n";
        EXPECT_NE(text.find(count), std::string::npos) << count << text;
        EXPECT_NE(text.find(inf), std::string::npos) << inf << text;
    }
    EXPECT_NE(text.find("teesigner_rpc_requests_total{method=\"ok_call\",code=\"0\"} 1000\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("{method=\"ok_call\",code=\"-32602\"}"), std::string::npos) << text;
}

TEST(Logging, JsonEscape) {
    EXPECT_EQ(json_escape("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
    EXPECT_NO_THROW(setup_logging("json", "warn"));
    EXPECT_NO_THROW(setup_logging("text", "info"));
    EXPECT_THROW(setup_logging("xml", "info"), std::runtime_error);
    EXPECT_THROW(setup_logging("text", "loud"), std::runtime_error);
}

}  // namespace
