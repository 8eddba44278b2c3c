// Shared helpers for the soft TEE end-to-end tests: temporary storage, one
// TA context + session, request builders, and the signing helpers that go
// through the slashing-protected paths.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "signer_ta.h"
#include "tee_client_api.h"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"
#include "ts_softtee.h"

namespace softtee_test {

using teesigner::core::Bytes;
using teesigner::core::ByteSpan;
using teesigner::core::Scheme;
using teesigner::core::scale::Decoder;
using teesigner::core::scale::Encoder;
namespace fs = std::filesystem;

inline constexpr uint32_t kCorruptObject = 0xF0100001;

inline std::string hex(const uint8_t* p, size_t n) {
    return teesigner::core::to_hex(ByteSpan(p, n), false);
}

inline Bytes slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline void spit(const fs::path& p, const Bytes& data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// A fresh directory holding the storage dir and the TA's stderr log.
class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/ts-softtee-test-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path storage() const { return path_ / "storage"; }
    fs::path log() const { return path_ / "ta.log"; }

  private:
    fs::path path_;
};

// One context + one session on the signer TA.
class Tee {
  public:
    explicit Tee(const TempDir& dir, const char* ta = TS_SOFTTEE_TEST_TA)
        : config_("softtee:storage=" + dir.storage().string() + ",ta=" + ta +
                  ",stderr=" + dir.log().string()) {}
    ~Tee() { finalize(); }

    TEEC_Result init() {
        TEEC_Result rc = TEEC_InitializeContext(config_.c_str(), &ctx_);
        initialized_ = rc == TEEC_SUCCESS;
        if (!initialized_) init_error_ = ts_softtee_last_error(&ctx_);
        return rc;
    }
    TEEC_Result open() {
        const TEEC_UUID uuid = TA_SIGNER_UUID;
        uint32_t origin = 0;
        TEEC_Result rc =
            TEEC_OpenSession(&ctx_, &sess_, &uuid, TEEC_LOGIN_PUBLIC, nullptr, nullptr, &origin);
        session_open_ = rc == TEEC_SUCCESS;
        return rc;
    }
    void start() {
        ASSERT_EQ(init(), TEEC_SUCCESS) << init_error_;
        ASSERT_EQ(open(), TEEC_SUCCESS) << last_error();
    }
    void reopen() {
        if (session_open_) TEEC_CloseSession(&sess_);
        session_open_ = false;
        ASSERT_EQ(open(), TEEC_SUCCESS) << last_error();
    }
    void finalize() {
        if (session_open_) TEEC_CloseSession(&sess_);
        session_open_ = false;
        if (initialized_) TEEC_FinalizeContext(&ctx_);
        initialized_ = false;
    }

    // Invoke a command; the whole response lands in `out` (grown on SHORT_BUFFER).
    TEEC_Result call(uint32_t cmd, const Bytes& request, Bytes& out, uint32_t* origin = nullptr) {
        size_t cap = 256;
        for (int attempt = 0; attempt < 4; ++attempt) {
            out.assign(cap, 0);
            TEEC_Operation op{};
            op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT,
                                             TEEC_NONE, TEEC_NONE);
            op.params[0].tmpref.buffer = const_cast<uint8_t*>(request.data());
            op.params[0].tmpref.size = request.size();
            op.params[1].tmpref.buffer = out.data();
            op.params[1].tmpref.size = out.size();
            uint32_t org = 0;
            TEEC_Result rc = TEEC_InvokeCommand(&sess_, cmd, &op, &org);
            if (origin != nullptr) *origin = org;
            if (rc == TEEC_ERROR_SHORT_BUFFER && op.params[1].tmpref.size > cap) {
                cap = op.params[1].tmpref.size;
                continue;
            }
            out.resize(rc == TEEC_SUCCESS ? op.params[1].tmpref.size : 0);
            transcript_.insert(transcript_.end(), out.begin(), out.end());
            return rc;
        }
        return TEEC_ERROR_GENERIC;
    }
    Bytes call_ok(uint32_t cmd, const Bytes& request) {
        Bytes out;
        TEEC_Result rc = call(cmd, request, out);
        EXPECT_EQ(rc, TEEC_SUCCESS)
            << std::hex << rc << " " << ts_teec_result_string(rc) << " " << last_error();
        return out;
    }

    pid_t pid() { return ts_softtee_child_pid(&ctx_); }
    std::string last_error() { return initialized_ ? ts_softtee_last_error(&ctx_) : init_error_; }
    unsigned starts() { return ts_softtee_start_count(&ctx_); }
    TEEC_Context* context() { return &ctx_; }
    TEEC_Session* session() { return &sess_; }
    // Every response byte this session has produced (for the leak test).
    const Bytes& transcript() const { return transcript_; }

