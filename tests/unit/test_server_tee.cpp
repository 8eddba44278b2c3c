// TeeKeyService against the real soft TEE (the signer TA in a sandboxed child
// process, fresh temporary storage), through the RPC methods: signatures are
// checked with the core verifiers, attestation against its documented format,
// and a killed TA process is restarted and counted.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "dispatcher_hooks.hpp"
#include "rpc_methods.hpp"
#include "server.hpp"

#ifdef TS_SIGNERD_HAVE_TEE
#include "tee_key_service.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
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
        register_rpc_methods(dispatcher_, *service_, metrics_, method_options());
        install_call_observer(dispatcher_, metrics_);
    }
    virtual RpcMethodOptions method_options() { return {}; }
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
    // audi may sign opaque bytes; gran, babe and beef may not by default.
    const std::string audi = to_hex(parts[4].first);
    Bytes sig = unhex(result("keystore_sign", {"audi", "sr25519", audi, msg_hex}));
    EXPECT_EQ(teesigner::core::verify(Scheme::sr25519, teesigner::core::SignatureBytes(sig), msg,
                                      teesigner::core::PublicKeyBytes(unhex(audi))),
              Error::ok);
    for (const auto& [kt, scheme, pk] :
         {std::tuple{"babe", "sr25519", babe}, std::tuple{"gran", "ed25519", gran},
          std::tuple{"beef", "ecdsa", beef}}) {
        auto r = rpc("keystore_sign", {kt, scheme, pk, msg_hex});
        EXPECT_EQ(r["error"]["code"], rpc_error::kPolicyRefused) << r.dump();
        EXPECT_EQ(r["error"]["data"]["keyType"], kt) << r.dump();
        EXPECT_EQ(r["error"]["data"]["reason"], "opaque_refused");
    }
    EXPECT_EQ(metrics_.value(Metrics::kRefusals, {{"rule", "opaque_refused"}}), 3);
    const Bytes prehash(32, 0x42);
    EXPECT_EQ(rpc("keystore_ecdsaSignPrehashed", {"beef", beef, to_hex(prehash)})["error"]["code"],
              rpc_error::kPolicyRefused);
    // ecdsa under a key type without a slashable payload signs both ways.
    const json ecdt = result("keystore_generateNew", {"ecdt", "ecdsa"});
    sig = unhex(result("keystore_sign", {"ecdt", "ecdsa", ecdt, msg_hex}));
    EXPECT_EQ(teesigner::core::verify(Scheme::ecdsa, teesigner::core::SignatureBytes(sig), msg,
                                      teesigner::core::PublicKeyBytes(unhex(ecdt))),
              Error::ok);
    sig = unhex(result("keystore_ecdsaSignPrehashed", {"ecdt", ecdt, to_hex(prehash)}));
    EXPECT_EQ(teesigner::core::verify_prehashed(teesigner::core::SignatureBytes(sig), prehash,
                                                teesigner::core::PublicKeyBytes(unhex(ecdt))),
              Error::ok);

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

// SCALE((Message::Prevote/Precommit { target_hash, target_number }, round, set_id)).
Bytes grandpa_vote(uint8_t kind, uint8_t hash_byte, uint32_t number, uint64_t round,
                   uint64_t set_id) {
    Bytes b = {kind};
    b.insert(b.end(), 32, hash_byte);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(number >> (8 * i)));
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(round >> (8 * i)));
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(set_id >> (8 * i)));
    return b;
}

// SCALE(Commitment { payload: [(*b"mh", root)], block_number, validator_set_id }).
Bytes beefy_commitment(uint8_t root_byte, uint32_t block, uint64_t set_id) {
    Bytes b = {0x04, 'm', 'h', 0x80};
    b.insert(b.end(), 32, root_byte);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(block >> (8 * i)));
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(set_id >> (8 * i)));
    return b;
}

