// The slashing-protection state on GP persistent objects (TEE_STORAGE_PRIVATE),
// one object per core::protection blob (ids start with "prot/"). Every write is
// TEE_CreatePersistentObject with the whole new content and OVERWRITE, which
// GP storage commits atomically (the soft TEE: tmp file, fsync, rename, fsync
// dir, counter update; OP-TEE: its REE-FS/RPMB commit), and returns only once
// committed: the protection record is durable before any signature leaves.
#pragma once

#include "gp_api.hpp"
#include "teesigner/core/protection.hpp"

namespace teesigner::ta {

class TeeBlobStore final : public core::protection::BlobStore {
  public:
    core::Error read(core::ByteSpan name, core::Bytes& out, bool& found) override;
    core::Error write(core::ByteSpan name, core::ByteSpan data) override;
    core::Error remove(core::ByteSpan name) override;

    /// The GP result of the last failed storage call (TEE_SUCCESS if none):
    /// e.g. TEE_ERROR_SECURITY when the soft TEE detected a rollback.
    TEE_Result last_error() const { return last_error_; }

  private:
    core::Error fail(TEE_Result rc);
    TEE_Result last_error_ = TEE_SUCCESS;
};

/// Called at the start of every command: reads of the previous command are
/// forgotten (within a command, a small object is read from storage once).
void protection_store_new_command();

/// Group commit (TA_SIGNER_CMD_SIGN_BATCH): from here on, TeeBlobStore writes
/// and removals are buffered in memory (reads see them) instead of committed.
void begin_protection_batch();

/// Drop what was buffered and leave buffering mode (a request that failed
/// before it could be answered: nothing of it is stored).
void abort_protection_batch();

/// Commit what was buffered and leave buffering mode: every written object in
/// the order it was first written, then every removal, each committed
/// atomically by GP storage (the soft TEE commits the written objects in one
/// transaction, tee/softtee/include/ts_softtee_storage.h). Any prefix of that
/// sequence is a state the Protector could itself have left (its own order
/// puts indexes and raised watermarks before what depends on them and
/// removals last), and no signature of the batch exists before the whole
/// sequence is committed.
/// The first failure stops the commit and is returned.
TEE_Result commit_protection_batch();

}  // namespace teesigner::ta
