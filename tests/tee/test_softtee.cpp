// End-to-end tests of the soft TEE and the signer TA: real TA processes,
// sandbox, sealed storage, crash and tamper handling.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "signer_ta.h"
#include "softtee_harness.hpp"
#include "tee_client_api.h"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"
#include "ts_softtee.h"

namespace {

using namespace softtee_test;

// Reads sealed objects with the device key, as an attacker holding the
// storage directory could (the soft TEE's documented weakness); used to check
// the format and to learn generated seeds for the leak test.
class Unsealer {
  public:
    explicit Unsealer(const fs::path& storage) : dir_(storage) {
        Bytes device = slurp(storage / "device.key");
        EXPECT_EQ(device.size(), 32u);
        static const char kObj[] = "tee-signer soft-tee object key v1";
        static const char kName[] = "tee-signer soft-tee object name key v1";
        crypto_generichash(obj_key_, 32, reinterpret_cast<const uint8_t*>(kObj), sizeof kObj - 1,
                           device.data(), 32);
        crypto_generichash(name_key_, 32, reinterpret_cast<const uint8_t*>(kName), sizeof kName - 1,
                           device.data(), 32);
    }
    std::string file_for(const Bytes& id) const {
        uint8_t n[32];
        crypto_generichash(n, 32, id.data(), id.size(), name_key_, 32);
        return "o" + hex(n, 32);
    }
    std::optional<Bytes> open(const Bytes& id) const {
        Bytes file = slurp(dir_ / file_for(id));
        if (file.size() < 16 + 24 + 16) return std::nullopt;
        Bytes ad(file.begin(), file.begin() + 16);
        ad.insert(ad.end(), id.begin(), id.end());
        Bytes plain(file.size() - 16 - 24 - 16);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                plain.data(), nullptr, nullptr, file.data() + 40, file.size() - 40, ad.data(),
                ad.size(), file.data() + 16, obj_key_) != 0)
            return std::nullopt;
        return plain;
    }
    static Bytes key_id(const char* key_type, Scheme scheme, const Bytes& pk) {
        Bytes id;
        id.reserve(9 + pk.size());
        for (char c : {'k', 'e', 'y', '/'}) id.push_back(static_cast<uint8_t>(c));
        id.insert(id.end(), key_type, key_type + 4);
        id.push_back(static_cast<uint8_t>(scheme));
        id.insert(id.end(), pk.begin(), pk.end());
        return id;
    }

  private:
    fs::path dir_;
    uint8_t obj_key_[32];
    uint8_t name_key_[32];
};

// ---------------------------------------------------------------------------

TEST(SoftTee, GenerateSignVerifyAllSchemes) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    for (Scheme scheme : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
        Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("test", scheme));
        ASSERT_EQ(pk.size(), teesigner::core::public_key_size(scheme));
        expect_signs(tee, "test", scheme, pk);
        auto listed = decode_key_list(
            tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("test", scheme)), scheme);
        ASSERT_EQ(listed.size(), 1u);
        EXPECT_EQ(listed[0], pk);
    }
    // Wrong scheme or unknown key: not found, no signature.
    Bytes out;
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("abcd", Scheme::ed25519));
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("abcd", Scheme::sr25519, pk, pk), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("dcba", Scheme::ed25519, pk, pk), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
}

// The sealed key index has fixed bounds (signer_ta.h; the test TA's are 128
// keys per key type and 192 in all). Over them a key is refused with
// TA_SIGNER_ERROR_KEY_LIMIT and nothing is stored, while every existing key
// stays listed and usable, also after the TA restarts.
TEST(SoftTee, KeyLimitsRefuseNewKeysAndKeepTheOthers) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    std::vector<Bytes> lima;
    for (int i = 0; i < 128; ++i)
        lima.push_back(
            tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("lima", Scheme::sr25519)));
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request("lima", Scheme::sr25519), out),
              TA_SIGNER_ERROR_KEY_LIMIT);
    // Per key type, whatever the scheme.
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request("lima", Scheme::ed25519), out),
              TA_SIGNER_ERROR_KEY_LIMIT);
    // Other key types get keys up to the total.
    for (int i = 0; i < 64; ++i)
        tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("limb", Scheme::ed25519));
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request("limc", Scheme::ecdsa), out),
              TA_SIGNER_ERROR_KEY_LIMIT);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {}, out), TA_SIGNER_ERROR_KEY_LIMIT);

    tee.finalize();  // a new TA process reads the sealed state
    tee.start();
    EXPECT_EQ(decode_key_list(
                  tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("lima", Scheme::sr25519)),
                  Scheme::sr25519),
              lima);
    EXPECT_EQ(decode_key_list(
                  tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("limb", Scheme::ed25519)),
                  Scheme::ed25519)
                  .size(),
              64u);
    EXPECT_TRUE(decode_key_list(
                    tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("limc", Scheme::ecdsa)),
                    Scheme::ecdsa)
                    .empty());
    expect_signs(tee, "lima", Scheme::sr25519, lima.front());
    expect_signs(tee, "lima", Scheme::sr25519, lima.back());
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request("limc", Scheme::ecdsa), out),
              TA_SIGNER_ERROR_KEY_LIMIT);
}