TEST_F(TeeServiceTest, GrandpaVotesAreProtectedOnTheKeystorePath) {
    using teesigner::core::Error;
    using teesigner::core::Scheme;
    const json gran = result("keystore_generateNew", {"gran", "ed25519"});
    const Bytes vote = grandpa_vote(0, 0xaa, 100, 7, 3);
    Bytes sig = unhex(result("keystore_sign", {"gran", "ed25519", gran, to_hex(vote)}));
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519, teesigner::core::SignatureBytes(sig), vote,
                                      teesigner::core::PublicKeyBytes(unhex(gran))),
              Error::ok);
    // The identical vote again: fine (a retry, or a redundant node).
    EXPECT_TRUE(result("keystore_sign", {"gran", "ed25519", gran, to_hex(vote)}).is_string());
    // A different prevote for the same (set id, round): equivocation, refused.
    const Bytes other = grandpa_vote(0, 0xbb, 101, 7, 3);
    auto r = rpc("keystore_sign", {"gran", "ed25519", gran, to_hex(other)});
    ASSERT_EQ(r["error"]["code"], rpc_error::kSlashingRefused) << r.dump();
    const json& data = r["error"]["data"];
    EXPECT_EQ(data["code"], "grandpa_prevote_equivocation");
    EXPECT_EQ(data["reason"], "conflict");
    EXPECT_EQ(data["rule"], "grandpa");
    EXPECT_EQ(data["position"], json::array({3, 7}));
    EXPECT_EQ(data["earlier"]["payloadHash"], to_hex(teesigner::core::blake2b_256(vote)));
    EXPECT_NE(r["error"]["message"].get<std::string>().find("set id 3, round 7"),
              std::string::npos);
    EXPECT_EQ(metrics_.value(Metrics::kRefusals, {{"rule", "grandpa_prevote_equivocation"}}), 1);
    // The typed method: same protection, plus the payload hash.
    const Bytes precommit = grandpa_vote(1, 0xaa, 100, 7, 3);
    json typed = result("signer_signGrandpaVote", {"gran", gran, to_hex(precommit)});
    EXPECT_EQ(typed["payloadHash"], to_hex(teesigner::core::blake2b_256(precommit)));
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519,
                                      teesigner::core::SignatureBytes(unhex(typed["signature"])),
                                      precommit, teesigner::core::PublicKeyBytes(unhex(gran))),
              Error::ok);
    r = rpc("signer_signGrandpaVote", {"gran", gran, to_hex(grandpa_vote(1, 0xcc, 100, 7, 3))});
    EXPECT_EQ(r["error"]["data"]["code"], "grandpa_precommit_equivocation") << r.dump();
    // Not a GRANDPA payload at all: the TA says so.
    r = rpc("signer_signGrandpaVote", {"gran", gran, "0x0102"});
    EXPECT_EQ(r["error"]["code"], rpc_error::kInvalidParams) << r.dump();
}

TEST_F(TeeServiceTest, BeefyCommitmentsTypedAndPolicy) {
    using teesigner::core::Error;
    const json beef = result("keystore_generateNew", {"beef", "ecdsa"});
    const Bytes c1 = beefy_commitment(0x11, 500, 2);
    json typed = result("signer_signBeefyCommitment", {"beef", beef, to_hex(c1)});
    const auto prehash = teesigner::core::keccak_256(c1);
    EXPECT_EQ(typed["payloadHash"], to_hex(prehash));
    EXPECT_EQ(teesigner::core::verify_prehashed(
                  teesigner::core::SignatureBytes(unhex(typed["signature"])), prehash,
                  teesigner::core::PublicKeyBytes(unhex(beef))),
              Error::ok);
    auto r =
        rpc("signer_signBeefyCommitment", {"beef", beef, to_hex(beefy_commitment(0x22, 500, 2))});
    EXPECT_EQ(r["error"]["code"], rpc_error::kSlashingRefused) << r.dump();
    EXPECT_EQ(r["error"]["data"]["code"], "beefy_equivocation");

    // The opaque policy: defaults, then allow beef (unprotected) and back.
    json policy = result("signer_protectionPolicy", json::array());
    auto allowed = [](const json& p, const std::string& kt) {
        for (const auto& e : p)
            if (e["keyType"] == kt) return e["allowOpaque"].get<bool>();
        return true;
    };
    EXPECT_FALSE(allowed(policy, "beef"));
    EXPECT_FALSE(allowed(policy, "babe"));
    EXPECT_FALSE(allowed(policy, "gran"));
    EXPECT_TRUE(allowed(policy, "audi"));
    const Bytes hash(32, 0x33);
    EXPECT_EQ(rpc("keystore_ecdsaSignPrehashed", {"beef", beef, to_hex(hash)})["error"]["code"],
              rpc_error::kPolicyRefused);
    policy = result("signer_setProtectionPolicy",
                    json::array({json::array({{{"keyType", "beef"}, {"allowOpaque", true}}})}));
    EXPECT_TRUE(allowed(policy, "beef"));
    EXPECT_TRUE(result("keystore_ecdsaSignPrehashed", {"beef", beef, to_hex(hash)}).is_string());
    result("signer_setProtectionPolicy", json::array({json::array()}));
    EXPECT_FALSE(allowed(result("signer_protectionPolicy", json::array()), "beef"));
    EXPECT_EQ(rpc("signer_setProtectionPolicy",
                  json::array({json::array({{{"keyType", "beef"}}})}))["error"]["code"],
              rpc_error::kInvalidParams);
}

