// Verifier for signer_attest's answer (attestation.hpp). The evidence formats
// are the TA's (ta/include/signer_ta.h: ATTEST, ATTEST_TEE) and OP-TEE's
// attestation PTA's, as its interface header documents them: each of its
// outputs is digest (32 bytes) ++ RSASSA-PSS signature over
// SHA-256(nonce ++ digest), SHA-256 with MGF1-SHA-256 and a 32-byte salt.
#include "teesigner/client/attestation.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/scale.hpp"

namespace teesigner::client::attestation {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct BnFree {
    void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

constexpr size_t kPssSaltLength = 32;
constexpr uint32_t kShdrMagic = 0x4f545348;  // "HSTO" little-endian, OP-TEE's shdr

Pkey make_rsa_key(const RsaPublicKey& key) {
    if (key.modulus.empty() || key.exponent.empty() || key.modulus.size() > 1024 ||
        key.exponent.size() > 64)
        return nullptr;
    Bn n(BN_bin2bn(key.modulus.data(), static_cast<int>(key.modulus.size()), nullptr));
    Bn e(BN_bin2bn(key.exponent.data(), static_cast<int>(key.exponent.size()), nullptr));
    if (!n || !e) return nullptr;
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
        return nullptr;
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
    EVP_PKEY* out = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
    return Pkey(out);
}

// Big-endian bytes of `bn` without leading zeros.
Bytes bn_bytes(const BIGNUM* bn) {
    Bytes out(static_cast<size_t>(BN_num_bytes(bn)));
    BN_bn2bin(bn, out.data());
    return out;
}

// The same key whatever leading zero bytes either side carries.
Bytes strip_zeros(const Bytes& b) {
    auto first = std::find_if(b.begin(), b.end(), [](uint8_t x) { return x != 0; });
    return Bytes(first, b.end());
}

bool same_key(const RsaPublicKey& a, const RsaPublicKey& b) {
    return strip_zeros(a.modulus) == strip_zeros(b.modulus) &&
           strip_zeros(a.exponent) == strip_zeros(b.exponent);
}

// A hex string member of `j` (with or without "0x"); nullopt when absent or not hex.
std::optional<Bytes> hex_member(const nlohmann::json& j, std::string_view name) {
    if (!j.is_object()) return std::nullopt;
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    auto b = core::from_hex(it->get<std::string>());
    if (!b) return std::nullopt;
    return std::move(b).value();
}

std::optional<Digest> digest_member(const nlohmann::json& j, std::string_view name) {
    auto b = hex_member(j, name);
    if (!b || b->size() != 32) return std::nullopt;
    Digest d{};
    std::copy(b->begin(), b->end(), d.begin());
    return d;
}

class Checks {
  public:
    explicit Checks(Report& r) : r_(r) {}
    bool check(bool passed, const std::string& name, const std::string& detail) {
        r_.lines.push_back((passed ? "PASS " : "FAIL ") + name + ": " + detail);
        if (!passed) r_.ok = false;
        return passed;
    }

  private:
    Report& r_;
};

}  // namespace

bool verify_pta_signature(const RsaPublicKey& key, std::span<const uint8_t> nonce,
                          const Digest& digest, std::span<const uint8_t> signature) {
    Pkey pkey = make_rsa_key(key);
    if (!pkey || signature.empty()) return false;
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(kPssSaltLength)) != 1)
        return false;
    Bytes message(nonce.begin(), nonce.end());
    message.insert(message.end(), digest.begin(), digest.end());
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size()) == 1;
}

std::string rsa_public_key_pem(const RsaPublicKey& key) {
    Pkey pkey = make_rsa_key(key);
    if (!pkey) return {};
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) return {};
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr) return {};
    return std::string(data, static_cast<size_t>(len));
}

