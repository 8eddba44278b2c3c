// TeeKeyService against the real soft TEE (the signer TA in a sandboxed child
// process, fresh temporary storage), through the RPC methods: signatures are
// checked with the core verifiers, attestation against its documented format,
// and a killed TA process is restarted and counted.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "rpc_methods.hpp"
#include "server.hpp"

#ifdef TS_SIGNERD_HAVE_TEE
#include "tee_key_service.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/sr25519.hpp"

using namespace teesigner::signerd;
using teesigner::core::Bytes;
using teesigner::core::from_hex;
using teesigner::core::to_hex;

namespace {

class TeeServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        spdlog::set_level(spdlog::level::warn);
        char tmpl[] = "/tmp/ts-signerd-tee-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        TeeOptions o;
        o.backend = "soft";
        o.softtee_storage = dir_ + "/softtee";
        service_ = std::make_unique<TeeKeyService>(o, &metrics_);
        register_rpc_methods(dispatcher_, *service_, metrics_);
        install_call_observer(dispatcher_, metrics_);
    }
    void TearDown() override {
        service_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    json rpc(const std::string& method, const json& params) {
        json req = {{"jsonrpc", "2.0"}, {"method", method}, {"params", params}, {"id", 1}};
        auto out = dispatcher_.handle(req.dump(), ClientContext{});
        return out ? json::parse(*out) : json();
    }
    json result(const std::string& method, const json& params) {
        auto r = rpc(method, params);
        EXPECT_TRUE(r.contains("result")) << method << ": " << r.dump();
        return r["result"];
    }

    std::string dir_;
    Metrics metrics_;
    RpcDispatcher dispatcher_;
    std::unique_ptr<TeeKeyService> service_;
};

Bytes unhex(const json& v) {
    return from_hex(v.get<std::string>()).value();
}

TEST_F(TeeServiceTest, RotateKeysThenSignWithEachScheme) {
    const json blob = result("author_rotateKeys", json::array());
    const Bytes keys = unhex(blob);
    ASSERT_EQ(keys.size(), kSessionKeysSize);
    EXPECT_EQ(result("author_hasSessionKeys", json::array({blob})), true);

    const auto parts = split_session_keys(keys);
    const std::string gran = to_hex(parts[0].first), babe = to_hex(parts[1].first),
                      beef = to_hex(parts[5].first);
    EXPECT_EQ(result("author_hasKey", {babe, "babe"}), true);
    EXPECT_EQ(result("author_hasKey", {babe, "para"}), false);
    EXPECT_EQ(result("keystore_hasKeys", json::array({json::array({json::array({babe, "babe"}),
                                                                   json::array({gran, "gran"})})})),
              true);
    auto listed = result("keystore_publicKeys", {"babe", "sr25519"});
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0], babe);
    EXPECT_EQ(result("keystore_publicKeys", {"babe", "ed25519"}).size(), 0u);

    using teesigner::core::Error;
    using teesigner::core::Scheme;
    const Bytes msg = {1, 2, 3, 4, 5};
    const std::string msg_hex = to_hex(msg);
    Bytes sig = unhex(result("keystore_sign", {"babe", "sr25519", babe, msg_hex}));
    EXPECT_EQ(teesigner::core::verify(Scheme::sr25519, sig, msg, unhex(babe)), Error::ok);
    sig = unhex(result("keystore_sign", {"gran", "ed25519", gran, msg_hex}));
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519, sig, msg, unhex(gran)), Error::ok);
    sig = unhex(result("keystore_sign", {"beef", "ecdsa", beef, msg_hex}));
    EXPECT_EQ(teesigner::core::verify(Scheme::ecdsa, sig, msg, unhex(beef)), Error::ok);
    const Bytes prehash(32, 0x42);
    sig = unhex(result("keystore_ecdsaSignPrehashed", {"beef", beef, to_hex(prehash)}));
    EXPECT_EQ(teesigner::core::verify_prehashed(sig, prehash, unhex(beef)), Error::ok);

    // Right key, wrong key type; and a key the TEE never had.
    EXPECT_EQ(rpc("keystore_sign", {"gran", "sr25519", babe, msg_hex})["error"]["code"],
              rpc_error::kKeyNotFound);
    EXPECT_EQ(rpc("keystore_sign",
                  {"babe", "sr25519", "0x" + std::string(64, '7'), msg_hex})["error"]["code"],
              rpc_error::kKeyNotFound);

    // Key counts reach the metrics.
    EXPECT_EQ(metrics_.value(Metrics::kKeys, {{"key_type", "babe"}, {"scheme", "sr25519"}}), 1);
    EXPECT_EQ(metrics_.value(Metrics::kKeys, {{"key_type", "beef"}, {"scheme", "ecdsa"}}), 1);
}