TEST(SoftTee, EcdsaPrehashed) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    auto prehash = teesigner::core::blake2b_256(teesigner::core::as_bytes("some message"));
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("test", Scheme::ecdsa));
    ASSERT_EQ(pk.size(), 33u);
    Encoder e;
    e.raw(teesigner::core::as_bytes("test")).raw(pk).raw(prehash);
    Outcome o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED, e.take()));
    ASSERT_TRUE(o.ok && o.signed_);
    ASSERT_EQ(o.signature.size(), 65u);
    EXPECT_EQ(o.payload_hash, prehash);
    EXPECT_EQ(teesigner::core::verify_prehashed(teesigner::core::SignatureBytes(o.signature),
                                                prehash, teesigner::core::PublicKeyBytes(pk)),
              teesigner::core::Error::ok);
    // A BEEFY key signs opaque prehashes only if the policy allows it (it does
    // not by default: BEEFY votes go through SIGN_BEEFY_COMMITMENT).
    Bytes beef = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("beef", Scheme::ecdsa));
    Encoder b;
    b.raw(teesigner::core::as_bytes("beef")).raw(beef).raw(prehash);
    o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED, b.bytes()));
    ASSERT_TRUE(o.ok);
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, static_cast<uint8_t>(teesigner::core::protection::Reason::opaque_refused));
}

TEST(SoftTee, SessionKeysAndHasKeys) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes keys = tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    ASSERT_EQ(keys.size(), 193u);
    struct Part {
        const char* type;
        Scheme scheme;
    };
    const Part parts[] = {{"gran", Scheme::ed25519}, {"babe", Scheme::sr25519},
                          {"para", Scheme::sr25519}, {"asgn", Scheme::sr25519},
                          {"audi", Scheme::sr25519}, {"beef", Scheme::ecdsa}};
    size_t off = 0;
    Encoder has;
    has.compact(6);
    for (const Part& p : parts) {
        size_t n = teesigner::core::public_key_size(p.scheme);
        Bytes pk(keys.begin() + static_cast<long>(off), keys.begin() + static_cast<long>(off + n));
        off += n;
        expect_signs(tee, p.type, p.scheme, pk);
        auto listed = decode_key_list(
            tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request(p.type, p.scheme)), p.scheme);
        ASSERT_EQ(listed.size(), 1u);
        EXPECT_EQ(listed[0], pk);
        has.bytes(pk).raw(teesigner::core::as_bytes(p.type));
    }
    EXPECT_EQ(tee.call_ok(TA_SIGNER_CMD_HAS_KEYS, has.take()), Bytes{1});
    Encoder missing;
    missing.compact(1).bytes(Bytes(32, 7)).raw(teesigner::core::as_bytes("gran"));
    EXPECT_EQ(tee.call_ok(TA_SIGNER_CMD_HAS_KEYS, missing.take()), Bytes{0});
}

TEST(SoftTee, DevImportMatchesSubkeyWellKnownKeys) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    // `subkey inspect //Alice` (sr25519 and --scheme ed25519): the well-known
    // dev account public keys, as printed by subkey / used in every Substrate chain spec.
    Encoder a;
    a.raw(teesigner::core::as_bytes("babe")).u8(0).str("//Alice");
    EXPECT_EQ(teesigner::core::to_hex(tee.call_ok(TA_SIGNER_CMD_IMPORT_SURI, a.take())),
              "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    Encoder b;
    b.raw(teesigner::core::as_bytes("gran")).u8(1).str("//Alice");
    Bytes ed = tee.call_ok(TA_SIGNER_CMD_IMPORT_SURI, b.take());
    EXPECT_EQ(teesigner::core::to_hex(ed),
              "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee");
    expect_signs(tee, "gran", Scheme::ed25519, ed);
}

// BABE-style VRF through the TA, checked with the core's verifier on the
// same transcript (the node e2e test checks it against @polkadot/util-crypto).
TEST(SoftTee, VrfSignVerifies) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519));
    ASSERT_EQ(pk.size(), 32u);
    const uint8_t slot[8] = {0x10, 0x27, 0, 0, 0, 0, 0, 0};
    const uint8_t epoch[8] = {3, 0, 0, 0, 0, 0, 0, 0};
    const Bytes randomness(32, 0x5a);
    for (bool with_extra : {false, true}) {
        Encoder e;
        e.raw(teesigner::core::as_bytes("babe")).raw(pk);
        e.bytes(teesigner::core::as_bytes("BABE")).compact(3);
        e.bytes(teesigner::core::as_bytes("slot number")).bytes(ByteSpan(slot, 8));
        e.bytes(teesigner::core::as_bytes("current epoch")).bytes(ByteSpan(epoch, 8));
        e.bytes(teesigner::core::as_bytes("chain randomness")).bytes(randomness);
        if (with_extra) {
            e.some().bytes(teesigner::core::as_bytes("VRF")).compact(1);
            e.bytes(Bytes{}).bytes(teesigner::core::as_bytes("extra data"));
        } else {
            e.none();
        }
        Bytes sig = tee.call_ok(TA_SIGNER_CMD_VRF_SIGN, e.take());
        ASSERT_EQ(sig.size(), 96u);
        teesigner::core::Transcript input("BABE");
        input.append_message("slot number", ByteSpan(slot, 8));
        input.append_message("current epoch", ByteSpan(epoch, 8));
        input.append_message("chain randomness", randomness);
        ByteSpan pre(sig.data(), 32), proof(sig.data() + 32, 64);
        auto ok = with_extra ? teesigner::core::sr25519::vrf_verify(
                                   pk, input, pre, proof,
                                   teesigner::core::sr25519::vrf_extra_from_bytes(
                                       teesigner::core::as_bytes("extra data")))
                             : teesigner::core::sr25519::vrf_verify(pk, input, pre, proof);
        EXPECT_TRUE(ok.ok()) << with_extra;
    }
    // ed25519 keys cannot make VRF signatures.
    Bytes ed = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::ed25519));
    Encoder e;
    e.raw(teesigner::core::as_bytes("babe")).raw(ed).bytes(Bytes{'x'}).compact(0).none();
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_VRF_SIGN, e.take(), out), TEEC_ERROR_ITEM_NOT_FOUND);
}

