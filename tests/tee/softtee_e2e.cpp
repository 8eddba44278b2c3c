// Drives the soft TEE end to end for the Node cross-check (softtee_e2e.test.mjs):
// generates a SessionKeys set and one key per scheme inside a fresh TA storage,
// signs through the TA, and prints one JSON object with public keys, messages
// and signatures (no secrets exist outside the TA process to print). The
// GRANDPA key signs a GRANDPA vote (sp-keystore path, protected), the BABE key
// seals a header (SIGN_BABE_HEADER: the TA computes the pre-hash) and the
// BEEFY key signs a commitment (SIGN_BEEFY_COMMITMENT: the TA computes the
// keccak prehash), so the cross-check covers the slashing-protected paths.
// Usage: ts_softtee_e2e STORAGE_DIR
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "signer_ta.h"
#include "tee_client_api.h"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/scale.hpp"
#include "ts_softtee.h"

namespace {

using teesigner::core::as_bytes;
using teesigner::core::Bytes;
using teesigner::core::to_hex;
using teesigner::core::scale::Decoder;
using teesigner::core::scale::Encoder;
namespace payloads = teesigner::core::payloads;

TEEC_Session g_session;

Bytes call(uint32_t cmd, const Bytes& req) {
    Bytes out(4096);
    TEEC_Operation op{};
    op.paramTypes =
        TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = const_cast<uint8_t*>(req.data());
    op.params[0].tmpref.size = req.size();
    op.params[1].tmpref.buffer = out.data();
    op.params[1].tmpref.size = out.size();
    uint32_t origin = 0;
    TEEC_Result rc = TEEC_InvokeCommand(&g_session, cmd, &op, &origin);
    if (rc != TEEC_SUCCESS) {
        fprintf(stderr, "command 0x%x failed: 0x%08x %s\n", cmd, rc, ts_teec_result_string(rc));
        exit(1);
    }
    out.resize(op.params[1].tmpref.size);
    return out;
}

const char* scheme_name(uint8_t s) {
    return teesigner::core::scheme_name(static_cast<teesigner::core::Scheme>(s));
}

void print_entry(const char* type, uint8_t scheme, const Bytes& pk, const Bytes& msg,
                 const Bytes& sig, bool* first) {
    printf(
        "%s\n    {\"type\": \"%s\", \"scheme\": \"%s\", \"public\": \"%s\", \"message\": \"%s\", "
        "\"signature\": \"%s\"}",
        *first ? "" : ",", type, scheme_name(scheme), to_hex(pk).c_str(), to_hex(msg).c_str(),
        to_hex(sig).c_str());
    *first = false;
}

// A signing command's SignOutcome: the signature and the payload hash, or exit.
Bytes signed_outcome(uint32_t cmd, const Bytes& request, Bytes* payload_hash) {
    Bytes raw = call(cmd, request);
    Decoder d(raw);
    auto tag = d.enum_tag(2);
    if (!tag || *tag != 0) {
        fprintf(stderr, "command 0x%x refused\n", cmd);
        exit(1);
    }
    auto sig = d.bytes();
    auto hash = d.array<32>();
    if (!sig || !hash || d.finish() != teesigner::core::Error::ok) exit(1);
    payload_hash->assign(hash->begin(), hash->end());
    return *sig;
}

// A typed command (key_type, public, payload) signed, or exit.
Bytes signed_outcome(uint32_t cmd, const char* type, const Bytes& pk, const Bytes& payload,
                     Bytes* payload_hash) {
    Encoder e;
    e.raw(as_bytes(std::string_view(type, 4))).raw(pk).bytes(payload);
    return signed_outcome(cmd, e.take(), payload_hash);
}

// sp-keystore raw signing (SIGN_CHECKED) of `msg`, printed.
void print_signature(const char* type, uint8_t scheme, const Bytes& pk, bool* first,
                     Bytes msg = {}) {
    if (msg.empty()) {
        std::string text = std::string("tee-signer e2e ") + type + " " + scheme_name(scheme);
        msg.assign(text.begin(), text.end());
    }
    Encoder e;
    e.raw(as_bytes(std::string_view(type, 4))).u8(scheme).bytes(pk).bytes(msg);
    Bytes payload_hash;
    print_entry(type, scheme, pk, msg,
                signed_outcome(TA_SIGNER_CMD_SIGN_CHECKED, e.take(), &payload_hash), first);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s STORAGE_DIR\n", argv[0]);
        return 2;
    }
    std::string config = std::string("softtee:storage=") + argv[1] + ",ta=" TS_SOFTTEE_RELEASE_TA;
    TEEC_Context ctx{};
    if (TEEC_InitializeContext(config.c_str(), &ctx) != TEEC_SUCCESS) {
        fprintf(stderr, "soft TEE: %s\n", ts_softtee_last_error(&ctx));
        return 1;
    }
    const TEEC_UUID uuid = TA_SIGNER_UUID;
    uint32_t origin = 0;
    if (TEEC_OpenSession(&ctx, &g_session, &uuid, TEEC_LOGIN_PUBLIC, nullptr, nullptr, &origin) !=
        TEEC_SUCCESS) {
        fprintf(stderr, "open session failed: %s\n", ts_softtee_last_error(&ctx));
        return 1;
    }
    Bytes keys = call(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {});
    printf("{\n  \"session_keys\": \"%s\",\n  \"signatures\": [", to_hex(keys).c_str());
    struct Part {
        const char* type;
        uint8_t scheme;
        size_t size;
    };
    const Part parts[] = {{"gran", 1, 32}, {"babe", 0, 32}, {"para", 0, 32},
                          {"asgn", 0, 32}, {"audi", 0, 32}, {"beef", 2, 33}};
    bool first = true;
    size_t off = 0;
    Bytes babe, babe_header, babe_pre_hash;
    for (const Part& p : parts) {
        Bytes pk(keys.begin() + static_cast<long>(off),
                 keys.begin() + static_cast<long>(off + p.size));
        off += p.size;
        const std::string t = p.type;
        if (t == "babe") {
            babe = pk;
            // Seal a header: the message the BABE key signs is the pre-hash.
            payloads::Header header;
            header.number = 4242;
            for (size_t i = 0; i < 32; ++i) header.parent_hash[i] = static_cast<uint8_t>(i);
            payloads::BabePreDigest pre;
            pre.kind = payloads::BabePreDigestKind::secondary_plain;
            pre.authority_index = 3;
            pre.slot = 290000000;
            header.digest.push_back({payloads::DigestItemKind::pre_runtime, payloads::kBabeEngineId,
                                     payloads::encode_babe_pre_digest(pre)});
            babe_header = payloads::encode_header(header);
            Bytes sig = signed_outcome(TA_SIGNER_CMD_SIGN_BABE_HEADER, "babe", pk, babe_header,
                                       &babe_pre_hash);
            print_entry(p.type, p.scheme, pk, babe_pre_hash, sig, &first);
        } else if (t == "gran") {
            payloads::GrandpaVote vote;
            vote.kind = payloads::GrandpaMessageKind::precommit;
            vote.target_hash.fill(0xab);
            vote.target_number = 4241;
            vote.round = 17;
            vote.set_id = 2;
            print_signature(p.type, p.scheme, pk, &first, payloads::encode_grandpa_vote(vote));
        } else if (t == "beef") {
            // Arbitrary bytes with the BEEFY key: only with the operator's
            // opt-in (the default policy refuses opaque signing for beef).
            Encoder allow;
            allow.compact(1).raw(as_bytes("beef")).u8(1);
            call(TA_SIGNER_CMD_SET_PROTECTION_POLICY, allow.take());
            print_signature(p.type, p.scheme, pk, &first);
            call(TA_SIGNER_CMD_SET_PROTECTION_POLICY, Encoder().compact(0).take());
        } else {
            print_signature(p.type, p.scheme, pk, &first);
        }
    }
    for (uint8_t scheme = 0; scheme < 3; ++scheme) {
        Encoder e;
        e.raw(as_bytes("e2e0")).u8(scheme);
        Bytes pk = call(TA_SIGNER_CMD_GENERATE_KEY, e.take());
        print_signature("e2e0", scheme, pk, &first);
    }
    printf("\n  ],\n");

