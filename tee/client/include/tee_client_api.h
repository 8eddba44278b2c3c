/*
 * GlobalPlatform TEE Client API (v1.0), written for this project from the
 * public GlobalPlatform "TEE Client API Specification". Numeric values are the
 * ones the specification assigns (TEEC_ERROR_TARGET_DEAD and
 * TEEC_ERROR_EXTERNAL_CANCEL share their values with the Internal Core API, as
 * libteec does).
 *
 * This header belongs to the soft TEE (libts_softtee). The structures'
 * implementation-defined members ("imp") differ between implementations, so a
 * build against real OP-TEE uses libteec's own tee_client_api.h instead; host
 * code must touch only the members the specification names.
 */
#ifndef TEE_CLIENT_API_H
#define TEE_CLIENT_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Constants ----------------------------------------------------------- */

#define TEEC_CONFIG_PAYLOAD_REF_COUNT 4
/* Largest shared memory block and largest memory reference the soft TEE
 * accepts (both directions are checked on both sides of the socket). */
#define TEEC_CONFIG_SHAREDMEM_MAX_SIZE (1024u * 1024u)

/* Return codes. */
#define TEEC_SUCCESS 0x00000000
#define TEEC_ERROR_GENERIC 0xFFFF0000
#define TEEC_ERROR_ACCESS_DENIED 0xFFFF0001
#define TEEC_ERROR_CANCEL 0xFFFF0002
#define TEEC_ERROR_ACCESS_CONFLICT 0xFFFF0003
#define TEEC_ERROR_EXCESS_DATA 0xFFFF0004
#define TEEC_ERROR_BAD_FORMAT 0xFFFF0005
#define TEEC_ERROR_BAD_PARAMETERS 0xFFFF0006
#define TEEC_ERROR_BAD_STATE 0xFFFF0007
#define TEEC_ERROR_ITEM_NOT_FOUND 0xFFFF0008
#define TEEC_ERROR_NOT_IMPLEMENTED 0xFFFF0009
#define TEEC_ERROR_NOT_SUPPORTED 0xFFFF000A
#define TEEC_ERROR_NO_DATA 0xFFFF000B
#define TEEC_ERROR_OUT_OF_MEMORY 0xFFFF000C
#define TEEC_ERROR_BUSY 0xFFFF000D
#define TEEC_ERROR_COMMUNICATION 0xFFFF000E
#define TEEC_ERROR_SECURITY 0xFFFF000F
#define TEEC_ERROR_SHORT_BUFFER 0xFFFF0010
#define TEEC_ERROR_EXTERNAL_CANCEL 0xFFFF0011
#define TEEC_ERROR_TARGET_DEAD 0xFFFF3024
/* Codes of the GP Internal Core API's trusted storage (TEE_ERROR_* in
 * tee_internal_api.h) that reach the client unchanged as a TA's result; the
 * Client API specification names none of them. */
#define TEEC_ERROR_CORRUPT_OBJECT 0xF0100001
#define TEEC_ERROR_STORAGE_NOT_AVAILABLE 0xF0100003
#define TEEC_ERROR_STORAGE_NO_SPACE 0xFFFF3041

/* Where a returned error came from. */
#define TEEC_ORIGIN_API 0x00000001
#define TEEC_ORIGIN_COMMS 0x00000002
#define TEEC_ORIGIN_TEE 0x00000003
#define TEEC_ORIGIN_TRUSTED_APP 0x00000004

/* Shared memory direction flags. */
#define TEEC_MEM_INPUT 0x00000001
#define TEEC_MEM_OUTPUT 0x00000002

/* Parameter types. */
#define TEEC_NONE 0x00000000
#define TEEC_VALUE_INPUT 0x00000001
#define TEEC_VALUE_OUTPUT 0x00000002
#define TEEC_VALUE_INOUT 0x00000003
#define TEEC_MEMREF_TEMP_INPUT 0x00000005
#define TEEC_MEMREF_TEMP_OUTPUT 0x00000006
#define TEEC_MEMREF_TEMP_INOUT 0x00000007
#define TEEC_MEMREF_WHOLE 0x0000000C
#define TEEC_MEMREF_PARTIAL_INPUT 0x0000000D
#define TEEC_MEMREF_PARTIAL_OUTPUT 0x0000000E
#define TEEC_MEMREF_PARTIAL_INOUT 0x0000000F

