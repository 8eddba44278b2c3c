// The signer_attest verifier (client/include/teesigner/client/attestation.hpp).
// The PTA's evidence is made here the way OP-TEE's attestation PTA makes it,
// independently of the verifier: SHA-256(nonce ++ digest) is computed first
// and that hash is signed with RSASSA-PSS (MGF1-SHA-256, 32-byte salt) by an
// OpenSSL-generated key; the verifier instead verifies over the message. The
// TA's statement is built as ta/src/signer_ta.cpp builds it.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <memory>
#include <string>

#include "signer_ta.h"
#include "teesigner/client/attestation.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/scale.hpp"

namespace {

namespace att = teesigner::client::attestation;
using teesigner::core::Bytes;
using teesigner::core::to_hex;
using json = nlohmann::json;

struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey rsa_key(unsigned bits) {
    return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}

Bytes bn_param(EVP_PKEY* key, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
    Bytes out(static_cast<size_t>(BN_num_bytes(bn)));
    BN_bn2bin(bn, out.data());
    BN_free(bn);
    return out;
}

att::RsaPublicKey public_key(EVP_PKEY* key) {
    return {bn_param(key, OSSL_PKEY_PARAM_RSA_N), bn_param(key, OSSL_PKEY_PARAM_RSA_E)};
}

// As the PTA: hash = SHA-256(nonce ++ digest), then RSASSA-PSS over that hash.
Bytes pta_sign(EVP_PKEY* key, const Bytes& nonce, const att::Digest& digest, int salt = 32) {
    Bytes message = nonce;
    message.insert(message.end(), digest.begin(), digest.end());
    uint8_t hash[SHA256_DIGEST_LENGTH];
    SHA256(message.data(), message.size(), hash);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    EXPECT_TRUE(ctx && EVP_PKEY_sign_init(ctx.get()) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) == 1);
    size_t len = 0;
    EXPECT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &len, hash, sizeof hash), 1);
    Bytes sig(len);
    EXPECT_EQ(EVP_PKEY_sign(ctx.get(), sig.data(), &len, hash, sizeof hash), 1);
    sig.resize(len);
    return sig;
}

att::Digest digest_of(uint8_t fill) {
    att::Digest d{};
    d.fill(fill);
    return d;
}

class PtaSignature : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { key_ = rsa_key(2048).release(); }
    static void TearDownTestSuite() { EVP_PKEY_free(key_); }
    static EVP_PKEY* key_;
    const Bytes nonce_ = Bytes(32, 0x5a);
    const att::Digest digest_ = digest_of(0xd1);
};
EVP_PKEY* PtaSignature::key_ = nullptr;

TEST_F(PtaSignature, VerifiesThePtaConstruction) {
    const Bytes sig = pta_sign(key_, nonce_, digest_);
    EXPECT_EQ(sig.size(), 256u);
    EXPECT_TRUE(att::verify_pta_signature(public_key(key_), nonce_, digest_, sig));
}

TEST_F(PtaSignature, RefusesAFlippedBit) {
    Bytes sig = pta_sign(key_, nonce_, digest_);
    for (size_t byte : {size_t{0}, size_t{100}, sig.size() - 1}) {
        Bytes bad = sig;
        bad[byte] ^= 0x01;
        EXPECT_FALSE(att::verify_pta_signature(public_key(key_), nonce_, digest_, bad)) << byte;
    }
    att::Digest other = digest_;
    other[31] ^= 0x80;
    EXPECT_FALSE(att::verify_pta_signature(public_key(key_), nonce_, other, sig));
}

TEST_F(PtaSignature, RefusesAnotherNonce) {
    const Bytes sig = pta_sign(key_, nonce_, digest_);
    Bytes other = nonce_;
    other[0] ^= 1;
    EXPECT_FALSE(att::verify_pta_signature(public_key(key_), other, digest_, sig));
    EXPECT_FALSE(att::verify_pta_signature(public_key(key_), Bytes(31, 0x5a), digest_, sig));
}

TEST_F(PtaSignature, RefusesAnotherKey) {
    const Bytes sig = pta_sign(key_, nonce_, digest_);
    Pkey other = rsa_key(2048);
    EXPECT_FALSE(att::verify_pta_signature(public_key(other.get()), nonce_, digest_, sig));
    att::RsaPublicKey wrong_e = public_key(key_);
    wrong_e.exponent = {0x03};
    EXPECT_FALSE(att::verify_pta_signature(wrong_e, nonce_, digest_, sig));
    EXPECT_FALSE(att::verify_pta_signature({}, nonce_, digest_, sig));
}

TEST_F(PtaSignature, RefusesAnotherSaltLength) {
    const Bytes sig = pta_sign(key_, nonce_, digest_, 20);
    EXPECT_FALSE(att::verify_pta_signature(public_key(key_), nonce_, digest_, sig));
}