TEST_F(TeeServiceTest, ProtectionExportImport) {
    const json gran = result("keystore_generateNew", {"gran", "ed25519"});
    result("keystore_sign", {"gran", "ed25519", gran, to_hex(grandpa_vote(0, 1, 10, 1, 1))});
    result("keystore_sign", {"gran", "ed25519", gran, to_hex(grandpa_vote(1, 1, 10, 1, 1))});
    json page = result("signer_exportProtection", json::array());
    ASSERT_TRUE(page["document"].is_string());
    EXPECT_GT(unhex(page["document"]).size(), 0u);
    EXPECT_TRUE(page["next"].is_null()) << page.dump();
    // Re-importing our own history adds nothing.
    json report = result("signer_importProtection", json::array({page["document"]}));
    EXPECT_GE(report["items"].get<int>(), 1);
    EXPECT_EQ(report["recordsAdded"], 0);
    EXPECT_EQ(rpc("signer_importProtection", {"0x00ff"})["error"]["code"],
              rpc_error::kInvalidParams);
    EXPECT_EQ(rpc("signer_exportProtection", {"-1"})["error"]["code"], rpc_error::kInvalidParams);
    EXPECT_TRUE(result("signer_exportProtection", {"0", 4096})["document"].is_string());
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

// The input as its 64-byte hash (what a forwarder holding sp-core 43's finished
// transcript sends): the VRF verifies with the core verifier against the
// original transcript, with the transcript form's pre-output; also through the
// asynchronous form, concurrently, so requests share SIGN_BATCH commands.
TEST_F(TeeServiceTest, VrfSignWithInputHashVerifiesAgainstTheTranscript) {
    namespace sr = teesigner::core::sr25519;
    const json pk = result("keystore_generateNew", {"babe", "sr25519"});
    const Bytes pk_bytes = unhex(pk);
    sr::PublicKey public_key{};
    std::copy(pk_bytes.begin(), pk_bytes.end(), public_key.begin());
    auto make_input = [](uint64_t slot) {
        teesigner::core::Transcript t("BABE");
        t.append_u64("slot number", slot);
        t.append_u64("current epoch", 1);
        t.append_message("chain randomness", Bytes(32, 9));
        return t;
    };
    // What the forwarder does with a clone of its transcript.
    auto input_hash = [&](uint64_t slot) {
        teesigner::core::Transcript t = make_input(slot);
        t.append_message("vrf-nm-pk", pk_bytes);
        sr::VrfInputHash h{};
        t.challenge_bytes("VRFHash", h);
        return h;
    };
    json transcript = {{"inputHash", to_hex(input_hash(7))}};
    json r = result("keystore_sr25519VrfSign", {"babe", pk, transcript});
    ASSERT_TRUE(r.is_object());
    EXPECT_TRUE(
        sr::vrf_verify(pk_bytes, make_input(7), unhex(r["preOutput"]), unhex(r["proof"])).ok());
    EXPECT_FALSE(
        sr::vrf_verify(pk_bytes, make_input(8), unhex(r["preOutput"]), unhex(r["proof"])).ok());
    EXPECT_EQ(r["signature"].get<std::string>(),
              r["preOutput"].get<std::string>() + r["proof"].get<std::string>().substr(2));
    // The transcript form gives the same pre-output (sr25519_vrf_pre_output).
    const Bytes slot7 = {7, 0, 0, 0, 0, 0, 0, 0}, epoch1 = {1, 0, 0, 0, 0, 0, 0, 0};
    json listed = {
        {"label", to_hex(teesigner::core::as_bytes("BABE"))},
        {"items",
         json::array(
             {json::array({to_hex(teesigner::core::as_bytes("slot number")), to_hex(slot7)}),
              json::array({to_hex(teesigner::core::as_bytes("current epoch")), to_hex(epoch1)}),
              json::array({to_hex(teesigner::core::as_bytes("chain randomness")),
                           to_hex(Bytes(32, 9))})})}};
    EXPECT_EQ(result("keystore_sr25519VrfSign", {"babe", pk, listed})["preOutput"], r["preOutput"]);

    // With an extra transcript: signed by the proof.
    transcript["extra"] = {{"label", to_hex(teesigner::core::as_bytes("extra"))},
                           {"items", json::array({json::array({"0x01", "0x02"})})}};
    r = result("keystore_sr25519VrfSign", {"babe", pk, transcript});
    teesigner::core::Transcript extra("extra");
    extra.append_message(Bytes{1}, Bytes{2});
    EXPECT_TRUE(
        sr::vrf_verify(pk_bytes, make_input(7), unhex(r["preOutput"]), unhex(r["proof"]), extra)
            .ok());
    EXPECT_FALSE(
        sr::vrf_verify(pk_bytes, make_input(7), unhex(r["preOutput"]), unhex(r["proof"])).ok());
    // Unknown key and ed25519 keys: -32003, as the transcript form.
    EXPECT_EQ(rpc("keystore_sr25519VrfSign", {"gran", pk, transcript})["error"]["code"],
              rpc_error::kKeyNotFound);
    // Bad hashes never reach the TEE.
    EXPECT_EQ(rpc("keystore_sr25519VrfSign",
                  {"babe", pk, json{{"inputHash", "0x" + std::string(126, '0')}}})["error"]["code"],
              -32602);
    // A hash that maps to the identity point (64 zero bytes does) is refused by
    // the TA: its pre-output would verify nowhere (found by fuzz_ta_command).
    EXPECT_EQ(rpc("keystore_sr25519VrfSign",
                  {"babe", pk, json{{"inputHash", "0x" + std::string(128, '0')}}})["error"]["code"],
              -32602);

    // Asynchronous callers on several threads, hashed and listed forms mixed.
    const KeyTypeId babe{'b', 'a', 'b', 'e'};
    constexpr int kThreads = 4, kPerThread = 16;
    std::mutex mu;
    std::condition_variable cv;
    int pending = 0, verified = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < kPerThread; ++k) {
                const uint64_t slot = static_cast<uint64_t>(t * kPerThread + k);
                VrfSignData data;
                if (k % 2 == 0) {
                    data.input_hash = input_hash(slot);
                } else {
                    data.transcript.label = Bytes{'B', 'A', 'B', 'E'};
                    Bytes s(8, 0);
                    for (size_t i = 0; i < 8; ++i) s[i] = static_cast<uint8_t>(slot >> (8 * i));
                    auto label = [](const char* l) {
                        return Bytes(l, l + std::char_traits<char>::length(l));
                    };
                    data.transcript.items = {{label("slot number"), s},
                                             {label("current epoch"), epoch1},
                                             {label("chain randomness"), Bytes(32, 9)}};
                }
                {
                    std::lock_guard lk(mu);
                    ++pending;
                }
                EXPECT_TRUE(service_->sr25519_vrf_sign_async(
                    babe, pk_bytes, data, [&, slot](Outcome<VrfSignature> o) {
                        const bool ok =
                            !o.error && sr::vrf_verify(pk_bytes, make_input(slot),
                                                       o.value.pre_output, o.value.proof)
                                            .ok();
                        std::lock_guard lk(mu);
                        if (ok) ++verified;
                        --pending;
                        cv.notify_all();
                    }));
            }
        });
    }
    for (auto& th : threads) th.join();
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return pending == 0; }));
    EXPECT_EQ(verified, kThreads * kPerThread);
}