std::optional<RsaPublicKey> rsa_public_key_from_pem(const std::string& pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return std::nullopt;
    Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!pkey || EVP_PKEY_is_a(pkey.get(), "RSA") != 1) return std::nullopt;
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1) return std::nullopt;
    Bn n_owner(n);
    if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) return std::nullopt;
    Bn e_owner(e);
    return RsaPublicKey{bn_bytes(n), bn_bytes(e)};
}

std::optional<Digest> ta_file_header_digest(std::span<const uint8_t> ta) {
    // struct shdr (little-endian): magic u32, img_type u32, img_size u32,
    // algo u32, hash_size u16, sig_size u16, then hash[hash_size].
    constexpr size_t kHeader = 20;
    if (ta.size() < kHeader + 32) return std::nullopt;
    auto u32 = [&ta](size_t at) {
        return static_cast<uint32_t>(ta[at]) | static_cast<uint32_t>(ta[at + 1]) << 8 |
               static_cast<uint32_t>(ta[at + 2]) << 16 | static_cast<uint32_t>(ta[at + 3]) << 24;
    };
    const unsigned hash_size = static_cast<unsigned>(ta[16]) | static_cast<unsigned>(ta[17]) << 8;
    if (u32(0) != kShdrMagic || hash_size != 32) return std::nullopt;
    Digest d{};
    std::copy_n(ta.begin() + kHeader, 32, d.begin());
    return d;
}