// VRF_SIGN_HASHED: the input as the 64 bytes a forwarder computes from a clone
// of its transcript; the VRF verifies against that transcript, with the same
// pre-output as VRF_SIGN, alone and as an item of SIGN_BATCH.
TEST(SoftTee, VrfSignHashedVerifiesAgainstTheTranscript) {
    namespace sr = teesigner::core::sr25519;
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519));
    ASSERT_EQ(pk.size(), 32u);
    sr::PublicKey public_key{};
    std::copy(pk.begin(), pk.end(), public_key.begin());
    auto input = [](uint8_t slot) {
        teesigner::core::Transcript t("BABE");
        t.append_u64("slot number", slot);
        t.append_u64("current epoch", 3);
        t.append_message("chain randomness", Bytes(32, 0x5a));
        return t;
    };
    auto request = [&](const sr::VrfInputHash& h, bool with_extra) {
        Encoder e;
        e.raw(teesigner::core::as_bytes("babe")).raw(pk).raw(h);
        if (with_extra) {
            e.some().bytes(teesigner::core::as_bytes("VRF")).compact(1);
            e.bytes(Bytes{}).bytes(teesigner::core::as_bytes("extra data"));
        } else {
            e.none();
        }
        return e.take();
    };
    for (bool with_extra : {false, true}) {
        const sr::VrfInputHash h = sr::vrf_input_hash(public_key, input(7));
        Bytes sig = tee.call_ok(TA_SIGNER_CMD_VRF_SIGN_HASHED, request(h, with_extra));
        ASSERT_EQ(sig.size(), 96u);
        ByteSpan pre(sig.data(), 32), proof(sig.data() + 32, 64);
        auto ok =
            with_extra
                ? sr::vrf_verify(pk, input(7), pre, proof,
                                 sr::vrf_extra_from_bytes(teesigner::core::as_bytes("extra data")))
                : sr::vrf_verify(pk, input(7), pre, proof);
        EXPECT_TRUE(ok.ok()) << with_extra;
        EXPECT_FALSE(sr::vrf_verify(pk, input(8), pre, proof).ok());
        // The same pre-output as the transcript form.
        Encoder e;
        e.raw(teesigner::core::as_bytes("babe")).raw(pk);
        e.bytes(teesigner::core::as_bytes("BABE")).compact(3);
        e.bytes(teesigner::core::as_bytes("slot number")).bytes(Bytes{7, 0, 0, 0, 0, 0, 0, 0});
        e.bytes(teesigner::core::as_bytes("current epoch")).bytes(Bytes{3, 0, 0, 0, 0, 0, 0, 0});
        e.bytes(teesigner::core::as_bytes("chain randomness")).bytes(Bytes(32, 0x5a)).none();
        Bytes plain = tee.call_ok(TA_SIGNER_CMD_VRF_SIGN, e.take());
        EXPECT_EQ(Bytes(plain.begin(), plain.begin() + 32), Bytes(sig.begin(), sig.begin() + 32));
    }
    // In a batch, next to a transcript-form item.
    {
        const sr::VrfInputHash h1 = sr::vrf_input_hash(public_key, input(1));
        const sr::VrfInputHash h2 = sr::vrf_input_hash(public_key, input(2));
        Encoder b;
        b.compact(2);
        b.u32(TA_SIGNER_CMD_VRF_SIGN_HASHED).bytes(request(h1, false));
        b.u32(TA_SIGNER_CMD_VRF_SIGN_HASHED).bytes(request(h2, true));
        Bytes out = tee.call_ok(TA_SIGNER_CMD_SIGN_BATCH, b.take());
        Decoder d(out);
        ASSERT_EQ(d.compact_u64().value(), 2u);
        for (const uint8_t slot : {uint8_t{1}, uint8_t{2}}) {
            ASSERT_EQ(d.u32().value(), static_cast<uint32_t>(TEEC_SUCCESS));
            Bytes sig = d.bytes().value();
            ASSERT_EQ(sig.size(), 96u);
            ByteSpan pre(sig.data(), 32), proof(sig.data() + 32, 64);
            auto ok = slot == 2
                          ? sr::vrf_verify(
                                pk, input(slot), pre, proof,
                                sr::vrf_extra_from_bytes(teesigner::core::as_bytes("extra data")))
                          : sr::vrf_verify(pk, input(slot), pre, proof);
            EXPECT_TRUE(ok.ok()) << int{slot};
        }
    }
    // Malformed: a 63-byte hash, trailing bytes, an unknown key, an ed25519 key.
    Bytes out;
    {
        Encoder e;
        e.raw(teesigner::core::as_bytes("babe")).raw(pk).raw(Bytes(63, 1));
        EXPECT_EQ(tee.call(TA_SIGNER_CMD_VRF_SIGN_HASHED, e.take(), out), TEEC_ERROR_BAD_FORMAT);
    }
    {
        Bytes r = request(sr::VrfInputHash{}, false);
        r.push_back(0);
        EXPECT_EQ(tee.call(TA_SIGNER_CMD_VRF_SIGN_HASHED, r, out), TEEC_ERROR_BAD_FORMAT);
    }
    Bytes ed = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::ed25519));
    Encoder e;
    e.raw(teesigner::core::as_bytes("babe")).raw(ed).raw(sr::VrfInputHash{}).none();
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_VRF_SIGN_HASHED, e.take(), out), TEEC_ERROR_ITEM_NOT_FOUND);
}

TEST(SoftTee, ReleaseTaHasNoDevOrTestCommands) {
    TempDir dir;
    Tee tee(dir, TS_SOFTTEE_RELEASE_TA);
    tee.start();
    Encoder a;
    a.raw(teesigner::core::as_bytes("babe")).u8(0).str("//Alice");
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_IMPORT_SURI, a.take(), out), TEEC_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL, {}, out), TEEC_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_TEST_SPIN, Encoder().u32(1).take(), out),
              TEEC_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(tee.starts(), 1u);
}

