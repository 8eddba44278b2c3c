// GP TA-to-TA sessions in the soft TEE: there is no other TA and no
// pseudo-TA, so opening a session finds nothing (the signer TA's ATTEST_TEE
// then answers "no TEE attestation"). One definition for the soft TEE's TA
// process and the fuzz targets' in-process runtime.
#include "tee_internal_api.h"

extern "C" {

TEE_Result TEE_OpenTASession(const TEE_UUID*, uint32_t, uint32_t, TEE_Param*,
                             TEE_TASessionHandle* session, uint32_t* origin) {
    if (session != nullptr) *session = nullptr;
    if (origin != nullptr) *origin = TEE_ORIGIN_TEE;
    return TEE_ERROR_ITEM_NOT_FOUND;  // no other TA, no pseudo-TA
}

void TEE_CloseTASession(TEE_TASessionHandle) {}

TEE_Result TEE_InvokeTACommand(TEE_TASessionHandle, uint32_t, uint32_t, uint32_t, TEE_Param*,
                               uint32_t* origin) {
    if (origin != nullptr) *origin = TEE_ORIGIN_TEE;
    return TEE_ERROR_BAD_STATE;  // no session can have been opened
}

}  // extern "C"