// signer_retireKeys against the soft TEE with a fake clock: a window of 2
// sessions of 100 s. Refused (nothing retired) while a key signed within the
// window, while the records do not cover the window, and for the newest set
// without force; the old set retired after the window, gone for good, the new
// set intact; per-key answers; bad params -32602.
class RetireKeysTest : public TeeServiceTest {
  protected:
    RpcMethodOptions method_options() override {
        usage_options_.state_file = dir_ + "/key-usage.json";
        usage_options_.min_idle_sessions = 2;
        usage_options_.session_seconds = 100;
        usage_options_.clock = [this] { return now_.load(); };
        usage_options_.flush_interval_ms = 0;
        usage_ = std::make_unique<KeyUsage>(usage_options_);
        RpcMethodOptions o;
        o.usage = usage_.get();
        return o;
    }
    void TearDown() override {
        usage_.reset();
        TeeServiceTest::TearDown();
    }
    json retire(const json& params) { return rpc("signer_retireKeys", params); }
    std::map<std::string, json> by_type(const json& keys) {
        std::map<std::string, json> out;
        for (const auto& k : keys) out[k["keyType"].get<std::string>()] = k;
        return out;
    }

    std::atomic<int64_t> now_{1'700'000'000};
    KeyUsageOptions usage_options_;
    std::unique_ptr<KeyUsage> usage_;
};

TEST_F(RetireKeysTest, RefusedWithinTheWindowRetiredAfterIt) {
    const json old_blob = result("author_rotateKeys", json::array());
    const auto old_keys = split_session_keys(unhex(old_blob));
    const std::string old_audi = to_hex(old_keys[4].first);
    const std::string old_babe = to_hex(old_keys[1].first);
    const json new_blob = result("author_rotateKeys", json::array());
    const auto new_keys = split_session_keys(unhex(new_blob));
    const std::string new_audi = to_hex(new_keys[4].first);
    // The old audi key signs (opaque bytes are allowed for audi), the old babe
    // key makes a VRF: both count as use.
    result("keystore_sign", {"audi", "sr25519", old_audi, "0x0102"});
    now_ += 10;
    result("keystore_sr25519VrfSign",
           {"babe", old_babe, json{{"inputHash", "0x" + std::string(128, '7')}}});

    // At once: every old key refused, nothing retired.
    json r = retire(json::array({old_blob}));
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["code"], rpc_error::kRetireRefused);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("nothing was retired"),
              std::string::npos);
    auto keys = by_type(r["error"]["data"]["keys"]);
    ASSERT_EQ(keys.size(), 6u);
    EXPECT_EQ(keys["audi"]["status"], "refused");
    EXPECT_EQ(keys["audi"]["reason"], "signed_recently");
    EXPECT_EQ(keys["audi"]["lastSigned"], iso_utc(now_ - 10));
    EXPECT_EQ(keys["audi"]["retirableAt"], iso_utc(now_ - 10 + 200));
    EXPECT_EQ(keys["babe"]["reason"], "signed_recently");
    EXPECT_EQ(keys["gran"]["reason"], "usage_unknown");  // tracking began just now
    EXPECT_EQ(keys["gran"]["lastSigned"], nullptr);
    EXPECT_TRUE(result("author_hasSessionKeys", json::array({old_blob})).get<bool>());
    EXPECT_EQ(metrics_.value(Metrics::kRefusals, {{"rule", "retire"}}), 1);
    // force does not override a recent signature.
    r = retire(json{{"keys", old_blob}, {"force", true}});
    EXPECT_EQ(r["error"]["code"], rpc_error::kRetireRefused);
    keys = by_type(r["error"]["data"]["keys"]);
    EXPECT_EQ(keys["audi"]["reason"], "signed_recently");
    EXPECT_EQ(keys["gran"]["status"], "allowed");  // force covers usage_unknown
    EXPECT_TRUE(result("author_hasSessionKeys", json::array({old_blob})).get<bool>());

    // One second before the babe key's VRF leaves the window: still refused,
    // though audi (10 s earlier) is out of it.
    now_ += 199;
    r = retire(json::array({old_blob}));
    EXPECT_EQ(r["error"]["code"], rpc_error::kRetireRefused);
    keys = by_type(r["error"]["data"]["keys"]);
    EXPECT_EQ(keys["babe"]["reason"], "signed_recently");
    EXPECT_EQ(keys["audi"]["status"], "allowed");
    EXPECT_TRUE(result("author_hasSessionKeys", json::array({old_blob})).get<bool>());
    // Out of the window: the whole old set goes.
    now_ += 1;
    r = retire(json::array({old_blob}));
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["retired"], 6);
    for (const auto& k : r["result"]["keys"]) EXPECT_EQ(k["status"], "retired") << k.dump();
    EXPECT_FALSE(result("author_hasSessionKeys", json::array({old_blob})).get<bool>());
    for (const auto& [pk, kt] : old_keys)
        EXPECT_FALSE(result("author_hasKey", {to_hex(pk), key_type_string(kt)}).get<bool>());
    EXPECT_EQ(rpc("keystore_sign", {"audi", "sr25519", old_audi, "0x0102"})["error"]["code"],
              rpc_error::kKeyNotFound);
    // The new set is intact and signs.
    EXPECT_TRUE(result("author_hasSessionKeys", json::array({new_blob})).get<bool>());
    const Bytes msg = {5, 6};
    const json sig = result("keystore_sign", {"audi", "sr25519", new_audi, to_hex(msg)});
    EXPECT_EQ(teesigner::core::verify(teesigner::core::Scheme::sr25519,
                                      teesigner::core::SignatureBytes(unhex(sig)), msg,
                                      teesigner::core::PublicKeyBytes(unhex(new_audi))),
              teesigner::core::Error::ok);
    // Again: every key absent, not an error.
    r = retire(json::array({old_blob}));
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["retired"], 0);
    for (const auto& k : r["result"]["keys"]) EXPECT_EQ(k["status"], "absent");

    // The newest set: refused without force even once idle for the window...
    now_ += 1000;
    r = retire(json::array({new_blob}));
    EXPECT_EQ(r["error"]["code"], rpc_error::kRetireRefused);
    keys = by_type(r["error"]["data"]["keys"]);
    EXPECT_EQ(keys["gran"]["reason"], "newest_set");
    // ... and with force (as pairs this time) once every key is idle.
    json pairs = json::array();
    for (const auto& [pk, kt] : new_keys) pairs.push_back({to_hex(pk), key_type_string(kt)});
    r = retire(json{{"keys", pairs}, {"force", true}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["retired"], 6);
    EXPECT_FALSE(result("author_hasSessionKeys", json::array({new_blob})).get<bool>());
    EXPECT_EQ(by_type(r["result"]["keys"])["gran"]["scheme"], "ed25519");  // resolved
}