/* Login methods. */
#define TEEC_LOGIN_PUBLIC 0x00000000
#define TEEC_LOGIN_USER 0x00000001
#define TEEC_LOGIN_GROUP 0x00000002
#define TEEC_LOGIN_APPLICATION 0x00000004
#define TEEC_LOGIN_USER_APPLICATION 0x00000005
#define TEEC_LOGIN_GROUP_APPLICATION 0x00000006

#define TEEC_PARAM_TYPES(p0, p1, p2, p3) \
    ((uint32_t)(p0) | ((uint32_t)(p1) << 4) | ((uint32_t)(p2) << 8) | ((uint32_t)(p3) << 12))
#define TEEC_PARAM_TYPE_GET(t, i) ((((uint32_t)(t)) >> ((i) * 4)) & 0xF)

/* ---- Types --------------------------------------------------------------- */

typedef uint32_t TEEC_Result;

typedef struct {
    uint32_t timeLow;
    uint16_t timeMid;
    uint16_t timeHiAndVersion;
    uint8_t clockSeqAndNode[8];
} TEEC_UUID;

/* A connection to a TEE. imp is implementation-defined (the soft TEE keeps a
 * pointer to its child-process state there). */
typedef struct {
    struct {
        void* state;
    } imp;
} TEEC_Context;

/* A connection to one trusted application. */
typedef struct {
    struct {
        TEEC_Context* context;
        uint32_t session_id;
        uint32_t generation; /* child-process generation the session belongs to */
    } imp;
} TEEC_Session;

typedef struct {
    void* buffer;
    size_t size;
    uint32_t flags;
    struct {
        TEEC_Context* context;
        int allocated; /* buffer was allocated by TEEC_AllocateSharedMemory */
    } imp;
} TEEC_SharedMemory;

typedef struct {
    void* buffer;
    size_t size;
} TEEC_TempMemoryReference;

typedef struct {
    TEEC_SharedMemory* parent;
    size_t size;
    size_t offset;
} TEEC_RegisteredMemoryReference;

typedef struct {
    uint32_t a;
    uint32_t b;
} TEEC_Value;

typedef union {
    TEEC_TempMemoryReference tmpref;
    TEEC_RegisteredMemoryReference memref;
    TEEC_Value value;
} TEEC_Parameter;

typedef struct {
    uint32_t started;
    uint32_t paramTypes;
    TEEC_Parameter params[TEEC_CONFIG_PAYLOAD_REF_COUNT];
    struct {
        TEEC_Session* session;
    } imp;
} TEEC_Operation;

/* ---- Functions ----------------------------------------------------------- */

/* name selects the TEE; NULL means the default. The soft TEE also accepts a
 * configuration string, see tee/client/include/ts_softtee.h. */
TEEC_Result TEEC_InitializeContext(const char* name, TEEC_Context* context);
void TEEC_FinalizeContext(TEEC_Context* context);

TEEC_Result TEEC_RegisterSharedMemory(TEEC_Context* context, TEEC_SharedMemory* sharedMem);
TEEC_Result TEEC_AllocateSharedMemory(TEEC_Context* context, TEEC_SharedMemory* sharedMem);
void TEEC_ReleaseSharedMemory(TEEC_SharedMemory* sharedMem);

TEEC_Result TEEC_OpenSession(TEEC_Context* context, TEEC_Session* session,
                             const TEEC_UUID* destination, uint32_t connectionMethod,
                             const void* connectionData, TEEC_Operation* operation,
                             uint32_t* returnOrigin);
void TEEC_CloseSession(TEEC_Session* session);

TEEC_Result TEEC_InvokeCommand(TEEC_Session* session, uint32_t commandID,
                               TEEC_Operation* operation, uint32_t* returnOrigin);

void TEEC_RequestCancellation(TEEC_Operation* operation);

#ifdef __cplusplus
}
#endif

#endif /* TEE_CLIENT_API_H */