TEST(SoftTee, ShortBufferCreatesNoKey) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes req = key_request("babe", Scheme::sr25519);
    uint8_t small[10];
    TEEC_Operation op{};
    op.paramTypes =
        TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = {req.data(), req.size()};
    op.params[1].tmpref = {small, sizeof small};
    uint32_t origin = 0;
    EXPECT_EQ(TEEC_InvokeCommand(tee.session(), TA_SIGNER_CMD_GENERATE_KEY, &op, &origin),
              TEEC_ERROR_SHORT_BUFFER);
    EXPECT_EQ(origin, static_cast<uint32_t>(TEEC_ORIGIN_TRUSTED_APP));
    EXPECT_EQ(op.params[1].tmpref.size, 32u);  // the size needed
    auto listed = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("babe", Scheme::sr25519)),
        Scheme::sr25519);
    EXPECT_EQ(listed.size(), 0u);
    // Through the helper (which retries with the size asked for): exactly one key.
    tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, req);
    listed = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("babe", Scheme::sr25519)),
        Scheme::sr25519);
    EXPECT_EQ(listed.size(), 1u);
}

TEST(SoftTee, WrongUuidAndBusyStorage) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    TEEC_Session other{};
    TEEC_UUID wrong = TA_SIGNER_UUID;
    wrong.timeLow ^= 1;
    uint32_t origin = 0;
    EXPECT_EQ(TEEC_OpenSession(tee.context(), &other, &wrong, TEEC_LOGIN_PUBLIC, nullptr, nullptr,
                               &origin),
              TEEC_ERROR_ITEM_NOT_FOUND);
    // A second TA process on the same storage directory is refused.
    Tee second(dir);
    EXPECT_EQ(second.init(), TEEC_ERROR_BUSY);
    EXPECT_NE(second.last_error().find("in use"), std::string::npos) << second.last_error();
}

TEST(SoftTee, KillMinusNineMidRequestThenRestart) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes keys = tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    ASSERT_EQ(keys.size(), 193u);
    pid_t pid = tee.pid();
    ASSERT_GT(pid, 0);

    TEEC_Result spin_rc = TEEC_SUCCESS;
    std::thread worker([&] {
        Bytes out;
        spin_rc = tee.call(TA_SIGNER_CMD_TEST_SPIN, Encoder().u32(10000).take(), out);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    worker.join();
    EXPECT_EQ(spin_rc, TEEC_ERROR_TARGET_DEAD);
    EXPECT_NE(tee.last_error().find("SIGKILL"), std::string::npos) << tee.last_error();

    // The old session is dead; a new one restarts the TA with every key intact.
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("gran", Scheme::ed25519), out),
              TEEC_ERROR_TARGET_DEAD);
    tee.reopen();
    EXPECT_EQ(tee.starts(), 2u);
    EXPECT_NE(tee.pid(), pid);
    Bytes gran(keys.begin(), keys.begin() + 32);
    Bytes beef(keys.end() - 33, keys.end());
    expect_signs(tee, "gran", Scheme::ed25519, gran);
    expect_signs(tee, "beef", Scheme::ecdsa, beef);
}

// kill -9 at random points while keys are being generated: every key whose
// generation was acknowledged survives, and every listed key signs.
TEST(SoftTee, KillDuringKeyGenerationNeverLeavesAnUnusableKey) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    std::vector<Bytes> acknowledged = {
        tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519))};
    std::mt19937 rng(12345);
    for (int round = 0; round < 12; ++round) {
        pid_t pid = tee.pid();
        std::atomic<bool> stop{false};
        std::thread worker([&] {
            Bytes out;
            while (!stop) {
                if (tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519),
                             out) != TEEC_SUCCESS)
                    break;
                acknowledged.push_back(out);
            }
        });
        std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 40000));
        kill(pid, SIGKILL);
        stop = true;
        worker.join();
        tee.reopen();
    }
    auto listed = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("babe", Scheme::sr25519)),
        Scheme::sr25519);
    for (const Bytes& pk : acknowledged)
        EXPECT_NE(std::find(listed.begin(), listed.end(), pk), listed.end())
            << "acknowledged key lost: " << teesigner::core::to_hex(pk);
    for (const Bytes& pk : listed) expect_signs(tee, "babe", Scheme::sr25519, pk);
}

TEST(SoftTee, ForbiddenSyscallKillsTaAndHostRestartsIt) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("audi", Scheme::sr25519));
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL, {}, out), TEEC_ERROR_TARGET_DEAD);
    EXPECT_NE(tee.last_error().find("seccomp"), std::string::npos) << tee.last_error();
    EXPECT_EQ(tee.pid(), -1);
    tee.reopen();
    EXPECT_EQ(tee.starts(), 2u);
    expect_signs(tee, "audi", Scheme::sr25519, pk);
}

TEST(SoftTee, FileAccessIsConfinedToTheStorageDirectory) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes out;
    auto open_rel = [&](const char* path) {
        return tee.call(TA_SIGNER_CMD_TEST_OPEN_RELATIVE, Encoder().str(path).take(), out);
    };
    // Inside the storage directory: allowed (sanity check of the probe).
    EXPECT_EQ(open_rel("counter"), TEEC_SUCCESS);
    EXPECT_EQ(open_rel("no-such-file"), TEEC_ERROR_ITEM_NOT_FOUND);
    std::string log(reinterpret_cast<const char*>(slurp(dir.log()).data()),
                    slurp(dir.log()).size());
    if (log.find("landlock: not supported") != std::string::npos)
        GTEST_SKIP() << "kernel without Landlock: only seccomp applies";
    // ta.log sits next to the storage directory; /etc/passwd is anywhere else.
    EXPECT_EQ(open_rel("../ta.log"), TEEC_ERROR_ACCESS_DENIED);
    EXPECT_EQ(open_rel("../../../../../../etc/passwd"), TEEC_ERROR_ACCESS_DENIED);
    EXPECT_EQ(open_rel("/etc/passwd"), TEEC_ERROR_ACCESS_DENIED);
    EXPECT_EQ(tee.starts(), 1u);  // refused, not killed
}