  private:
    std::string config_;
    TEEC_Context ctx_{};
    TEEC_Session sess_{};
    bool initialized_ = false;
    bool session_open_ = false;
    std::string init_error_;
    Bytes transcript_;
};

inline Bytes key_request(const char* key_type, Scheme scheme) {
    Encoder e;
    e.raw(ByteSpan(reinterpret_cast<const uint8_t*>(key_type), 4)).u8(static_cast<uint8_t>(scheme));
    return e.take();
}

inline Bytes sign_request(const char* key_type, Scheme scheme, const Bytes& pk, ByteSpan msg) {
    Encoder e(key_request(key_type, scheme));
    e.bytes(pk).bytes(msg);
    return e.take();
}

inline std::vector<Bytes> decode_key_list(const Bytes& raw, Scheme scheme) {
    Decoder d(raw);
    auto n = d.compact_u32();
    EXPECT_TRUE(n.ok());
    std::vector<Bytes> keys;
    for (uint32_t i = 0; n.ok() && i < *n; ++i) {
        auto pk = d.raw(teesigner::core::public_key_size(scheme));
        EXPECT_TRUE(pk.ok());
        if (!pk) break;
        keys.emplace_back(pk->begin(), pk->end());
    }
    EXPECT_EQ(d.finish(), teesigner::core::Error::ok);
    return keys;
}

inline bool opaque_refused_by_default(const char* key_type) {
    const std::string t(key_type, 4);
    return t == "gran" || t == "babe" || t == "beef";
}

/// A value never used before in this process (rounds, slots, block numbers).
inline uint64_t unique_number() {
    static std::atomic<uint64_t> next{1000};
    return next++;
}

/// (key_type, public, payload): the typed signing requests.
inline Bytes typed_request(const char* key_type, const Bytes& pk, const Bytes& payload) {
    Encoder e;
    e.raw(ByteSpan(reinterpret_cast<const uint8_t*>(key_type), 4)).raw(pk).bytes(payload);
    return e.take();
}

/// A decoded SignOutcome.
struct Outcome {
    bool ok = false;  // decoded
    bool signed_ = false;
    Bytes signature;
    teesigner::core::Hash256 payload_hash{};
    uint8_t reason = 0, rule = 0, earlier_kind = 0, earlier_sides = 0;
    uint64_t position_major = 0, position_minor = 0, watermark_major = 0, watermark_minor = 0;
    teesigner::core::Hash256 subject{}, earlier_payload_hash{};
    uint32_t earlier_number = 0;
    teesigner::core::ByteArray<4> key_type{};
};

inline Outcome decode_outcome(const Bytes& raw) {
    Outcome o;
    Decoder d(raw);
    auto tag = d.enum_tag(2);
    if (!tag) return o;
    if (*tag == 0) {
        auto sig = d.bytes();
        auto hash = d.array<32>();
        if (!sig || !hash || d.finish() != teesigner::core::Error::ok) return o;
        o.signed_ = true;
        o.signature = *sig;
        o.payload_hash = *hash;
        o.ok = true;
        return o;
    }
    auto r = teesigner::core::protection::decode_refusal(d);
    if (!r || d.finish() != teesigner::core::Error::ok) return o;
    o.reason = static_cast<uint8_t>(r->reason);
    o.rule = static_cast<uint8_t>(r->rule);
    o.position_major = r->position.major;
    o.position_minor = r->position.minor;
    o.watermark_major = r->watermark.major;
    o.watermark_minor = r->watermark.minor;
    o.earlier_kind = r->earlier_kind;
    o.earlier_sides = r->earlier_sides;
    o.subject = r->subject;
    o.earlier_number = r->earlier_number;
    o.earlier_payload_hash = r->earlier_payload_hash;
    o.key_type = r->key_type;
    o.ok = true;
    return o;
}

/// SIGN_CHECKED of `msg` by the stored key, decoded (a failed expectation unless
/// the TA answers and the answer decodes).
inline Outcome sign_checked(Tee& tee, const char* key_type, Scheme scheme, const Bytes& pk,
                            ByteSpan msg) {
    Outcome o = decode_outcome(
        tee.call_ok(TA_SIGNER_CMD_SIGN_CHECKED, sign_request(key_type, scheme, pk, msg)));
    EXPECT_TRUE(o.ok) << "SIGN_CHECKED answer does not decode";
    return o;
}

inline teesigner::core::Hash256 filled(uint8_t a, uint8_t b = 0) {
    teesigner::core::Hash256 h{};
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(a + i * b);
    return h;
}

