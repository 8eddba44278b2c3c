/*
 * GlobalPlatform TEE Internal Core API: the subset the tee-signer trusted
 * application uses. Written for this project from the public GlobalPlatform
 * "TEE Internal Core API Specification" (v1.1, with the size_t-based
 * signatures of v1.2/v1.3 that OP-TEE uses by default). Numeric values are the
 * ones the specification assigns.
 *
 * On OP-TEE the TA dev kit supplies its own <tee_internal_api.h>; this header
 * is for the soft TEE (tee/) and for the cross-compile check that the TA only
 * references GP functions. Keep every declaration here source-compatible with
 * the specification so the TA builds unchanged against either.
 */
#ifndef TEE_INTERNAL_API_H
#define TEE_INTERNAL_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic types (spec section 3.2 / 4.1) ------------------------------- */

typedef uint32_t TEE_Result;

typedef struct {
    uint32_t timeLow;
    uint16_t timeMid;
    uint16_t timeHiAndVersion;
    uint8_t clockSeqAndNode[8];
} TEE_UUID;

/* One operation parameter: a memory reference or two 32-bit values. */
typedef union {
    struct {
        void* buffer;
        size_t size;
    } memref;
    struct {
        uint32_t a;
        uint32_t b;
    } value;
} TEE_Param;

typedef struct {
    uint32_t seconds;
    uint32_t millis;
} TEE_Time;

typedef struct __TEE_ObjectHandle* TEE_ObjectHandle;

typedef struct __TEE_TASessionHandle* TEE_TASessionHandle;

typedef uint32_t TEE_Whence;

typedef struct {
    uint32_t objectType;
    uint32_t objectSize;
    uint32_t maxObjectSize;
    uint32_t objectUsage;
    size_t dataSize;
    size_t dataPosition;
    uint32_t handleFlags;
} TEE_ObjectInfo;

/* ---- Constants ----------------------------------------------------------- */

#define TEE_HANDLE_NULL 0

/* Return codes. */
#define TEE_SUCCESS 0x00000000
#define TEE_ERROR_CORRUPT_OBJECT 0xF0100001
#define TEE_ERROR_CORRUPT_OBJECT_2 0xF0100002
#define TEE_ERROR_STORAGE_NOT_AVAILABLE 0xF0100003
#define TEE_ERROR_STORAGE_NOT_AVAILABLE_2 0xF0100004
#define TEE_ERROR_GENERIC 0xFFFF0000
#define TEE_ERROR_ACCESS_DENIED 0xFFFF0001
#define TEE_ERROR_CANCEL 0xFFFF0002
#define TEE_ERROR_ACCESS_CONFLICT 0xFFFF0003
#define TEE_ERROR_EXCESS_DATA 0xFFFF0004
#define TEE_ERROR_BAD_FORMAT 0xFFFF0005
#define TEE_ERROR_BAD_PARAMETERS 0xFFFF0006
#define TEE_ERROR_BAD_STATE 0xFFFF0007
#define TEE_ERROR_ITEM_NOT_FOUND 0xFFFF0008
#define TEE_ERROR_NOT_IMPLEMENTED 0xFFFF0009
#define TEE_ERROR_NOT_SUPPORTED 0xFFFF000A
#define TEE_ERROR_NO_DATA 0xFFFF000B
#define TEE_ERROR_OUT_OF_MEMORY 0xFFFF000C
#define TEE_ERROR_BUSY 0xFFFF000D
#define TEE_ERROR_COMMUNICATION 0xFFFF000E
#define TEE_ERROR_SECURITY 0xFFFF000F
#define TEE_ERROR_SHORT_BUFFER 0xFFFF0010
#define TEE_ERROR_EXTERNAL_CANCEL 0xFFFF0011
#define TEE_ERROR_OVERFLOW 0xFFFF300F
#define TEE_ERROR_TARGET_DEAD 0xFFFF3024
#define TEE_ERROR_STORAGE_NO_SPACE 0xFFFF3041
#define TEE_ERROR_MAC_INVALID 0xFFFF3071
#define TEE_ERROR_SIGNATURE_INVALID 0xFFFF3072
#define TEE_ERROR_TIME_NOT_SET 0xFFFF5000
#define TEE_ERROR_TIME_NEEDS_RESET 0xFFFF5001

/* Parameter types; four 4-bit fields packed into one uint32_t. */
#define TEE_PARAM_TYPE_NONE 0
#define TEE_PARAM_TYPE_VALUE_INPUT 1
#define TEE_PARAM_TYPE_VALUE_OUTPUT 2
#define TEE_PARAM_TYPE_VALUE_INOUT 3
#define TEE_PARAM_TYPE_MEMREF_INPUT 5
#define TEE_PARAM_TYPE_MEMREF_OUTPUT 6
#define TEE_PARAM_TYPE_MEMREF_INOUT 7

#define TEE_PARAM_TYPES(t0, t1, t2, t3) \
    ((uint32_t)(t0) | ((uint32_t)(t1) << 4) | ((uint32_t)(t2) << 8) | ((uint32_t)(t3) << 12))
#define TEE_PARAM_TYPE_GET(t, i) ((((uint32_t)(t)) >> ((i) * 4)) & 0xF)

/* Login types. */
#define TEE_LOGIN_PUBLIC 0x00000000
#define TEE_LOGIN_USER 0x00000001
#define TEE_LOGIN_GROUP 0x00000002
#define TEE_LOGIN_APPLICATION 0x00000004

