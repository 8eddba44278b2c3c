// Drives the soft TEE end to end for the Node cross-check (softtee_e2e.test.mjs):
// generates a SessionKeys set and one key per scheme inside a fresh TA storage,
// signs through the TA, and prints one JSON object with public keys, messages
// and signatures (no secrets exist outside the TA process to print).
// Usage: ts_softtee_e2e STORAGE_DIR
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "signer_ta.h"
#include "tee_client_api.h"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/scale.hpp"
#include "ts_softtee.h"

namespace {

using teesigner::core::as_bytes;
using teesigner::core::Bytes;
using teesigner::core::to_hex;
using teesigner::core::scale::Encoder;

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
    return s == 0 ? "sr25519" : s == 1 ? "ed25519" : "ecdsa";
}

void print_signature(const char* type, uint8_t scheme, const Bytes& pk, bool* first) {
    Bytes msg;
    std::string text = std::string("tee-signer e2e ") + type + " " + scheme_name(scheme);
    msg.assign(text.begin(), text.end());
    Encoder e;
    e.raw(as_bytes(std::string_view(type, 4))).u8(scheme).bytes(pk).bytes(msg);
    Bytes sig = call(TA_SIGNER_CMD_SIGN, e.take());
    printf(
        "%s\n    {\"type\": \"%s\", \"scheme\": \"%s\", \"public\": \"%s\", \"message\": \"%s\", "
        "\"signature\": \"%s\"}",
        *first ? "" : ",", type, scheme_name(scheme), to_hex(pk).c_str(), to_hex(msg).c_str(),
        to_hex(sig).c_str());
    *first = false;
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
    Bytes babe;
    for (const Part& p : parts) {
        Bytes pk(keys.begin() + static_cast<long>(off),
                 keys.begin() + static_cast<long>(off + p.size));
        off += p.size;
        if (std::string(p.type) == "babe") babe = pk;
        print_signature(p.type, p.scheme, pk, &first);
    }
    for (uint8_t scheme = 0; scheme < 3; ++scheme) {
        Encoder e;
        e.raw(as_bytes("e2e0")).u8(scheme);
        Bytes pk = call(TA_SIGNER_CMD_GENERATE_KEY, e.take());
        print_signature("e2e0", scheme, pk, &first);
    }
    printf("\n  ],\n");

    // ecdsa over a caller-given prehash (BEEFY's path).
    Bytes beef(keys.end() - 33, keys.end());
    Bytes prehash(32);
    for (size_t i = 0; i < 32; ++i) prehash[i] = static_cast<uint8_t>(i * 7 + 1);
    Encoder pre;
    pre.raw(as_bytes("beef")).raw(beef).raw(prehash);
    Bytes pre_sig = call(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED, pre.take());
    printf("  \"prehashed\": {\"public\": \"%s\", \"prehash\": \"%s\", \"signature\": \"%s\"},\n",
           to_hex(beef).c_str(), to_hex(prehash).c_str(), to_hex(pre_sig).c_str());

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