Report verify(const nlohmann::json& result, const Expectations& expect) {
    Report r;
    Checks c(r);
    if (!result.is_object()) {
        c.check(false, "answer", "not a JSON object");
        return r;
    }
    r.kind = result.value("kind", std::string());

    // 1. The TA's statement: SCALE(label, nonce, keys, report_data, attestation_key).
    auto statement = hex_member(result, "statement");
    auto signature = hex_member(result, "signature");
    if (!c.check(statement && signature, "statement", "hex \"statement\" and \"signature\""))
        return r;
    core::scale::Decoder d(*statement);
    auto label = d.str();
    auto nonce = d.bytes();
    core::Bytes bound;
    bool keys_ok = true;
    auto count = d.length_prefix(6);
    if (count) {
        for (size_t i = 0; i < *count && keys_ok; ++i) {
            auto key_type = d.array<4>();
            auto scheme = d.u8();
            auto pk = d.bytes();
            if (!key_type || !scheme || !pk) {
                keys_ok = false;
                break;
            }
            bound.insert(bound.end(), pk->begin(), pk->end());
            const char* scheme_name =
                *scheme <= 2 ? core::scheme_name(static_cast<core::Scheme>(*scheme)) : "unknown";
            r.keys.push_back(std::string(key_type->begin(), key_type->end()) + " " + scheme_name +
                             " " + core::to_hex(*pk));
        }
    }
    auto report_data = d.array<32>();
    auto attest_key = d.array<32>();
    if (!c.check(label && nonce && count && keys_ok && report_data && attest_key &&
                     d.finish() == core::Error::ok,
                 "statement", "decodes (" + std::to_string(r.keys.size()) + " keys)"))
        return r;
    c.check(*nonce == expect.nonce, "nonce",
            "the statement carries " + core::to_hex(*nonce) + ", expected " +
                core::to_hex(expect.nonce));
    core::Bytes with_nonce = expect.nonce;
    with_nonce.insert(with_nonce.end(), bound.begin(), bound.end());
    const core::Hash256 expected_report = core::blake2b_256(with_nonce);
    auto claimed_report = hex_member(result, "reportData");
    c.check(
        *report_data == expected_report &&
            claimed_report == core::Bytes(report_data->begin(), report_data->end()),
        "report-data",
        "blake2_256(nonce ++ public keys) = " + core::to_hex(expected_report) +
            (*report_data == expected_report ? ""
                                             : ", statement says " + core::to_hex(*report_data)));
    auto claimed_key = hex_member(result, "attestationKey");
    c.check(core::ed25519::verify(core::SignatureBytes(*signature), *statement,
                                  core::PublicKeyBytes(*attest_key)) == core::Error::ok &&
                claimed_key == core::Bytes(attest_key->begin(), attest_key->end()),
            "ta-signature",
            "ed25519 over the statement by the TA's attestation key " + core::to_hex(*attest_key));
    if (expect.attestation_key)
        c.check(*expect.attestation_key == core::Bytes(attest_key->begin(), attest_key->end()),
                "pinned-attestation-key", "expected " + core::to_hex(*expect.attestation_key));

    // 2. The TEE's own evidence.
    if (r.kind != "optee-attestation-pta") {
        std::string why = result.value("teeUnavailable", std::string("none given"));
        c.check(expect.allow_self_attested, "tee-evidence",
                "kind \"" + r.kind + "\", no TEE evidence (" + why + ")" +
                    (expect.allow_self_attested ? "; accepted (--allow-self-attested)" : ""));
        if (expect.pta_public_key || expect.ta_header_digest || expect.ta_memory_digest)
            c.check(false, "pinned-tee-values", "pinned, but the answer has no TEE evidence");
        return r;
    }
    const nlohmann::json tee = result.value("tee", nlohmann::json());
    auto tee_nonce = hex_member(tee, "nonce");
    const nlohmann::json pub =
        tee.is_object() ? tee.value("publicKey", nlohmann::json()) : nlohmann::json();
    auto modulus = hex_member(pub, "modulus");
    auto exponent = hex_member(pub, "exponent");
    const nlohmann::json mem =
        tee.is_object() ? tee.value("taMemory", nlohmann::json()) : nlohmann::json();
    const nlohmann::json hdr =
        tee.is_object() ? tee.value("taHeader", nlohmann::json()) : nlohmann::json();
    auto mem_digest = digest_member(mem, "digest");
    auto mem_sig = hex_member(mem, "signature");
    auto hdr_digest = digest_member(hdr, "digest");
    auto hdr_sig = hex_member(hdr, "signature");
    if (!c.check(tee_nonce && modulus && exponent && mem_digest && mem_sig && hdr_digest && hdr_sig,
                 "tee-evidence", "OP-TEE attestation PTA evidence present"))
        return r;
    const RsaPublicKey key{*modulus, *exponent};
    r.pta_public_key = key;
    c.check(*tee_nonce == core::Bytes(report_data->begin(), report_data->end()), "tee-nonce",
            "the PTA's nonce is the statement's report data");
    // The signatures are checked over the report data the verifier computed
    // itself, not over the nonce the answer claims.
    const bool mem_ok = verify_pta_signature(key, expected_report, *mem_digest, *mem_sig);
    c.check(mem_ok, "ta-memory-signature",
            "RSASSA-PSS (" + std::to_string(strip_zeros(key.modulus).size() * 8) +
                "-bit key) over report data ++ TA memory digest " + core::to_hex(*mem_digest));
    const bool hdr_ok = verify_pta_signature(key, expected_report, *hdr_digest, *hdr_sig);
    c.check(hdr_ok, "ta-header-signature",
            "RSASSA-PSS over report data ++ TA header digest " + core::to_hex(*hdr_digest));
    if (mem_ok) r.ta_memory_digest = *mem_digest;
    if (hdr_ok) r.ta_header_digest = *hdr_digest;
    if (expect.pta_public_key)
        c.check(same_key(key, *expect.pta_public_key), "pinned-pta-key",
                "the PTA's key is the pinned one");
    if (expect.ta_header_digest)
        c.check(*hdr_digest == *expect.ta_header_digest, "pinned-ta-header-digest",
                "expected " + core::to_hex(*expect.ta_header_digest));
    if (expect.ta_memory_digest)
        c.check(*mem_digest == *expect.ta_memory_digest, "pinned-ta-memory-digest",
                "expected " + core::to_hex(*expect.ta_memory_digest));
    if (!expect.pta_public_key)
        r.lines.push_back(
            "NOTE the PTA's public key is not pinned (--expect-pubkey): the RSA signatures prove "
            "only that the holder of the returned key signed");
    return r;
}

}  // namespace teesigner::client::attestation