/* Error origins. */
#define TEE_ORIGIN_API 0x00000001
#define TEE_ORIGIN_COMMS 0x00000002
#define TEE_ORIGIN_TEE 0x00000003
#define TEE_ORIGIN_TRUSTED_APP 0x00000004

/* Timeouts (cancellationRequestTimeout). */
#define TEE_TIMEOUT_INFINITE 0xFFFFFFFF

/* TEE_Malloc hints. */
#define TEE_MALLOC_FILL_ZERO 0x00000000

/* Data stream positioning. */
#define TEE_DATA_SEEK_SET 0x00000000
#define TEE_DATA_SEEK_CUR 0x00000001
#define TEE_DATA_SEEK_END 0x00000002

/* Storage and data flags. */
#define TEE_STORAGE_PRIVATE 0x00000001

#define TEE_DATA_FLAG_ACCESS_READ 0x00000001
#define TEE_DATA_FLAG_ACCESS_WRITE 0x00000002
#define TEE_DATA_FLAG_ACCESS_WRITE_META 0x00000004
#define TEE_DATA_FLAG_SHARE_READ 0x00000010
#define TEE_DATA_FLAG_SHARE_WRITE 0x00000020
#define TEE_DATA_FLAG_OVERWRITE 0x00000400
#define TEE_DATA_MAX_POSITION 0xFFFFFFFF
#define TEE_OBJECT_ID_MAX_LEN 64

#define TEE_TYPE_DATA 0xA00000BF

#define TEE_HANDLE_FLAG_PERSISTENT 0x00010000
#define TEE_HANDLE_FLAG_INITIALIZED 0x00020000

/* ---- TA interface (implemented by the trusted application) -------------- */

TEE_Result TA_CreateEntryPoint(void);
void TA_DestroyEntryPoint(void);
TEE_Result TA_OpenSessionEntryPoint(uint32_t paramTypes, TEE_Param params[4],
                                    void** sessionContext);
void TA_CloseSessionEntryPoint(void* sessionContext);
TEE_Result TA_InvokeCommandEntryPoint(void* sessionContext, uint32_t commandID,
                                      uint32_t paramTypes, TEE_Param params[4]);

/* ---- Panic --------------------------------------------------------------- */

/* Ends the TA instance; the client sees TEE_ERROR_TARGET_DEAD. Not declared
 * noreturn, as in OP-TEE's header (4.x): code must not rely on it, or it
 * would build here and not against the dev kit. */
void TEE_Panic(TEE_Result panicCode);

/* ---- Memory management --------------------------------------------------- */

void* TEE_Malloc(size_t size, uint32_t hint);
void* TEE_Realloc(void* buffer, size_t newSize);
void TEE_Free(void* buffer);
void TEE_MemMove(void* dest, const void* src, size_t size);
int32_t TEE_MemCompare(const void* buffer1, const void* buffer2, size_t size);
void TEE_MemFill(void* buffer, uint32_t x, size_t size);

/* ---- Persistent objects -------------------------------------------------- */

TEE_Result TEE_OpenPersistentObject(uint32_t storageID, const void* objectID, size_t objectIDLen,
                                    uint32_t flags, TEE_ObjectHandle* object);
TEE_Result TEE_CreatePersistentObject(uint32_t storageID, const void* objectID,
                                      size_t objectIDLen, uint32_t flags,
                                      TEE_ObjectHandle attributes, const void* initialData,
                                      size_t initialDataLen, TEE_ObjectHandle* object);
void TEE_CloseObject(TEE_ObjectHandle object);
TEE_Result TEE_CloseAndDeletePersistentObject1(TEE_ObjectHandle object);
TEE_Result TEE_GetObjectInfo1(TEE_ObjectHandle object, TEE_ObjectInfo* objectInfo);

TEE_Result TEE_ReadObjectData(TEE_ObjectHandle object, void* buffer, size_t size, size_t* count);
TEE_Result TEE_WriteObjectData(TEE_ObjectHandle object, const void* buffer, size_t size);
TEE_Result TEE_TruncateObjectData(TEE_ObjectHandle object, size_t size);
TEE_Result TEE_SeekObjectData(TEE_ObjectHandle object, intmax_t offset, TEE_Whence whence);

/* ---- Internal client API (spec section 4.9): sessions with other TAs ---- */

/* The soft TEE has no other TA (no pseudo-TA either): TEE_OpenTASession
 * answers TEE_ERROR_ITEM_NOT_FOUND, origin TEE_ORIGIN_TEE. */
TEE_Result TEE_OpenTASession(const TEE_UUID* destination, uint32_t cancellationRequestTimeout,
                             uint32_t paramTypes, TEE_Param params[4],
                             TEE_TASessionHandle* session, uint32_t* returnOrigin);
void TEE_CloseTASession(TEE_TASessionHandle session);
TEE_Result TEE_InvokeTACommand(TEE_TASessionHandle session, uint32_t cancellationRequestTimeout,
                               uint32_t commandID, uint32_t paramTypes, TEE_Param params[4],
                               uint32_t* returnOrigin);

/* ---- Random numbers and time --------------------------------------------- */

void TEE_GenerateRandom(void* randomBuffer, size_t randomBufferLen);
void TEE_GetSystemTime(TEE_Time* time);

#ifdef __cplusplus
}
#endif

#endif /* TEE_INTERNAL_API_H */
