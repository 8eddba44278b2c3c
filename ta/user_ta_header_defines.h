/*
 * OP-TEE TA properties of the tee-signer TA (the TA dev kit reads this file by
 * this exact name). The soft TEE reads TA_UUID from it too (softtee/ta_uuid.cpp).
 */
#ifndef USER_TA_HEADER_DEFINES_H
#define USER_TA_HEADER_DEFINES_H

#include "signer_ta.h"

#define TA_UUID TA_SIGNER_UUID

/* One instance shared by all sessions: the key store and, later, the
 * slashing-protection state must not be split between instances. */
#define TA_FLAGS (TA_FLAG_SINGLE_INSTANCE | TA_FLAG_MULTI_SESSION | TA_FLAG_INSTANCE_KEEP_ALIVE)
#define TA_STACK_SIZE (64 * 1024)
#define TA_DATA_SIZE (512 * 1024)

#define TA_CURRENT_TA_EXT_PROPERTIES                                                   \
    {"gp.ta.description", USER_TA_PROP_TYPE_STRING, "tee-signer validator key TA"}, \
    {                                                                                  \
        "gp.ta.version", USER_TA_PROP_TYPE_U32, &(const uint32_t) { 0x0001 }           \
    }

#endif /* USER_TA_HEADER_DEFINES_H */
