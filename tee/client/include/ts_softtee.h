/*
 * Soft TEE extensions to the GP TEE Client API. Host code that must also build
 * against real libteec uses only tee_client_api.h; these helpers are for
 * configuration, diagnostics and tests.
 *
 * Configuration: TEEC_InitializeContext(name, ctx) accepts
 *   NULL or ""            defaults: storage directory from $TS_SOFTTEE_STORAGE
 *                         (else /var/lib/tee-signer/softtee), TA executable from
 *                         $TS_SOFTTEE_TA (else the path compiled into the library)
 *   "softtee:k=v,k=v..."  with keys
 *       storage=DIR       directory of sealed objects (created 0700 if missing)
 *       ta=PATH           TA host executable to spawn (e.g. ts-softtee-ta)
 *       stderr=PATH       append the TA process's diagnostics to PATH instead of
 *                         inheriting the caller's stderr
 *       timeout_ms=N      a request that takes longer kills the TA process and
 *                         returns TEEC_ERROR_TARGET_DEAD (default 30000, 0 = none)
 * Values cannot contain ','.
 *
 * One storage directory is used by one TA process at a time (the TA process
 * holds an exclusive lock); a second context on the same directory gets
 * TEEC_ERROR_BUSY.
 */
#ifndef TS_SOFTTEE_H
#define TS_SOFTTEE_H

#include <sys/types.h>

#include "tee_client_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Process id of the context's current TA process, or -1 when none runs. */
pid_t ts_softtee_child_pid(TEEC_Context* context);

/* Human-readable reason the TA process last died or failed to start ("" if
 * none), e.g. "TA process killed by seccomp (SIGSYS): forbidden system call".
 * Valid until the next call on the context. */
const char* ts_softtee_last_error(TEEC_Context* context);

/* Number of TA processes this context has started (1 after initialisation,
 * +1 per restart). */
unsigned ts_softtee_start_count(TEEC_Context* context);

/* Stable short description of a TEEC_/TEE_ result code. */
const char* ts_teec_result_string(TEEC_Result result);

#ifdef __cplusplus
}
#endif

#endif /* TS_SOFTTEE_H */