// Committed object files are written at the next checkpoint (an orderly stop
// is one); until then the journal and the TA's memory hold them. Tests that
// tamper with object files first let them reach the directory.
void restart_to_write_object_files(Tee& tee) {
    tee.finalize();
    tee.start();
}

TEST(SoftTee, FlippedByteIsRefusedOtherKeysStayUsable) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes good = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
    Bytes bad = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519));
    restart_to_write_object_files(tee);
    Unsealer u(dir.storage());
    fs::path victim = dir.storage() / u.file_for(Unsealer::key_id("babe", Scheme::sr25519, bad));
    ASSERT_TRUE(fs::exists(victim));
    Bytes file = slurp(victim);
    file[file.size() / 2] ^= 0x01;
    spit(victim, file);

    const Bytes msg = {1, 2, 3};
    Bytes out;
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("babe", Scheme::sr25519, bad, msg), out),
        kCorruptObject);
    EXPECT_STREQ(ts_teec_result_string(kCorruptObject),
                 "corrupt object (authentication of sealed data failed)");
    expect_signs(tee, "gran", Scheme::ed25519, good);
    // Still refused after a restart, still only that key.
    tee.finalize();
    tee.start();
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("babe", Scheme::sr25519, bad, msg), out),
        kCorruptObject);
    expect_signs(tee, "gran", Scheme::ed25519, good);
    std::string log(reinterpret_cast<const char*>(slurp(dir.log()).data()),
                    slurp(dir.log()).size());
    EXPECT_NE(log.find("fails authentication"), std::string::npos) << log;
}

// The TA reads a sealed object once per command (issue 6): a key pair and the
// opaque policy used by earlier commands are still read and authenticated again
// by the next one, so tampering after use is refused at the next request.
TEST(SoftTee, FlippedByteAfterUseIsRefusedAtTheNextRequest) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes audi = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("audi", Scheme::sr25519));
    Encoder allow;
    allow.compact(1).raw(teesigner::core::as_bytes("audi")).u8(1);
    tee.call_ok(TA_SIGNER_CMD_SET_PROTECTION_POLICY, allow.take());
    restart_to_write_object_files(tee);
    expect_signs(tee, "audi", Scheme::sr25519, audi);  // key pair and policy now cached
    expect_signs(tee, "audi", Scheme::sr25519, audi);

    Unsealer u(dir.storage());
    const Bytes msg = {4, 5, 6};
    Bytes out;
    auto flip = [](const fs::path& path) {
        Bytes file = slurp(path);
        file[file.size() / 2] ^= 0x01;
        spit(path, file);
        return file;
    };
    fs::path key_file = dir.storage() / u.file_for(Unsealer::key_id("audi", Scheme::sr25519, audi));
    Bytes key_bytes = slurp(key_file);
    flip(key_file);
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("audi", Scheme::sr25519, audi, msg), out),
        kCorruptObject);
    spit(key_file, key_bytes);
    expect_signs(tee, "audi", Scheme::sr25519, audi);

    const char policy_name[] = "prot/policy";
    fs::path policy_file =
        dir.storage() / u.file_for(Bytes(policy_name, policy_name + sizeof policy_name - 1));
    ASSERT_TRUE(fs::exists(policy_file));
    flip(policy_file);
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("audi", Scheme::sr25519, audi, msg), out),
        kCorruptObject);
    EXPECT_EQ(tee.starts(), 1u);  // refused, not killed
}

TEST(SoftTee, RestoringAnOlderStateFileIsDetectedAsRollback) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes first = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
    restart_to_write_object_files(tee);
    Unsealer u(dir.storage());
    fs::path index = dir.storage() / u.file_for(Bytes{'i', 'n', 'd', 'e', 'x'});
    ASSERT_TRUE(fs::exists(index));
    Bytes old_index = slurp(index);
    Bytes old_counter = slurp(dir.storage() / "counter");
    Bytes second = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
    restart_to_write_object_files(tee);

    spit(index, old_index);  // an attacker restores the index as it was
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("gran", Scheme::ed25519), out),
              TEEC_ERROR_SECURITY);
    // The counter is reloaded from disk at restart: still detected.
    tee.finalize();
    tee.start();
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("gran", Scheme::ed25519), out),
              TEEC_ERROR_SECURITY);
    std::string log(reinterpret_cast<const char*>(slurp(dir.log()).data()),
                    slurp(dir.log()).size());
    EXPECT_NE(log.find("ROLLBACK"), std::string::npos) << log;
    // Keys themselves are untouched and still sign.
    expect_signs(tee, "gran", Scheme::ed25519, first);
    expect_signs(tee, "gran", Scheme::ed25519, second);

    // Documented limit (docs/soft-tee.md): restoring the counter file together
    // with the objects (a whole-directory snapshot) is not detectable without
    // hardware; the older state is then served.
    tee.finalize();
    spit(dir.storage() / "counter", old_counter);
    tee.start();
    auto listed = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("gran", Scheme::ed25519)),
        Scheme::ed25519);
    EXPECT_EQ(listed.size(), 1u);
}

TEST(SoftTee, MissingCounterRefusesToStart) {
    TempDir dir;
    {
        Tee tee(dir);
        tee.start();
        tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
    }
    fs::remove(dir.storage() / "counter");
    Tee tee(dir);
    EXPECT_EQ(tee.init(), TEEC_ERROR_SECURITY);
    EXPECT_NE(tee.last_error().find("counter file is missing"), std::string::npos)
        << tee.last_error();
}