    printf("  \"babe_header\": {\"header\": \"%s\", \"pre_hash\": \"%s\"},\n",
           to_hex(babe_header).c_str(), to_hex(babe_pre_hash).c_str());

    // A BEEFY vote: ecdsa over the keccak-256 prehash the TA computes.
    Bytes beef(keys.end() - 33, keys.end());
    payloads::BeefyCommitment commitment;
    Bytes mmr_root(32);
    for (size_t i = 0; i < 32; ++i) mmr_root[i] = static_cast<uint8_t>(i * 7 + 1);
    commitment.payload.push_back({{'m', 'h'}, mmr_root});
    commitment.block_number = 4240;
    commitment.validator_set_id = 2;
    Bytes encoded = payloads::encode_beefy_commitment(commitment);
    Bytes prehash;
    Bytes pre_sig =
        signed_outcome(TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT, "beef", beef, encoded, &prehash);
    printf(
        "  \"prehashed\": {\"public\": \"%s\", \"commitment\": \"%s\", \"prehash\": \"%s\", "
        "\"signature\": \"%s\"},\n",
        to_hex(beef).c_str(), to_hex(encoded).c_str(), to_hex(prehash).c_str(),
        to_hex(pre_sig).c_str());

    // VRF with the transcript @polkadot/util-crypto's sr25519VrfSign uses:
    // SigningContext(context).bytes(message), extra "VRF" + ("", extra).
    Bytes context = {'s', 'u', 'b', 's', 't', 'r', 'a', 't', 'e'};
    Bytes message = {'e', '2', 'e', ' ', 'v', 'r', 'f'};
    Bytes extra = {'x', 't', 'r', 'a'};
    Encoder vrf;
    vrf.raw(as_bytes("babe")).raw(babe);
    vrf.bytes(as_bytes("SigningContext")).compact(2);
    vrf.bytes(Bytes{}).bytes(context).bytes(as_bytes("sign-bytes")).bytes(message);
    vrf.some().bytes(as_bytes("VRF")).compact(1).bytes(Bytes{}).bytes(extra);
    Bytes vrf_sig = call(TA_SIGNER_CMD_VRF_SIGN, vrf.take());
    printf(
        "  \"vrf\": {\"public\": \"%s\", \"context\": \"%s\", \"message\": \"%s\", \"extra\": "
        "\"%s\", \"output_and_proof\": \"%s\"}\n}\n",
        to_hex(babe).c_str(), to_hex(context).c_str(), to_hex(message).c_str(),
        to_hex(extra).c_str(), to_hex(vrf_sig).c_str());
    TEEC_CloseSession(&g_session);
    TEEC_FinalizeContext(&ctx);
    return 0;
}