TEST_F(RetireKeysTest, UsageSurvivesARestartOfTheService) {
    const json blob = result("author_rotateKeys", json::array());
    const auto keys = split_session_keys(unhex(blob));
    const int64_t t0 = now_;
    result("keystore_sign", {"audi", "sr25519", to_hex(keys[4].first), "0x01"});
    now_ += 500;
    usage_->flush();
    // What a restarted signer reads from the state file.
    KeyUsage again(usage_options_);
    EXPECT_EQ(again.tracking_since(), t0);
    EXPECT_EQ(again.last_signed(keys[4].first), t0);
    EXPECT_FALSE(again.last_signed(keys[0].first).has_value());
    EXPECT_TRUE(again.in_newest_set(keys[0].first));
    EXPECT_EQ(again.check(keys[4].first, std::nullopt, false).status, RetireStatus::newest_set);
    EXPECT_EQ(again.check(keys[4].first, std::nullopt, true).status, RetireStatus::allowed);
    // A later signature (e.g. seen by another signer in the shared audit log) counts.
    EXPECT_EQ(again.check(keys[4].first, now_ - 10, true).status, RetireStatus::signed_recently);
    // The state file is plain JSON with the documented members.
    std::ifstream in(usage_options_.state_file);
    const json doc = json::parse(in);
    EXPECT_EQ(doc["version"], 1);
    EXPECT_EQ(doc["lastSigned"][teesigner::core::to_hex(keys[4].first, false)], t0);
    EXPECT_EQ(doc["newestSet"].size(), 6u);
}