TEST_F(TeeServiceTest, GenerateNewAndDevSeedsRefused) {
    const json pk = result("keystore_generateNew", {"audi", "sr25519"});
    EXPECT_EQ(unhex(pk).size(), 32u);
    EXPECT_EQ(result("keystore_publicKeys", {"audi", "sr25519"}), json::array({pk}));
    auto r = rpc("keystore_generateNew", {"audi", "sr25519", "//Alice"});
    EXPECT_EQ(r["error"]["code"], rpc_error::kPolicyRefused);
    EXPECT_EQ(metrics_.value(Metrics::kRefusals, {{"rule", "dev_seed"}}), 1);
}

TEST_F(TeeServiceTest, VrfSignVerifiesWithCoreVerifier) {
    const json pk = result("keystore_generateNew", {"babe", "sr25519"});
    // BABE's slot-claim transcript shape: label "BABE", three items.
    const Bytes slot = {7, 0, 0, 0, 0, 0, 0, 0}, epoch = {1, 0, 0, 0, 0, 0, 0, 0};
    const Bytes randomness(32, 9);
    json transcript = {
        {"label", to_hex(teesigner::core::as_bytes("BABE"))},
        {"items",
         json::array(
             {json::array({to_hex(teesigner::core::as_bytes("slot number")), to_hex(slot)}),
              json::array({to_hex(teesigner::core::as_bytes("current epoch")), to_hex(epoch)}),
              json::array(
                  {to_hex(teesigner::core::as_bytes("chain randomness")), to_hex(randomness)})})}};
    auto make_input = [&]() {
        teesigner::core::Transcript t("BABE");
        t.append_message("slot number", slot);
        t.append_message("current epoch", epoch);
        t.append_message("chain randomness", randomness);
        return t;
    };
    json r = result("keystore_sr25519VrfSign", {"babe", pk, transcript});
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(r["signature"].get<std::string>(),
              r["preOutput"].get<std::string>() + r["proof"].get<std::string>().substr(2));
    auto verified = teesigner::core::sr25519::vrf_verify(unhex(pk), make_input(),
                                                         unhex(r["preOutput"]), unhex(r["proof"]));
    EXPECT_TRUE(verified.ok());

    // With an extra transcript (signed, not part of the output).
    transcript["extra"] = {{"label", to_hex(teesigner::core::as_bytes("extra"))},
                           {"items", json::array({json::array({"0x01", "0x02"})})}};
    r = result("keystore_sr25519VrfSign", {"babe", pk, transcript});
    teesigner::core::Transcript extra("extra");
    extra.append_message(Bytes{1}, Bytes{2});
    verified = teesigner::core::sr25519::vrf_verify(unhex(pk), make_input(), unhex(r["preOutput"]),
                                                    unhex(r["proof"]), extra);
    EXPECT_TRUE(verified.ok());
    // Wrong extra: the proof does not verify.
    verified = teesigner::core::sr25519::vrf_verify(unhex(pk), make_input(), unhex(r["preOutput"]),
                                                    unhex(r["proof"]));
    EXPECT_FALSE(verified.ok());
    // sr25519 only: an ed25519 key of the same bytes is not found.
    EXPECT_EQ(rpc("keystore_sr25519VrfSign", {"gran", pk, transcript})["error"]["code"],
              rpc_error::kKeyNotFound);
}

