// The TA's glue for the soft TEE (host build only; optee/ holds the OP-TEE
// build's): the UUID the soft TEE's TA process accepts in open-session, taken
// from the same TA properties the OP-TEE build uses.
#include "tee_internal_api.h"
// user_ta_header_defines.h also names OP-TEE's TA_FLAG_* and property macros;
// only TA_UUID is used here.
#include "../user_ta_header_defines.h"

extern "C" const TEE_UUID ts_softtee_ta_uuid = TA_UUID;
