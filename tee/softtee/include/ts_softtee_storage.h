/*
 * Soft TEE extension to the GP persistent-object API (not part of GlobalPlatform;
 * an OP-TEE build of the TA never uses it). Between TS_BeginTransaction and
 * TS_CommitTransaction, TEE_CreatePersistentObject / TEE_WriteObjectData /
 * TEE_TruncateObjectData stage their new content instead of committing it, and
 * TS_CommitTransaction commits every staged object as one journal record with
 * one sync (see tee/softtee/storage.cpp). TEE_CloseAndDeletePersistentObject1
 * closes the handle and stages the removal: the commit removes every staged
 * object after the writes, with one checkpoint. Until the commit returns
 * TEE_SUCCESS nothing staged may be relied on; objects staged in a transaction
 * must not be opened.
 */
#ifndef TS_SOFTTEE_STORAGE_H
#define TS_SOFTTEE_STORAGE_H

#include "tee_internal_api.h"

#ifdef __cplusplus
extern "C" {
#endif

void TS_BeginTransaction(void);
/* Commit every staged object, then remove every staged removal; on failure
 * each object is its old or its new version and the removals are all or none
 * done, as after a crash. */
TEE_Result TS_CommitTransaction(void);
/* Drop every staged object. */
void TS_AbortTransaction(void);

#ifdef __cplusplus
}
#endif

#endif /* TS_SOFTTEE_STORAGE_H */