TEST(SoftTee, AttestationBindsNonceAndPublicKeys) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes keys = tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    Bytes nonce(32, 0x42);
    Bytes evidence = tee.call_ok(TA_SIGNER_CMD_ATTEST, Encoder().bytes(nonce).take());
    Decoder d(evidence);
    auto statement = d.bytes();
    auto sig = d.array<64>();
    ASSERT_TRUE(statement.ok() && sig.ok());
    ASSERT_EQ(d.finish(), teesigner::core::Error::ok);
    Decoder s(*statement);
    auto label = s.str();
    auto got_nonce = s.bytes();
    auto n = s.compact_u32();
    ASSERT_TRUE(label.ok() && got_nonce.ok() && n.ok());
    EXPECT_EQ(*label, TA_SIGNER_ATTEST_LABEL);
    EXPECT_EQ(*got_nonce, nonce);
    ASSERT_EQ(*n, 6u);
    Bytes bound = nonce;
    Bytes concatenated;
    for (uint32_t i = 0; i < *n; ++i) {
        auto kt = s.array<4>();
        auto scheme = s.u8();
        auto pk = s.bytes();
        ASSERT_TRUE(kt.ok() && scheme.ok() && pk.ok());
        bound.insert(bound.end(), pk->begin(), pk->end());
        concatenated.insert(concatenated.end(), pk->begin(), pk->end());
    }
    EXPECT_EQ(concatenated, keys);
    auto report = s.array<32>();
    auto attest_pk = s.array<32>();
    ASSERT_TRUE(report.ok() && attest_pk.ok());
    EXPECT_EQ(s.finish(), teesigner::core::Error::ok);
    EXPECT_EQ(*report, teesigner::core::blake2b_256(bound));
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519, teesigner::core::SignatureBytes(*sig),
                                      *statement, teesigner::core::PublicKeyBytes(*attest_pk)),
              teesigner::core::Error::ok);
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_ATTEST, Encoder().bytes(Bytes(65, 1)).take(), out),
              TEEC_ERROR_BAD_PARAMETERS);
}

// The soft TEE has no attestation service: ATTEST_TEE says so (the TA's
// TEE_OpenTASession to OP-TEE's attestation PTA finds nothing), and nothing
// else changes.
TEST(SoftTee, TeeAttestationIsUnavailable) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_ATTEST_TEE, Encoder().bytes(Bytes(16, 7)).take(), out),
              TA_SIGNER_ERROR_NO_TEE_ATTESTATION);
    EXPECT_FALSE(tee.call_ok(TA_SIGNER_CMD_ATTEST, Encoder().bytes(Bytes(16, 7)).take()).empty());
}

