/* C API of the tee-signer client library (a thin layer over the C++ client,
 * teesigner/client/client.hpp). No exception crosses this boundary: every
 * function returns an int, 0 on success and a negative TS_E* code on failure,
 * and can hand back a ts_client_error with the details (for TS_E_RPC the
 * JSON-RPC error code, message and data).
 *
 * A ts_client holds one keep-alive connection and is not thread-safe: use one
 * handle per thread. Strings returned by the library are freed with
 * ts_client_free; errors with ts_client_error_free; handles with
 * ts_client_close. */
#ifndef TEESIGNER_CLIENT_CLIENT_H
#define TEESIGNER_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define TS_OK 0
#define TS_E_INVALID_ARGUMENT (-1) /* NULL where a value is needed, bad URL, bad JSON params */
#define TS_E_TRANSPORT (-2)        /* cannot connect, TLS failure, timeout, malformed answer */
#define TS_E_RPC (-3)              /* the signer answered a JSON-RPC error: see rpc_code */
#define TS_E_BUFFER_TOO_SMALL (-4) /* *out_len holds the size needed */
#define TS_E_NO_MEMORY (-5)
#define TS_E_INTERNAL (-6)

/* JSON-RPC error codes the signer uses (docs/protocol.md). */
#define TS_RPC_METHOD_NOT_FOUND (-32601)
#define TS_RPC_INVALID_PARAMS (-32602)
#define TS_RPC_UNAUTHORIZED (-32001)
#define TS_RPC_KEY_NOT_FOUND (-32003)
#define TS_RPC_TEE_UNAVAILABLE (-32004)
#define TS_RPC_NOT_SUPPORTED (-32005)
#define TS_RPC_RATE_LIMITED (-32006)
#define TS_RPC_SLASHING_REFUSED (-32010)
#define TS_RPC_POLICY_REFUSED (-32011)

typedef struct ts_client ts_client;
typedef struct ts_client_error ts_client_error;

/* Open a handle. url: "http://host:port", "https://host:port" or
 * "unix:/path/to/socket". token, ca_file, cert_file, key_file may be NULL (or
 * empty). timeout_ms bounds each call (0 = 30000). Connects lazily: a wrong
 * address shows up at the first call; a bad URL or unreadable TLS file here.
 * err may be NULL; otherwise *err is set on failure (free it) and NULL on
 * success. */
int ts_client_open(const char* url, const char* token, const char* ca_file,
                   const char* cert_file, const char* key_file, uint32_t timeout_ms,
                   ts_client** handle, ts_client_error** err);

/* Close the connection and free the handle (NULL is fine). */
void ts_client_close(ts_client* handle);

/* Free a string returned by the library (NULL is fine). */
void ts_client_free(void* p);

/* Call any method: params_json is a JSON array or object (NULL = []). On
 * success *result_json is the JSON text of "result" (free with
 * ts_client_free). */
int ts_client_call_json(ts_client* handle, const char* method, const char* params_json,
                        char** result_json, ts_client_error** err);

/* keystore_sign(key_type, scheme, public, message): key_type is 4 characters
 * ("gran", "babe", ...), scheme "sr25519", "ed25519" or "ecdsa". The
 * signature (64 or 65 bytes) goes to sig[0..*sig_len); sig_cap = 65 is
 * always enough. */
int ts_client_sign(ts_client* handle, const char* key_type, const char* scheme,
                   const uint8_t* public_key, size_t public_key_len, const uint8_t* message,
                   size_t message_len, uint8_t* sig, size_t sig_cap, size_t* sig_len,
                   ts_client_error** err);

/* author_rotateKeys: new session keys, their SCALE concatenation (193 bytes
 * on Kusama/Polkadot) into keys[0..*keys_len). */
int ts_client_rotate_keys(ts_client* handle, uint8_t* keys, size_t keys_cap, size_t* keys_len,
                          ts_client_error** err);

/* keystore_publicKeys(key_type, scheme): the keys, concatenated, into
 * out[0..*out_len); *count is the number of keys (all of one length). */
int ts_client_public_keys(ts_client* handle, const char* key_type, const char* scheme,
                          uint8_t* out, size_t out_cap, size_t* out_len, size_t* count,
                          ts_client_error** err);

/* Details of a failure. */
int ts_client_error_code(const ts_client_error* err);     /* the TS_E* value */
int ts_client_error_rpc_code(const ts_client_error* err); /* JSON-RPC code, 0 unless TS_E_RPC */
const char* ts_client_error_message(const ts_client_error* err);
/* JSON text of the JSON-RPC error's "data" ("null" when absent). */
const char* ts_client_error_data_json(const ts_client_error* err);
void ts_client_error_free(ts_client_error* err);

#ifdef __cplusplus
}
#endif

#endif /* TEESIGNER_CLIENT_CLIENT_H */