TEST_F(RetireKeysTest, BadParams) {
    const json blob = result("author_rotateKeys", json::array());
    auto message = [&](const json& params) {
        json r = retire(params);
        EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
        return r["error"]["message"].get<std::string>();
    };
    EXPECT_EQ(message(json::array({"0x" + std::string(384, '0')})),
              "keys: expected 193 bytes, got 192");
    EXPECT_EQ(message(json::array({json::array()})),
              "keys: expected at least one [publicKey, keyType] pair");
    EXPECT_EQ(message(json::array({5})),
              "keys: expected a SessionKeys blob (0x hex, 193 bytes) or an array of "
              "[publicKey, keyType] pairs");
    EXPECT_EQ(
        message(json::array({json::array({json::array({"0x" + std::string(62, '1'), "audi"})})})),
        "keys[0][0]: expected at least 32 bytes");
    EXPECT_EQ(message(json::array({json::array({json::array({"0x" + std::string(64, '1')})})})),
              "keys[0]: expected a [publicKey, keyType] pair");
    EXPECT_EQ(
        message(json::array({json::array({json::array({"0x" + std::string(64, '1'), "aud"})})})),
        "keys[0][1]: key type must be exactly 4 ASCII characters, got \"aud\"");
    EXPECT_EQ(message(json{{"keys", blob}, {"force", "yes"}}), "force: expected a bool");
    EXPECT_EQ(message(json::array()), "missing parameter keys");
    EXPECT_EQ(message(json{{"keys", blob}, {"bogus", 1}}), "unknown parameter \"bogus\"");
    EXPECT_TRUE(result("author_hasSessionKeys", json::array({blob})).get<bool>());
}