// Every command, against every stored key: no 8-byte window of any secret
// (seed, and for sr25519 the expanded scalar and nonce) appears in any response
// or in the TA's log.
TEST(SoftTee, NoSecretByteInAnyOutput) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    struct Stored {
        std::string type;
        Scheme scheme;
        Bytes pk;
    };
    std::vector<Stored> stored;
    // Dev imports: seeds known to the test from the core.
    const std::pair<const char*, Scheme> imports[] = {
        {"//Alice", Scheme::sr25519}, {"//Bob", Scheme::ed25519}, {"//Charlie", Scheme::ecdsa}};
    for (const auto& [suri, scheme] : imports) {
        Encoder e;
        e.raw(teesigner::core::as_bytes("test")).u8(static_cast<uint8_t>(scheme)).str(suri);
        stored.push_back({"test", scheme, tee.call_ok(TA_SIGNER_CMD_IMPORT_SURI, e.take())});
    }
    Bytes session = tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    ASSERT_EQ(session.size(), 193u);
    // Let every key sign arbitrary bytes, so that every key produces output here.
    Encoder policy;
    policy.compact(3);
    for (const char* t : {"gran", "babe", "beef"}) policy.raw(teesigner::core::as_bytes(t)).u8(1);
    tee.call_ok(TA_SIGNER_CMD_SET_PROTECTION_POLICY, policy.take());
    const std::pair<const char*, Scheme> parts[] = {
        {"gran", Scheme::ed25519}, {"babe", Scheme::sr25519}, {"para", Scheme::sr25519},
        {"asgn", Scheme::sr25519}, {"audi", Scheme::sr25519}, {"beef", Scheme::ecdsa}};
    size_t off = 0;
    for (const auto& [type, scheme] : parts) {
        size_t n = teesigner::core::public_key_size(scheme);
        stored.push_back({type, scheme,
                          Bytes(session.begin() + static_cast<long>(off),
                                session.begin() + static_cast<long>(off + n))});
        off += n;
    }
    for (Scheme scheme : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa})
        stored.push_back(
            {"gen0", scheme, tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gen0", scheme))});

    // Every command against every key, including failing variants.
    Bytes out;
    Encoder has;
    has.compact(stored.size());
    for (const Stored& k : stored) {
        const char* t = k.type.c_str();
        has.bytes(k.pk).raw(teesigner::core::as_bytes(k.type));
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request(t, k.scheme));
        for (const Bytes& msg : {Bytes{}, Bytes{0x42}, Bytes(1000, 0xab), k.pk}) {
            tee.call_ok(TA_SIGNER_CMD_SIGN_CHECKED, sign_request(t, k.scheme, k.pk, msg));
        }
        for (Scheme other : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa})
            (void)tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request(t, other, k.pk, k.pk), out);
        Encoder pre;
        pre.raw(teesigner::core::as_bytes(k.type)).raw(k.pk).raw(Bytes(32, 9));
        (void)tee.call(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED, pre.take(), out);
        (void)tee.call(TA_SIGNER_CMD_VRF_SIGN, sign_request(t, k.scheme, k.pk, k.pk), out);
        if (k.scheme == Scheme::sr25519) {
            Encoder vrf;
            vrf.raw(teesigner::core::as_bytes(k.type)).raw(k.pk).bytes(Bytes{'B'}).compact(1);
            vrf.bytes(Bytes{'s'}).bytes(Bytes(8, 1)).none();
            tee.call_ok(TA_SIGNER_CMD_VRF_SIGN, vrf.take());
        }
        (void)tee.call(TA_SIGNER_CMD_GENERATE_KEY, key_request(t, k.scheme), out);
    }
    tee.call_ok(TA_SIGNER_CMD_HAS_KEYS, has.take());
    tee.call_ok(TA_SIGNER_CMD_ATTEST, Encoder().bytes(Bytes(16, 1)).take());
    // The protected typed commands, and the protection export.
    for (const Stored& k : stored) {
        const char* t = k.type.c_str();
        if (k.scheme == Scheme::ed25519)
            (void)tee.call(
                TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                typed_request(t, k.pk,
                              teesigner::core::payloads::encode_grandpa_vote(
                                  {teesigner::core::payloads::GrandpaMessageKind::precommit,
                                   filled(1), 5, unique_number(), 1})),
                out);
        if (k.scheme == Scheme::sr25519)
            (void)tee.call(TA_SIGNER_CMD_SIGN_BABE_HEADER,
                           typed_request(t, k.pk, babe_header(unique_number(), 2)), out);
        if (k.scheme == Scheme::ecdsa)
            (void)tee.call(TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT,
                           typed_request(t, k.pk, beefy_commitment(2, 9, 9)), out);
    }
    tee.call_ok(TA_SIGNER_CMD_EXPORT_PROTECTION, Encoder().u64(0).u32(0).take());
    tee.call_ok(TA_SIGNER_CMD_GET_PROTECTION_POLICY, {});
    for (uint32_t cmd = 0; cmd < 0x20; ++cmd) (void)tee.call(cmd, Bytes(40, 0), out);
    (void)tee.call(TA_SIGNER_CMD_IMPORT_SURI, Bytes(3, 0), out);

    // Collect every secret: seeds from the sealed objects (read with the device
    // key, which the test may do) and check them against the imports' known seeds.
    std::vector<Bytes> secrets;
    std::vector<Stored> all = stored;
    for (Scheme scheme : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa})
        for (const char* t : {"test", "gran", "babe", "para", "asgn", "audi", "beef", "gen0"}) {
            Bytes raw;
            if (tee.call(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request(t, scheme), raw) != 0)
                continue;
            for (const Bytes& pk : decode_key_list(raw, scheme)) all.push_back({t, scheme, pk});
        }
    tee.finalize();  // its checkpoint writes every committed object file
    Unsealer u(dir.storage());
    for (const Stored& k : all) {
        auto record = u.open(Unsealer::key_id(k.type.c_str(), k.scheme, k.pk));
        ASSERT_TRUE(record.has_value()) << k.type;
        ASSERT_EQ(record->size(), 34u);
        Bytes seed(record->begin() + 2, record->end());
        auto pair = teesigner::core::KeyPair::from_seed(k.scheme, seed);
        ASSERT_TRUE(pair.ok());
        EXPECT_EQ(pair->public_key(), k.pk);  // the sealed seed is this key's
        secrets.push_back(seed);
        if (k.scheme == Scheme::sr25519) {
            auto kp = teesigner::core::sr25519::keypair_from_mini_secret(seed);
            ASSERT_TRUE(kp.ok());
            secrets.emplace_back(kp->secret.key.data(), kp->secret.key.data() + 32);
            secrets.emplace_back(kp->secret.nonce.data(), kp->secret.nonce.data() + 32);
        }
    }
    auto attest =
        u.open(Bytes{'a', 't', 't', 'e', 's', 't', 'a', 't', 'i', 'o', 'n', '-', 'k', 'e', 'y'});
    ASSERT_TRUE(attest.has_value());
    secrets.emplace_back(attest->begin() + 1, attest->end());
    for (const auto& [suri, scheme] : imports) {
        auto pair = teesigner::core::KeyPair::from_suri(scheme, suri);
        ASSERT_TRUE(pair.ok() && pair->seed().has_value());
        Bytes seed(pair->seed()->data(), pair->seed()->data() + 32);
        EXPECT_NE(std::find(secrets.begin(), secrets.end(), seed), secrets.end()) << suri;
    }
    ASSERT_GE(secrets.size(), 12u);

    std::set<std::string> windows;
    for (const Bytes& s : secrets)
        for (size_t i = 0; i + 8 <= s.size(); ++i) windows.insert(hex(s.data() + i, 8));
    auto scan = [&](const Bytes& haystack, const char* what) {
        for (size_t i = 0; i + 8 <= haystack.size(); ++i)
            ASSERT_EQ(windows.count(hex(haystack.data() + i, 8)), 0u)
                << "secret bytes in " << what << " at offset " << i;
    };
    ASSERT_GT(tee.transcript().size(), 5000u);
    scan(tee.transcript(), "TA responses");
    scan(slurp(dir.log()), "TA log");
}

// DELETE_KEY retires exactly one key, for good: gone from the index, unusable,
// its object file removed, after a restart too; the other keys untouched.
Bytes delete_request(const char* key_type, Scheme scheme, const Bytes& pk) {
    Encoder e(key_request(key_type, scheme));
    e.bytes(pk);
    return e.take();
}

bool listed(Tee& tee, const char* key_type, Scheme scheme, const Bytes& pk) {
    auto keys = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request(key_type, scheme)), scheme);
    return std::find(keys.begin(), keys.end(), pk) != keys.end();
}