/// An unsealed header with a BABE secondary-plain pre-digest for `slot`.
inline Bytes babe_header(uint64_t slot, uint8_t parent, uint32_t number = 77) {
    using namespace teesigner::core::payloads;
    Header header;
    header.parent_hash = filled(parent, 1);
    header.number = number;
    BabePreDigest pre;
    pre.kind = BabePreDigestKind::secondary_plain;
    pre.slot = slot;
    header.digest.push_back(
        {DigestItemKind::pre_runtime, kBabeEngineId, encode_babe_pre_digest(pre)});
    return encode_header(header);
}

inline Bytes beefy_commitment(uint64_t set_id, uint32_t block, uint8_t root) {
    teesigner::core::payloads::BeefyCommitment c;
    auto mmr = filled(root, 3);
    c.payload.push_back({{'m', 'h'}, Bytes(mmr.begin(), mmr.end())});
    c.block_number = block;
    c.validator_set_id = set_id;
    return teesigner::core::payloads::encode_beefy_commitment(c);
}

/// Check that the key signs. Keys whose arbitrary-bytes signing is refused by
/// the default opaque policy (gran, babe, beef) are checked to refuse it and
/// then signed through their protected paths with fresh (never conflicting)
/// payloads: a GRANDPA prevote through SIGN_CHECKED, a header through
/// SIGN_BABE_HEADER, a commitment through SIGN_BEEFY_COMMITMENT.
inline void expect_signs(Tee& tee, const char* key_type, Scheme scheme, const Bytes& pk) {
    using teesigner::core::verify;
    const Bytes msg = {'t', 'e', 'e', '-', 's', 'i', 'g', 'n', 'e', 'r'};
    const std::string what = std::string(key_type, 4) + " " + teesigner::core::scheme_name(scheme);
    if (!opaque_refused_by_default(key_type)) {
        Outcome o = sign_checked(tee, key_type, scheme, pk, msg);
        ASSERT_TRUE(o.signed_) << what;
        ASSERT_EQ(o.signature.size(), teesigner::core::signature_size(scheme)) << what;
        EXPECT_EQ(verify(scheme, teesigner::core::SignatureBytes(o.signature), msg,
                         teesigner::core::PublicKeyBytes(pk)),
                  teesigner::core::Error::ok)
            << what;
        return;
    }
    Outcome refused = sign_checked(tee, key_type, scheme, pk, msg);
    EXPECT_FALSE(refused.signed_) << what;
    EXPECT_EQ(refused.reason,
              static_cast<uint8_t>(teesigner::core::protection::Reason::opaque_refused))
        << what;
    const std::string t(key_type, 4);
    if (t == "gran" && scheme == Scheme::ed25519) {
        Bytes vote = teesigner::core::payloads::encode_grandpa_vote(
            {teesigner::core::payloads::GrandpaMessageKind::prevote, filled(7), 1, unique_number(),
             0});
        Outcome o = sign_checked(tee, key_type, scheme, pk, vote);
        ASSERT_TRUE(o.signed_) << what;
        EXPECT_EQ(verify(scheme, teesigner::core::SignatureBytes(o.signature), vote,
                         teesigner::core::PublicKeyBytes(pk)),
                  teesigner::core::Error::ok)
            << what;
    } else if (t == "babe" && scheme == Scheme::sr25519) {
        Bytes header = babe_header(unique_number(), 1);
        Outcome o = decode_outcome(
            tee.call_ok(TA_SIGNER_CMD_SIGN_BABE_HEADER, typed_request(key_type, pk, header)));
        ASSERT_TRUE(o.ok && o.signed_) << what;
        EXPECT_EQ(o.payload_hash, teesigner::core::blake2b_256(header));
        EXPECT_EQ(verify(scheme, teesigner::core::SignatureBytes(o.signature), o.payload_hash,
                         teesigner::core::PublicKeyBytes(pk)),
                  teesigner::core::Error::ok)
            << what;
    } else if (t == "beef" && scheme == Scheme::ecdsa) {
        Bytes c = beefy_commitment(1, static_cast<uint32_t>(unique_number()), 1);
        Outcome o = decode_outcome(
            tee.call_ok(TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT, typed_request(key_type, pk, c)));
        ASSERT_TRUE(o.ok && o.signed_) << what;
        EXPECT_EQ(o.payload_hash, teesigner::core::payloads::beefy_prehash(c));
        EXPECT_EQ(
            teesigner::core::verify_prehashed(teesigner::core::SignatureBytes(o.signature),
                                              o.payload_hash, teesigner::core::PublicKeyBytes(pk)),
            teesigner::core::Error::ok)
            << what;
    } else {
        ADD_FAILURE() << "no protected signing path for " << what;
    }
}

}  // namespace softtee_test
