/* The C API, compiled as C: opens the signer given on the command line
 * (argv[1] URL, argv[2] optional CA file, token from $TS_SIGNER_TOKEN),
 * generates an ed25519 key, signs through ts_client_sign, verifies the
 * signature with libsodium, and checks the error reporting. Exit 0 = pass. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teesigner/client/client.h"

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                              \
        }                                                                            \
    } while (0)

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses the JSON string "\"0x...\"" into out; returns the length or -1. */
static int parse_hex_json(const char* json, unsigned char* out, size_t cap) {
    size_t n = strlen(json);
    size_t i;
    if (n < 4 || json[0] != '"' || json[1] != '0' || json[2] != 'x' || json[n - 1] != '"')
        return -1;
    n -= 4;
    if (n % 2 != 0 || n / 2 > cap) return -1;
    for (i = 0; i < n / 2; ++i) {
        int hi = hex_value(json[3 + 2 * i]), lo = hex_value(json[4 + 2 * i]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static void report(const char* what, int rc, const ts_client_error* err) {
    fprintf(stderr, "%s: rc %d, rpc code %d: %s (data %s)\n", what, rc,
            ts_client_error_rpc_code(err), ts_client_error_message(err),
            ts_client_error_data_json(err));
}

int main(int argc, char** argv) {
    ts_client* c = NULL;
    ts_client_error* err = NULL;
    char* result = NULL;
    unsigned char pub[32], gran[32], keys[1024];
    unsigned char sig[65];
    unsigned char small[10];
    size_t sig_len = 0, keys_len = 0, count = 0, i;
    const unsigned char message[] = "signed from C";
    int rc, found = 0;
    const char* token = getenv("TS_SIGNER_TOKEN");

    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [CA-FILE]\n", argv[0]);
        return 2;
    }
    if (sodium_init() < 0) return 2;

    /* A bad URL is an argument error, reported with a message. */
    rc = ts_client_open("ftp://nowhere", NULL, NULL, NULL, NULL, 1000, &c, &err);
    CHECK(rc == TS_E_INVALID_ARGUMENT && c == NULL);
    CHECK(ts_client_error_code(err) == TS_E_INVALID_ARGUMENT);
    CHECK(strlen(ts_client_error_message(err)) > 0);
    ts_client_error_free(err);
    err = NULL;

    rc = ts_client_open(argv[1], token, argc > 2 ? argv[2] : NULL, NULL, NULL, 10000, &c, &err);
    if (rc != TS_OK) {
        report("open", rc, err);
        return 1;
    }
    CHECK(err == NULL);

    /* Generic call: a new ed25519 key of a key type without protection rules. */
    rc = ts_client_call_json(c, "keystore_generateNew", "[\"test\", \"ed25519\"]", &result, &err);
    if (rc != TS_OK) {
        report("keystore_generateNew", rc, err);
        return 1;
    }
    CHECK(parse_hex_json(result, pub, sizeof pub) == 32);
    ts_client_free(result);
    result = NULL;

    rc = ts_client_sign(c, "test", "ed25519", pub, sizeof pub, message, sizeof message - 1, sig,
                        sizeof sig, &sig_len, &err);
    if (rc != TS_OK) {
        report("ts_client_sign", rc, err);
        return 1;
    }
    CHECK(sig_len == 64);
    CHECK(crypto_sign_verify_detached(sig, message, sizeof message - 1, pub) == 0);
    CHECK(crypto_sign_verify_detached(sig, message, sizeof message - 2, pub) != 0);

    /* Too small a buffer: the size needed comes back. */
    rc = ts_client_sign(c, "test", "ed25519", pub, sizeof pub, message, sizeof message - 1, small,
                        sizeof small, &sig_len, &err);
    CHECK(rc == TS_E_BUFFER_TOO_SMALL && sig_len == 64);
    ts_client_error_free(err);
    err = NULL;

    /* The key is listed. */
    rc = ts_client_public_keys(c, "test", "ed25519", keys, sizeof keys, &keys_len, &count, &err);
    CHECK(rc == TS_OK && count >= 1 && keys_len == 32 * count);
    for (i = 0; rc == TS_OK && i < count; ++i) found |= memcmp(keys + 32 * i, pub, 32) == 0;
    CHECK(found);

    /* JSON-RPC errors: code, message and data are retrievable. */
    rc = ts_client_call_json(c, "no_such_method", NULL, &result, &err);
    CHECK(rc == TS_E_RPC && result == NULL);
    CHECK(ts_client_error_rpc_code(err) == TS_RPC_METHOD_NOT_FOUND);
    CHECK(strlen(ts_client_error_message(err)) > 0);
    ts_client_error_free(err);
    err = NULL;

    rc = ts_client_call_json(c, "keystore_generateNew", "[\"gran\", \"ed25519\"]", &result, &err);
    CHECK(rc == TS_OK && result != NULL && parse_hex_json(result, gran, sizeof gran) == 32);
    ts_client_free(result);
    result = NULL;
    rc = ts_client_sign(c, "gran", "ed25519", gran, sizeof gran, message, sizeof message - 1, sig,
                        sizeof sig, &sig_len, &err);
    CHECK(rc == TS_E_RPC && ts_client_error_rpc_code(err) == TS_RPC_POLICY_REFUSED);
    CHECK(strstr(ts_client_error_data_json(err), "opaque_refused") != NULL);
    ts_client_error_free(err);
    err = NULL;

    rc = ts_client_sign(c, "test", "ed25519", pub, 31, message, sizeof message - 1, sig, sizeof sig,
                        &sig_len, &err);
    CHECK(rc == TS_E_RPC && ts_client_error_rpc_code(err) == TS_RPC_INVALID_PARAMS);
    ts_client_error_free(err);
    err = NULL;

    rc = ts_client_call_json(c, "rpc_methods", "not json", &result, &err);
    CHECK(rc == TS_E_INVALID_ARGUMENT);
    ts_client_error_free(err);
    CHECK(ts_client_sign(NULL, "test", "ed25519", pub, 32, message, 1, sig, sizeof sig, &sig_len,
                         NULL) == TS_E_INVALID_ARGUMENT);

    /* Session keys into a caller buffer. */
    rc = ts_client_rotate_keys(c, keys, sizeof keys, &keys_len, NULL);
    CHECK(rc == TS_OK && keys_len == 193);

    ts_client_close(c);
    if (failures == 0) printf("C client: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