TEST(SoftTee, DeleteKeyRetiresOneKeyForGood) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    const Bytes session = tee.call_ok(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    const Bytes gran(session.begin(), session.begin() + 32);
    const Bytes babe(session.begin() + 32, session.begin() + 64);
    const Bytes beef(session.end() - 33, session.end());
    const Bytes other =
        tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("babe", Scheme::sr25519));
    restart_to_write_object_files(tee);
    Unsealer u(dir.storage());
    const fs::path file =
        dir.storage() / u.file_for(Unsealer::key_id("babe", Scheme::sr25519, babe));
    ASSERT_TRUE(fs::exists(file));

    Bytes out;
    // Another scheme or key type, or a malformed request: nothing happens.
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("babe", Scheme::ed25519, babe), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("audi", Scheme::sr25519, babe), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_DELETE_KEY, key_request("babe", Scheme::sr25519), out),
              TEEC_ERROR_BAD_FORMAT);
    EXPECT_TRUE(listed(tee, "babe", Scheme::sr25519, babe));

    EXPECT_TRUE(tee.call_ok(TA_SIGNER_CMD_DELETE_KEY, delete_request("babe", Scheme::sr25519, babe))
                    .empty());
    auto gone = [&] {
        EXPECT_FALSE(listed(tee, "babe", Scheme::sr25519, babe));
        const Bytes msg = {1, 2, 3};
        Bytes o;
        EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_CHECKED,
                           sign_request("babe", Scheme::sr25519, babe, msg), o),
                  TEEC_ERROR_ITEM_NOT_FOUND);
        Encoder vrf;
        vrf.raw(teesigner::core::as_bytes("babe")).raw(babe).raw(Bytes(64, 1)).none();
        EXPECT_EQ(tee.call(TA_SIGNER_CMD_VRF_SIGN_HASHED, vrf.take(), o),
                  TEEC_ERROR_ITEM_NOT_FOUND);
        Encoder has;
        has.compact(1).bytes(babe).raw(teesigner::core::as_bytes("babe"));
        EXPECT_EQ(tee.call_ok(TA_SIGNER_CMD_HAS_KEYS, has.take()), Bytes{0});
        EXPECT_EQ(
            tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("babe", Scheme::sr25519, babe), o),
            TEEC_ERROR_ITEM_NOT_FOUND);
        EXPECT_FALSE(fs::exists(file));  // the sealed seed is off the disk
        // The others stay.
        EXPECT_TRUE(listed(tee, "babe", Scheme::sr25519, other));
        expect_signs(tee, "babe", Scheme::sr25519, other);
        expect_signs(tee, "gran", Scheme::ed25519, gran);
        expect_signs(tee, "beef", Scheme::ecdsa, beef);
    };
    gone();
    tee.finalize();  // a new TA process reads the sealed state
    tee.start();
    gone();
    // The TA's attestation no longer lists it.
    Bytes statement = tee.call_ok(TA_SIGNER_CMD_ATTEST, Encoder().bytes(Bytes{7}).take());
    EXPECT_EQ(std::search(statement.begin(), statement.end(), babe.begin(), babe.end()),
              statement.end());
    EXPECT_NE(std::search(statement.begin(), statement.end(), other.begin(), other.end()),
              statement.end());
}

// A TA killed inside DELETE_KEY right after the atomic step (index and
// tombstone committed, object not yet deleted): the key is gone after the
// restart, and DELETE_KEY again removes what is left. Killed at random
// moments while deleting many keys: every key is either listed and usable or
// unlisted and unusable, and every acknowledged deletion holds.
TEST(SoftTee, KillDuringKeyDeletionLeavesEachKeyWholeOrGone) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    const Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("test", Scheme::sr25519));
    const Bytes keep =
        tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("test", Scheme::sr25519));
    tee.call_ok(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {});
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("test", Scheme::sr25519, pk), out),
              TEEC_ERROR_TARGET_DEAD);
    tee.reopen();
    EXPECT_FALSE(listed(tee, "test", Scheme::sr25519, pk));
    const Bytes msg = {9};
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_CHECKED, sign_request("test", Scheme::sr25519, pk, msg), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("test", Scheme::sr25519, pk), out),
              TEEC_SUCCESS);  // the tombstone left by the crash
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_DELETE_KEY, delete_request("test", Scheme::sr25519, pk), out),
              TEEC_ERROR_ITEM_NOT_FOUND);
    expect_signs(tee, "test", Scheme::sr25519, keep);

    std::vector<Bytes> keys;
    for (int i = 0; i < 48; ++i)
        keys.push_back(
            tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("tdel", Scheme::ed25519)));
    std::vector<Bytes> acknowledged;
    std::mt19937 rng(777);
    size_t next = 0;
    for (int round = 0; round < 8 && next < keys.size(); ++round) {
        const pid_t pid = tee.pid();
        std::atomic<bool> stop{false};
        std::thread worker([&] {
            Bytes o;
            while (!stop && next < keys.size()) {
                if (tee.call(TA_SIGNER_CMD_DELETE_KEY,
                             delete_request("tdel", Scheme::ed25519, keys[next]),
                             o) != TEEC_SUCCESS)
                    break;
                acknowledged.push_back(keys[next++]);
            }
        });
        std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 8000));
        kill(pid, SIGKILL);
        stop = true;
        worker.join();
        tee.reopen();
        if (next < keys.size()) ++next;  // the one in flight: may or may not be gone
    }
    auto list = decode_key_list(
        tee.call_ok(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, key_request("tdel", Scheme::ed25519)),
        Scheme::ed25519);
    for (const Bytes& k : acknowledged)
        EXPECT_EQ(std::find(list.begin(), list.end(), k), list.end()) << "deleted key listed";
    for (const Bytes& k : keys) {
        const bool is_listed = std::find(list.begin(), list.end(), k) != list.end();
        const TEEC_Result rc = tee.call(TA_SIGNER_CMD_SIGN_CHECKED,
                                        sign_request("tdel", Scheme::ed25519, k, msg), out);
        EXPECT_EQ(rc == TEEC_SUCCESS, is_listed)
            << teesigner::core::to_hex(k) << ": listed " << is_listed << ", sign " << rc;
    }
    expect_signs(tee, "test", Scheme::sr25519, keep);
}

}  // namespace
