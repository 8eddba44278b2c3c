// Internals of the soft TEE's TA process (not used by the host library).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tee_internal_api.h"

namespace teesigner::softtee {

/// Exit status of the TA process after TEE_Panic (the host reports it).
inline constexpr int kPanicExitStatus = 101;

/// Write a diagnostic line to the TA process's stderr. Never pass secrets.
void child_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Storage functions that return a TEE_Result have logged the reason of a
// failure (child_log, "storage: ...") before returning it.

/// Before the sandbox: create/open the storage directory and take its
/// exclusive lock, waiting up to 3 s for a TA process that is stopping.
/// TEE_ERROR_BUSY when another TA process holds it.
TEE_Result storage_prepare(const char* path);
/// The storage directory's descriptor (for the seccomp filter).
int storage_dirfd();
/// After the sandbox: load or create the device key, load the counter file
/// and replay the journal.
TEE_Result storage_load();
/// The reason of the last storage failure, as logged (for the start-up
/// report to the host); empty when none failed.
const std::string& storage_failure_reason();
/// On an orderly stop: checkpoint, so the next start has no journal to replay.
void storage_close();
/// Whether the journal has grown enough, and holds an object not committed
/// recently, for idle time to write object files ahead of the next checkpoint.
bool storage_idle_work_pending();
/// One piece of that work: one object file written and synced. Call only
/// between commands, when none is waiting.
void storage_idle_step();

enum class LandlockStatus { enforced, unsupported, failed };
/// Confine path-based file access to the storage directory with Landlock
/// (Linux >= 5.13); complements seccomp, which cannot inspect path names
/// (e.g. openat(dirfd, "../..")). Best effort: unsupported kernels are reported.
LandlockStatus install_landlock(int dirfd);

/// Install the seccomp allow-list. Everything not listed kills the process.
/// `dirfd` is the only directory file operations may be relative to.
bool install_seccomp(int dirfd, int socket_fd);

/// Buffer in locked, non-dumpable memory (libsodium's guarded allocator).
class LockedBuffer {
  public:
    LockedBuffer() = default;
    ~LockedBuffer();
    LockedBuffer(const LockedBuffer&) = delete;
    LockedBuffer& operator=(const LockedBuffer&) = delete;
    bool resize(size_t n);  // keeps contents, zero-fills growth; false on OOM
    size_t capacity() const { return capacity_; }
    void swap(LockedBuffer& other) noexcept;
    uint8_t* data() { return data_; }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

  private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

}  // namespace teesigner::softtee