TEST_F(TeeServiceTest, AttestationBindsNonceAndKeys) {
    result("author_rotateKeys", json::array());
    const Bytes nonce = {0xde, 0xad, 0xbe, 0xef};
    const json a = result("signer_attest", {to_hex(nonce)});
    EXPECT_EQ(a["kind"], "self-attested");
    EXPECT_FALSE(a.contains("tee"));
    EXPECT_EQ(a["teeUnavailable"], "the soft TEE has no attestation service");
    EXPECT_EQ(a["details"]["nonce"], to_hex(nonce));
    ASSERT_EQ(a["details"]["keys"].size(), 6u);
    // report_data = blake2_256(nonce ++ public keys in statement order).
    Bytes bound = nonce;
    for (const auto& k : a["details"]["keys"]) {
        Bytes pk = unhex(k["public"]);
        bound.insert(bound.end(), pk.begin(), pk.end());
    }
    EXPECT_EQ(a["reportData"], to_hex(teesigner::core::blake2b_256(bound)));
    EXPECT_EQ(teesigner::core::ed25519::verify(
                  teesigner::core::SignatureBytes(unhex(a["signature"])), unhex(a["statement"]),
                  teesigner::core::PublicKeyBytes(unhex(a["attestationKey"]))),
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
    auto r = rpc("keystore_sign", {"gran", "ed25519", pk, to_hex(grandpa_vote(0, 5, 1, 1, 1))});
    EXPECT_EQ(r["error"]["code"], rpc_error::kTeeUnavailable) << r.dump();
    EXPECT_TRUE(
        result("keystore_sign", {"gran", "ed25519", pk, to_hex(grandpa_vote(0, 5, 1, 1, 1))})
            .is_string());
    EXPECT_EQ(metrics_.value(Metrics::kTeeRestarts), 2);
}

// The asynchronous forms (what an RPC I/O thread calls) and the blocking ones
// share one group commit: every call is answered exactly once, with a valid
// signature or the refusal the blocking form would give, however they mix.
TEST_F(TeeServiceTest, AsyncAndBlockingCallersShareTheGroupCommitAndAreEachAnsweredOnce) {
    using teesigner::core::Error;
    using teesigner::core::Scheme;
    const KeyTypeId audi_type{'a', 'u', 'd', 'i'}, gran_type{'g', 'r', 'a', 'n'};
    const Bytes audi = unhex(result("keystore_generateNew", {"audi", "sr25519"}));
    const Bytes gran = unhex(result("keystore_generateNew", {"gran", "ed25519"}));

    // Idle TEE: the command runs on the calling thread, answered before return.
    bool answered = false;
    const Bytes first = {9, 9, 9};
    ASSERT_TRUE(
        service_->sign_async(audi_type, Scheme::sr25519, audi, first, [&](Outcome<Bytes> o) {
            answered = true;
            ASSERT_FALSE(o.error);
            EXPECT_EQ(
                teesigner::core::verify(Scheme::sr25519, teesigner::core::SignatureBytes(o.value),
                                        first, teesigner::core::PublicKeyBytes(audi)),
                Error::ok);
        }));
    EXPECT_TRUE(answered);

    constexpr int kThreads = 8, kPerThread = 40;
    struct Answer {
        int calls = 0;
        Outcome<Bytes> outcome;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Answer> answers(kThreads * kPerThread);
    int async_pending = 0;
    std::atomic<int> sync_failures{0};
    auto message = [](int i) {
        Bytes m = {0xab, static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)};
        return m;
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < kPerThread; ++k) {
                const int i = t * kPerThread + k;
                if (k % 3 == 2) {  // a blocking caller in between
                    Bytes sig = service_->sign(audi_type, Scheme::sr25519, audi, message(i));
                    if (teesigner::core::verify(Scheme::sr25519,
                                                teesigner::core::SignatureBytes(sig), message(i),
                                                teesigner::core::PublicKeyBytes(audi)) != Error::ok)
                        ++sync_failures;
                    std::lock_guard lk(mu);
                    answers[i].calls = 1;
                    continue;
                }
                {
                    std::lock_guard lk(mu);
                    ++async_pending;
                }
                const bool taken = service_->sign_async(audi_type, Scheme::sr25519, audi,
                                                        message(i), [&, i](Outcome<Bytes> o) {
                                                            std::lock_guard lk(mu);
                                                            ++answers[i].calls;
                                                            answers[i].outcome = std::move(o);
                                                            --async_pending;
                                                            cv.notify_all();
                                                        });
                EXPECT_TRUE(taken);
            }
        });
    }
    for (auto& th : threads) th.join();
    {
        std::unique_lock lk(mu);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return async_pending == 0; }))
            << async_pending << " asynchronous calls never answered";
    }
    EXPECT_EQ(sync_failures, 0);
    // The group-commit stage metrics saw each of the 321 signatures once: one
    // queue wait each, and batch sizes that add up to them.
    const std::string text = metrics_.render();
    auto sample = [&](const std::string& name) {
        const size_t at = text.find("\n" + name + " ");
        EXPECT_NE(at, std::string::npos) << name << " missing from\n" << text;
        return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
    };
    EXPECT_EQ(sample("teesigner_tee_queue_wait_seconds_count"), 1 + kThreads * kPerThread);
    EXPECT_EQ(sample("teesigner_tee_batch_requests_sum"), 1 + kThreads * kPerThread);
    const double commands = sample("teesigner_tee_command_duration_seconds_count");
    EXPECT_EQ(sample("teesigner_tee_batch_requests_count"), commands);
    EXPECT_GE(commands, 1);
    EXPECT_LE(commands, 1 + kThreads * kPerThread);
    EXPECT_GT(sample("teesigner_tee_command_duration_seconds_sum"), 0);
    for (size_t i = 0; i < answers.size(); ++i) {
        ASSERT_EQ(answers[i].calls, 1) << "call " << i;
        if (i % kPerThread % 3 == 2) continue;
        ASSERT_FALSE(answers[i].outcome.error) << "call " << i;
        EXPECT_EQ(teesigner::core::verify(
                      Scheme::sr25519, teesigner::core::SignatureBytes(answers[i].outcome.value),
                      message(static_cast<int>(i)), teesigner::core::PublicKeyBytes(audi)),
                  Error::ok)
            << "call " << i;
    }

    // Refusals and errors come back through the completion, as ServiceErrors.
    auto typed = [&](const Bytes& vote) {
        Outcome<SignedPayload> out;
        bool done = false;
        EXPECT_TRUE(service_->sign_typed_async(TypedPayload::grandpa_vote, gran_type, gran, vote,
                                               [&](Outcome<SignedPayload> o) {
                                                   out = std::move(o);
                                                   done = true;
                                               }));
        EXPECT_TRUE(done) << "idle TEE: answered on this thread";
        return out;
    };
    auto code_of = [](const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const ServiceError& err) {
            return err.code();
        } catch (...) {
        }
        return 0;
    };
    const Bytes vote = grandpa_vote(0, 0xaa, 100, 7, 3);
    auto ok = typed(vote);
    ASSERT_FALSE(ok.error);
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519,
                                      teesigner::core::SignatureBytes(ok.value.signature), vote,
                                      teesigner::core::PublicKeyBytes(gran)),
              Error::ok);
    auto refused = typed(grandpa_vote(0, 0xbb, 101, 7, 3));
    ASSERT_TRUE(refused.error);
    EXPECT_EQ(code_of(refused.error), rpc_error::kSlashingRefused);
    Outcome<Bytes> missing;
    ASSERT_TRUE(service_->sign_async(audi_type, Scheme::sr25519, Bytes(32, 7), first,
                                     [&](Outcome<Bytes> o) { missing = std::move(o); }));
    EXPECT_EQ(code_of(missing.error), rpc_error::kKeyNotFound);
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