TEST_F(TeeServiceTest, AttestationBindsNonceAndKeys) {
    result("author_rotateKeys", json::array());
    const Bytes nonce = {0xde, 0xad, 0xbe, 0xef};
    const json a = result("signer_attest", {to_hex(nonce)});
    EXPECT_EQ(a["kind"], "self-attested");
    EXPECT_EQ(a["details"]["nonce"], to_hex(nonce));
    ASSERT_EQ(a["details"]["keys"].size(), 6u);
    // report_data = blake2_256(nonce ++ public keys in statement order).
    Bytes bound = nonce;
    for (const auto& k : a["details"]["keys"]) {
        Bytes pk = unhex(k["public"]);
        bound.insert(bound.end(), pk.begin(), pk.end());
    }
    EXPECT_EQ(a["reportData"], to_hex(teesigner::core::blake2b_256(bound)));
    EXPECT_EQ(teesigner::core::ed25519::verify(unhex(a["signature"]), unhex(a["statement"]),
                                               unhex(a["attestationKey"])),
              teesigner::core::Error::ok);
    EXPECT_EQ(rpc("signer_attest", {"0x" + std::string(130, '0')})["error"]["code"],
              rpc_error::kInvalidParams);
}

TEST_F(TeeServiceTest, KilledTaProcessIsRestartedAndCounted) {
    const json pk = result("keystore_generateNew", {"gran", "ed25519"});
    const long pid = service_->tee_process_id();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
    // Give the kernel a moment to deliver the kill.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // A read-only call is retried on a fresh TA process transparently; the key
    // survived in sealed storage.
    EXPECT_EQ(result("author_hasKey", {pk, "gran"}), true);
    EXPECT_NE(service_->tee_process_id(), pid);
    EXPECT_EQ(metrics_.value(Metrics::kTeeRestarts), 1);
    EXPECT_EQ(result("signer_health", json::array())["teeRestarts"], 1);

    // A signing call on a dead TA fails with kTeeUnavailable (never retried
    // blindly); the next call works again.
    ASSERT_EQ(::kill(static_cast<pid_t>(service_->tee_process_id()), SIGKILL), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = rpc("keystore_sign", {"gran", "ed25519", pk, "0x00"});
    EXPECT_EQ(r["error"]["code"], rpc_error::kTeeUnavailable) << r.dump();
    EXPECT_TRUE(result("keystore_sign", {"gran", "ed25519", pk, "0x00"}).is_string());
    EXPECT_EQ(metrics_.value(Metrics::kTeeRestarts), 2);
}

TEST(TeeContextName, SoftTeeConfigurationString) {
    TeeOptions o;
    o.softtee_storage = "/var/lib/x";
    o.softtee_ta = "/usr/libexec/ta";
    o.softtee_timeout_ms = 5000;
    EXPECT_EQ(tee_context_name(o), "softtee:storage=/var/lib/x,ta=/usr/libexec/ta,timeout_ms=5000");
    o.softtee_storage = "/a,b";
    EXPECT_THROW(tee_context_name(o), std::runtime_error);
    o.backend = "optee";
    EXPECT_EQ(tee_context_name(o), "");
    o.backend = "sgx";
    EXPECT_THROW(tee_context_name(o), std::runtime_error);
}

TEST(TeeStartup, BusyStorageIsAClearError) {
    char tmpl[] = "/tmp/ts-signerd-tee-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    TeeOptions o;
    o.softtee_storage = std::string(tmpl) + "/softtee";
    {
        TeeKeyService first(o, nullptr);
        try {
            TeeKeyService second(o, nullptr);
            FAIL() << "a second service on the same storage must be refused";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("soft TEE"), std::string::npos) << e.what();
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
}

}  // namespace

#else
TEST(TeeService, SkippedWithoutTeeBackend) {
    GTEST_SKIP() << "built without a TEE backend";
}
#endif