TEST_F(PtaSignature, PemRoundTrip) {
    const att::RsaPublicKey k = public_key(key_);
    const std::string pem = att::rsa_public_key_pem(k);
    EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
    auto back = att::rsa_public_key_from_pem(pem);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->modulus, k.modulus);
    EXPECT_EQ(back->exponent, k.exponent);
    EXPECT_FALSE(att::rsa_public_key_from_pem("not a key").has_value());
}

TEST(TaFileHeader, ReadsTheSignedHeaderDigest) {
    // shdr: magic 0x4f545348, img_type, img_size, algo (u32 LE), hash_size 32,
    // sig_size (u16 LE), hash, signature, ...
    Bytes ta = {0x48, 0x53, 0x54, 0x4f, 1,    0,    0,  0, 0, 1,
                0,    0,    0x30, 0x91, 0x41, 0x70, 32, 0, 0, 1};
    for (uint8_t i = 0; i < 32; ++i) ta.push_back(i);
    ta.resize(ta.size() + 256, 0xee);
    auto d = att::ta_file_header_digest(ta);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ((*d)[0], 0);
    EXPECT_EQ((*d)[31], 31);
    Bytes bad_magic = ta;
    bad_magic[0] = 0;
    EXPECT_FALSE(att::ta_file_header_digest(bad_magic).has_value());
    Bytes bad_size = ta;
    bad_size[16] = 48;
    EXPECT_FALSE(att::ta_file_header_digest(bad_size).has_value());
    EXPECT_FALSE(att::ta_file_header_digest(Bytes(40, 0)).has_value());
}

// A whole signer_attest answer as signerd returns it (docs/protocol.md).
class AttestAnswer : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        pta_ = rsa_key(3072).release();
        other_ = rsa_key(2048).release();
    }
    static void TearDownTestSuite() {
        EVP_PKEY_free(pta_);
        EVP_PKEY_free(other_);
    }

    json answer(bool with_tee = true) const {
        auto ta_key =
            teesigner::core::KeyPair::from_seed(teesigner::core::Scheme::ed25519, Bytes(32, 0x42));
        EXPECT_TRUE(ta_key.ok());
        const Bytes gran(32, 0x11), beef(33, 0x02);
        Bytes bound = nonce_;
        bound.insert(bound.end(), gran.begin(), gran.end());
        bound.insert(bound.end(), beef.begin(), beef.end());
        const teesigner::core::Hash256 report = teesigner::core::blake2b_256(bound);
        teesigner::core::scale::Encoder s;
        s.str(TA_SIGNER_ATTEST_LABEL).bytes(nonce_);
        s.compact(uint64_t{2});
        s.raw(Bytes{'g', 'r', 'a', 'n'}).u8(1).bytes(gran);
        s.raw(Bytes{'b', 'e', 'e', 'f'}).u8(2).bytes(beef);
        s.raw(report).raw(ta_key->public_key());
        auto sig = ta_key->sign(s.bytes());
        EXPECT_TRUE(sig.ok());
        json a = {{"kind", with_tee ? "optee-attestation-pta" : "self-attested"},
                  {"statement", to_hex(s.bytes())},
                  {"signature", to_hex(*sig)},
                  {"attestationKey", to_hex(ta_key->public_key())},
                  {"reportData", to_hex(report)},
                  {"details", json::object()}};
        if (!with_tee) {
            a["teeUnavailable"] = "the soft TEE has no attestation service";
            return a;
        }
        const Bytes nonce(report.begin(), report.end());
        const att::RsaPublicKey k = public_key(pta_);
        a["tee"] = {
            {"type", "optee-attestation-pta"},
            {"nonce", to_hex(report)},
            {"publicKey", {{"modulus", to_hex(k.modulus)}, {"exponent", to_hex(k.exponent)}}},
            {"taMemory",
             {{"digest", to_hex(memory_)}, {"signature", to_hex(pta_sign(pta_, nonce, memory_))}}},
            {"taHeader",
             {{"digest", to_hex(header_)}, {"signature", to_hex(pta_sign(pta_, nonce, header_))}}}};
        return a;
    }
    att::Expectations expect() const {
        att::Expectations e;
        e.nonce = nonce_;
        return e;
    }
    static bool has_failed(const att::Report& r, const std::string& check) {
        for (const auto& line : r.lines)
            if (line.rfind("FAIL " + check + ":", 0) == 0) return true;
        return false;
    }

    static EVP_PKEY* pta_;
    static EVP_PKEY* other_;
    const Bytes nonce_ = {0xde, 0xad, 0xbe, 0xef};
    const att::Digest memory_ = digest_of(0x3c);
    const att::Digest header_ = digest_of(0x7e);
};
EVP_PKEY* AttestAnswer::pta_ = nullptr;
EVP_PKEY* AttestAnswer::other_ = nullptr;

TEST_F(AttestAnswer, ValidAnswerPasses) {
    att::Expectations e = expect();
    e.pta_public_key = public_key(pta_);
    e.ta_header_digest = header_;
    e.ta_memory_digest = memory_;
    const att::Report r = att::verify(answer(), e);
    for (const auto& line : r.lines) SCOPED_TRACE(line);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.kind, "optee-attestation-pta");
    EXPECT_EQ(r.keys.size(), 2u);
    ASSERT_TRUE(r.ta_memory_digest && r.ta_header_digest);
    EXPECT_EQ(*r.ta_memory_digest, memory_);
    EXPECT_EQ(*r.ta_header_digest, header_);
}

TEST_F(AttestAnswer, WrongNonceFails) {
    att::Expectations e = expect();
    e.nonce = {0xde, 0xad, 0xbe, 0xee};
    const att::Report r = att::verify(answer(), e);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(has_failed(r, "nonce"));
    // The PTA signed the report data of the real nonce, not of this one.
    EXPECT_TRUE(has_failed(r, "ta-memory-signature"));
    EXPECT_TRUE(has_failed(r, "ta-header-signature"));
}

TEST_F(AttestAnswer, FlippedSignatureBitFails) {
    json a = answer();
    Bytes sig = *teesigner::core::from_hex(a["tee"]["taMemory"]["signature"].get<std::string>());
    sig[7] ^= 0x04;
    a["tee"]["taMemory"]["signature"] = to_hex(sig);
    const att::Report r = att::verify(a, expect());
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(has_failed(r, "ta-memory-signature"));
    EXPECT_FALSE(has_failed(r, "ta-header-signature"));
}

TEST_F(AttestAnswer, SwappedDigestFails) {
    json a = answer();
    a["tee"]["taHeader"]["digest"] = to_hex(digest_of(0x7f));
    EXPECT_TRUE(has_failed(att::verify(a, expect()), "ta-header-signature"));
}

TEST_F(AttestAnswer, PinnedKeyMismatchFails) {
    att::Expectations e = expect();
    e.pta_public_key = public_key(other_);
    const att::Report r = att::verify(answer(), e);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(has_failed(r, "pinned-pta-key"));
}

TEST_F(AttestAnswer, ReplacedKeyAndSignaturesFailThePin) {
    // An attacker re-signs everything with a key of its own: the signatures
    // verify, only the pinned key catches it.
    json a = answer();
    const Bytes nonce = *teesigner::core::from_hex(a["reportData"].get<std::string>());
    const att::RsaPublicKey k = public_key(other_);
    a["tee"]["publicKey"] = {{"modulus", to_hex(k.modulus)}, {"exponent", to_hex(k.exponent)}};
    a["tee"]["taMemory"]["signature"] = to_hex(pta_sign(other_, nonce, memory_));
    a["tee"]["taHeader"]["signature"] = to_hex(pta_sign(other_, nonce, header_));
    EXPECT_TRUE(att::verify(a, expect()).ok);
    att::Expectations e = expect();
    e.pta_public_key = public_key(pta_);
    EXPECT_TRUE(has_failed(att::verify(a, e), "pinned-pta-key"));
}

TEST_F(AttestAnswer, PinnedDigestsMismatchFail) {
    att::Expectations e = expect();
    e.ta_header_digest = digest_of(0x01);
    e.ta_memory_digest = digest_of(0x02);
    const att::Report r = att::verify(answer(), e);
    EXPECT_TRUE(has_failed(r, "pinned-ta-header-digest"));
    EXPECT_TRUE(has_failed(r, "pinned-ta-memory-digest"));
}

TEST_F(AttestAnswer, TeeNonceMustBeTheReportData) {
    json a = answer();
    a["tee"]["nonce"] = to_hex(Bytes(32, 0));
    EXPECT_TRUE(has_failed(att::verify(a, expect()), "tee-nonce"));
}

TEST_F(AttestAnswer, TamperedStatementFails) {
    json a = answer();
    Bytes st = *teesigner::core::from_hex(a["statement"].get<std::string>());
    st[st.size() - 40] ^= 1;  // inside the report data
    a["statement"] = to_hex(st);
    const att::Report r = att::verify(a, expect());
    EXPECT_TRUE(has_failed(r, "report-data"));
    EXPECT_TRUE(has_failed(r, "ta-signature"));
}

TEST_F(AttestAnswer, SelfAttestedNeedsConsent) {
    EXPECT_TRUE(has_failed(att::verify(answer(false), expect()), "tee-evidence"));
    att::Expectations e = expect();
    e.allow_self_attested = true;
    EXPECT_TRUE(att::verify(answer(false), e).ok);
    e.pta_public_key = public_key(pta_);
    EXPECT_TRUE(has_failed(att::verify(answer(false), e), "pinned-tee-values"));
}

TEST_F(AttestAnswer, GarbageFailsWithoutThrowing) {
    EXPECT_FALSE(att::verify(json(), expect()).ok);
    EXPECT_FALSE(att::verify(json{{"statement", "0x00"}, {"signature", "zz"}}, expect()).ok);
    json a = answer();
    a["tee"] = "nothing";
    EXPECT_TRUE(has_failed(att::verify(a, expect()), "tee-evidence"));
}

}  // namespace
