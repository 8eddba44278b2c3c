// GP persistent objects for the soft TEE: authenticated-encrypted files in one
// storage directory, with rollback detection. Format and guarantees are in
// docs/soft-tee.md; in short:
//
//   device.key     32 random bytes, mode 0600 (the soft TEE's root secret)
//   o<64 hex>      one object: header | nonce | XChaCha20-Poly1305(data)
//                  header = "TSOB" | u32 format | u64 version; AD = header | object id
//                  name = hex(BLAKE2b-256 keyed with a name key, object id)
//   counter        header "TSCT" | u32 format | u64 G | nonce | sealed table of
//                  (name hash, latest version) for every object
//   journal        writes since the last checkpoint: records "TSJR" | u32 format |
//                  u64 last version | u32 length | nonce | sealed list of
//                  (name hash, version, object file), from offset 0; after
//                  them, older records (at or below the counter's G) or zeros
//
// Every write takes the next version G+1. A commit (one object, or all objects
// of a TS_ transaction) writes one journal record and syncs it: one fdatasync
// for any number of objects, and no other file touched. The committed object
// files stay in memory (reads are served from there) until idle time (past
// kIdleWriteFrom of journal, no request waiting) or a checkpoint (journal past
// kJournalLimit, an object deleted, an orderly stop) writes and syncs each
// once, however often it was committed since; the checkpoint rewrites the counter
// atomically and starts the journal again at offset 0. After a crash, start-up
// replays the records newer than the counter, rewriting their object files
// durably, and checkpoints.
//
// The journal file keeps its size: it grows in zero-filled steps, and records
// overwrite it in place. Appending would change the file's size with every
// commit, and fdatasync would then also write the inode (a second, dependent
// disk write); emptying it with ftruncate at each checkpoint frees its blocks
// (a discard on SSDs mounted with it) only to allocate them again.
// Opening an object refuses a file whose version is below the recorded one
// (rollback, TEE_ERROR_SECURITY), a file that fails authentication
// (TEE_ERROR_CORRUPT_OBJECT) and a missing file the counter says exists
// (TEE_ERROR_CORRUPT_OBJECT). A file newer than the counter is a write whose
// counter update was interrupted: accepted and recorded.
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "child.hpp"
#include "tee_internal_api.h"
#include "ts_softtee_storage.h"

namespace teesigner::softtee {
namespace {

using Name = std::array<uint8_t, 32>;

constexpr uint32_t kFormat = 1;
constexpr size_t kHeader = 16;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kMaxObjectData = 1024 * 1024;
constexpr size_t kMaxFile = kHeader + kNonce + kMaxObjectData + 64 * 1024 + kTag;
constexpr const char* kDeviceKeyFile = "device.key";
constexpr const char* kCounterFile = "counter";
constexpr const char* kLockFile = ".lock";
constexpr const char* kJournalFile = "journal";
// A checkpoint (about 3 + K syncs for K objects written since the last one)
// starts the journal again once its records take this many bytes.
constexpr size_t kJournalLimit = 4 * 1024 * 1024;
// Past this many bytes of journal, the TA process's idle time (no request
// waiting) writes unwritten object files one at a time, so that the
// checkpoint at kJournalLimit, on a command's path, has few left: it wrote
// hundreds of new files at once (a new parachain session's buckets), a stall
// of 100-400 ms (CHANGELOG.md, 2026-11-30, session 9).
constexpr size_t kIdleWriteFrom = 1024 * 1024;
// ... but only objects not committed for this many writes: one committed
// again soon (a key's main object, its newest history page) would only need
// writing again, and its write would hold up the request that commits it.
constexpr uint64_t kColdWrites = 256;
// The journal file grows in zero-filled steps of kJournalStep (small enough
// that the commit which syncs one stays short) up to this size, so that nearly
// every commit overwrites allocated blocks; a record that goes past it extends
// the file.
constexpr size_t kJournalReserve = kJournalLimit + 1024 * 1024;
constexpr size_t kJournalStep = 256 * 1024;
// Start-up refuses a journal larger than this (it cannot come from us: one
// record holds at most a transaction's objects, each at most kMaxFile).
constexpr size_t kJournalMaxRead = 256 * 1024 * 1024;
constexpr size_t kJournalHeader = 20;  // "TSJR" | u32 format | u64 last version | u32 length

// What identifies one state of a file: replacing or rewriting it changes at
// least one of these (ctime cannot be set from user space).
struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    struct timespec mtime {};
    struct timespec ctime {};
    bool operator==(const FileIdentity& o) const {
        return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
               mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
               ctime.tv_nsec == o.ctime.tv_nsec;
    }
};

// An object file's sealed bytes as last read or written (ciphertext: nothing
// secret). Served again while the file's identity is unchanged, which saves
// the open/read/close of every object read; authentication and the rollback
// check still run on every load. A file changed behind the TA's back (a
// restored or flipped copy) has a new identity and is read afresh.
struct CachedFile {
    FileIdentity identity;
    std::vector<uint8_t> bytes;
};
constexpr size_t kFileCacheBytes = 16 * 1024 * 1024;

struct Store {
    int dirfd = -1;
    int lockfd = -1;
    LockedBuffer keys;  // [0,32) object key, [32,64) name key
    uint64_t g = 0;     // highest committed version
    std::map<Name, uint64_t> versions;
    std::map<Name, CachedFile> files;
    size_t cached_bytes = 0;
    int journal_fd = -1;
    size_t journal_end = 0;       // bytes of records since the last checkpoint, from offset 0
    size_t journal_reserved = 0;  // the journal file's size
    // Object files committed (journaled) since then and not yet written to
    // their files: the latest sealed bytes of each, at most the journal's size.
    std::map<Name, std::vector<uint8_t>> unwritten;
    // Object files written in idle time since the last checkpoint: the next
    // one syncs the directory for their entries.
    bool dir_dirty = false;
    // An idle write failed: no more idle work until the next commit (the
    // checkpoint at kJournalLimit reports the error to a command).
    bool idle_failed = false;
};
Store g_store;

uint8_t* object_key() {
    return g_store.keys.data();
}
uint8_t* name_key() {
    return g_store.keys.data() + 32;
}

void put_u32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
    return v;
}
uint64_t get_u64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
}

std::string hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

// Two conventions, one per layer. The file helpers below (read_*, write_*,
// identity_of) return 0 or the errno value of the call that failed, taken at
// once: a later close() or unlinkat() may change errno. Everything above them
// returns a TEE_Result, and a failure goes through fail(), which logs what
// failed and why where it is found, once, and keeps the reason for the
// start-up report to the host (storage_failure_reason).
std::string g_last_failure;

__attribute__((format(printf, 2, 3))) TEE_Result fail(TEE_Result rc, const char* fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    g_last_failure = n < 0 ? "storage failure (reason not printable)" : reason;
    child_log("storage: %s", g_last_failure.c_str());
    return rc;
}

Name object_name(const void* id, size_t len) {
    Name n{};
    crypto_generichash(n.data(), n.size(), static_cast<const uint8_t*>(id), len, name_key(), 32);
    return n;
}

std::string file_name(const Name& n) {
    // Appending (not "o" + ...) avoids a GCC 12 -Wrestrict false positive at -O3.
    std::string name = "o";
    name += hex(n.data(), n.size());
    return name;
}

// Read everything in an open file, from its start (pread: the file offset is
// neither used nor moved). 0, EFBIG when it holds more than `max_size` bytes,
// or an errno value.
int read_all(int fd, size_t max_size, std::vector<uint8_t>& out) {
    out.clear();
    uint8_t buf[65536];
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return 0;
        if (out.size() + static_cast<size_t>(r) > max_size) return EFBIG;
        out.insert(out.end(), buf, buf + r);
    }
}

// Read a whole file below the storage directory. 0 or an errno value (EFBIG
// past kMaxFile).
int read_file(const std::string& name, std::vector<uint8_t>& out) {
    int fd = openat(g_store.dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno;
    int e = read_all(fd, kMaxFile, out);
    close(fd);
    return e;
}

// Write `size` bytes at `offset` of an open file (pwrite: the file offset is
// neither used nor moved), retrying after EINTR and going on after a short
// write. 0, or an errno value (EIO for a write that writes nothing).
int write_all(int fd, const uint8_t* data, size_t size, off_t offset) {
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, offset + static_cast<off_t>(done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        if (w == 0) return EIO;
        done += static_cast<size_t>(w);
    }
    return 0;
}

// 0, or an errno value (ENOENT when absent).
int identity_of(const std::string& name, FileIdentity& id) {
    struct stat st {};
    if (fstatat(g_store.dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.ctime = st.st_ctim;
    return 0;
}

void forget_file(const Name& n) {
    auto it = g_store.files.find(n);
    if (it == g_store.files.end()) return;
    g_store.cached_bytes -= it->second.bytes.size();
    g_store.files.erase(it);
}

void remember_file(const Name& n, const FileIdentity& id, const uint8_t* data, size_t len) {
    forget_file(n);
    if (len > kFileCacheBytes / 16) return;
    if (g_store.cached_bytes + len > kFileCacheBytes) {
        g_store.files.clear();
        g_store.cached_bytes = 0;
    }
    CachedFile& c = g_store.files[n];
    c.identity = id;
    c.bytes.assign(data, data + len);
    g_store.cached_bytes += len;
}

// An object file's bytes, from the cache when the file is unchanged. 0 or an
// errno value, as read_file.
int read_object_file(const Name& n, const std::string& fname, std::vector<uint8_t>& out) {
    if (auto it = g_store.unwritten.find(n); it != g_store.unwritten.end()) {
        out = it->second;  // committed; its file is written at the next checkpoint
        return 0;
    }
    FileIdentity before;
    int e = identity_of(fname, before);
    if (e != 0) {
        forget_file(n);
        return e;
    }
    auto it = g_store.files.find(n);
    if (it != g_store.files.end() && it->second.identity == before) {
        out = it->second.bytes;
        return 0;
    }
    e = read_file(fname, out);
    if (e != 0) {
        forget_file(n);
        return e;
    }
    // Cache only what was certainly one state of the file.
    FileIdentity after;
    if (identity_of(fname, after) == 0 && after == before &&
        static_cast<size_t>(after.size) == out.size())
        remember_file(n, after, out.data(), out.size());
    else
        forget_file(n);
    return 0;
}

// tmp, write, fsync, rename, fsync(dir): after a crash the file is either the
// old or the new content, never a mix. 0 or an errno value.
int write_file_atomic(const std::string& name, const uint8_t* data, size_t n) {
    const std::string tmp = name + ".tmp";
    int fd = openat(g_store.dirfd, tmp.c_str(),
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno;
    int e = write_all(fd, data, n, 0);
    if (e == 0 && fsync(fd) != 0) e = errno;
    close(fd);
    if (e != 0) {
        unlinkat(g_store.dirfd, tmp.c_str(), 0);
        return e;
    }
    if (renameat(g_store.dirfd, tmp.c_str(), g_store.dirfd, name.c_str()) != 0) return errno;
    return fsync(g_store.dirfd) == 0 ? 0 : errno;
}

// Overwrite (or create) a file in place and sync its data: only for object
// files whose content the synced journal holds until the counter is rewritten,
// so a torn write is repaired by replay. Cheaper than tmp + rename, which on
// ext4 flushes the new file's data at the rename and frees (and discards) the
// old inode. A new file's directory entry needs the directory synced too.
// 0 or an errno value.
int overwrite_file_synced(const std::string& name, const uint8_t* data, size_t n) {
    int fd = openat(g_store.dirfd, name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno;
    int e = write_all(fd, data, n, 0);
    if (e == 0 && ftruncate(fd, static_cast<off_t>(n)) != 0) e = errno;
    if (e == 0 && fdatasync(fd) != 0) e = errno;
    close(fd);
    return e;
}

TEE_Result write_counter() {
    std::vector<uint8_t> plain(4 + g_store.versions.size() * 40);
    put_u32(plain.data(), static_cast<uint32_t>(g_store.versions.size()));
    size_t off = 4;
    for (const auto& [name, version] : g_store.versions) {
        memcpy(plain.data() + off, name.data(), 32);
        put_u64(plain.data() + off + 32, version);
        off += 40;
    }
    std::vector<uint8_t> file(kHeader + kNonce + plain.size() + kTag);
    memcpy(file.data(), "TSCT", 4);
    put_u32(file.data() + 4, kFormat);
    put_u64(file.data() + 8, g_store.g);
    randombytes_buf(file.data() + kHeader, kNonce);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(file.data() + kHeader + kNonce, &clen, plain.data(),
                                               plain.size(), file.data(), kHeader, nullptr,
                                               file.data() + kHeader, object_key());
    if (int e = write_file_atomic(kCounterFile, file.data(), file.size()); e != 0)
        return fail(TEE_ERROR_STORAGE_NO_SPACE, "cannot write the counter file: %s", strerror(e));
    return TEE_SUCCESS;
}

TEE_Result read_counter() {
    std::vector<uint8_t> file;
    int e = read_file(kCounterFile, file);
    if (e == ENOENT)
        return fail(TEE_ERROR_SECURITY,
                    "counter file is missing while the device key exists: the storage was "
                    "tampered with or partially restored (refusing to start, rollback could go "
                    "unnoticed)");
    if (e != 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot read the counter file: %s",
                    strerror(e));
    if (file.size() < kHeader + kNonce + kTag || memcmp(file.data(), "TSCT", 4) != 0 ||
        get_u32(file.data() + 4) != kFormat)
        return fail(TEE_ERROR_CORRUPT_OBJECT, "counter file is malformed");
    std::vector<uint8_t> plain(file.size() - kHeader - kNonce - kTag);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain.data(), nullptr, nullptr, file.data() + kHeader + kNonce,
            file.size() - kHeader - kNonce, file.data(), kHeader, file.data() + kHeader,
            object_key()) != 0)
        return fail(TEE_ERROR_CORRUPT_OBJECT,
                    "counter file fails authentication (corrupted, or sealed under another "
                    "device key)");
    if (plain.size() < 4 || (plain.size() - 4) % 40 != 0 ||
        get_u32(plain.data()) != (plain.size() - 4) / 40)
        return fail(TEE_ERROR_CORRUPT_OBJECT, "counter table is malformed");
    g_store.g = get_u64(file.data() + 8);
    g_store.versions.clear();
    for (size_t off = 4; off < plain.size(); off += 40) {
        Name n;
        memcpy(n.data(), plain.data() + off, 32);
        g_store.versions[n] = get_u64(plain.data() + off + 32);
    }
    return TEE_SUCCESS;
}

TEE_Result derive_keys(const uint8_t* device_key) {
    if (!g_store.keys.resize(64))
        return fail(TEE_ERROR_OUT_OF_MEMORY, "cannot allocate locked memory for the storage keys");
    static const char kObj[] = "tee-signer soft-tee object key v1";
    static const char kName[] = "tee-signer soft-tee object name key v1";
    crypto_generichash(object_key(), 32, reinterpret_cast<const uint8_t*>(kObj), sizeof kObj - 1,
                       device_key, 32);
    crypto_generichash(name_key(), 32, reinterpret_cast<const uint8_t*>(kName), sizeof kName - 1,
                       device_key, 32);
    return TEE_SUCCESS;
}

// ---- Journal and checkpoints ----------------------------------------------------

// An object sealed by a transaction, waiting for TS_CommitTransaction.
struct StagedObject {
    Name name{};
    uint64_t version = 0;
    std::vector<uint8_t> file;  // the complete sealed object file
};

// Write and sync one committed object's file (a checkpoint's, or idle time's),
// keeping its bytes in the file cache. 0 or an errno value.
int write_object_file(const Name& name, const std::vector<uint8_t>& file) {
    const std::string fname = file_name(name);
    forget_file(name);
    if (int e = overwrite_file_synced(fname, file.data(), file.size()); e != 0) return e;
    FileIdentity written;
    if (identity_of(fname, written) == 0 && static_cast<size_t>(written.size) == file.size())
        remember_file(name, written, file.data(), file.size());
    return 0;
}

// Make everything in memory durable without the journal: write and sync the
// object files committed since the last checkpoint and the directory, rewrite
// the counter, then empty the journal. Until the counter is rewritten, the
// journal still covers those objects; after it, the records left are all at or
// below G and replay skips them, so a crash anywhere in here loses nothing. A
// failure keeps every file in memory for the next checkpoint to write again.
TEE_Result checkpoint() {
    for (const auto& [name, file] : g_store.unwritten)
        if (int e = write_object_file(name, file); e != 0)
            return fail(TEE_ERROR_STORAGE_NO_SPACE, "checkpoint cannot write object file %s: %s",
                        file_name(name).c_str(), strerror(e));
    if ((!g_store.unwritten.empty() || g_store.dir_dirty) && fsync(g_store.dirfd) != 0)
        return fail(TEE_ERROR_STORAGE_NO_SPACE, "checkpoint cannot sync the storage directory: %s",
                    strerror(errno));
    g_store.unwritten.clear();
    g_store.dir_dirty = false;
    if (TEE_Result rc = write_counter(); rc != TEE_SUCCESS) return rc;
    // The records stay on disk, all at or below G now, and the next ones are
    // written from offset 0. Clearing the first record's magic (no sync needed:
    // until it lands, replay skips those records as at or below G) makes replay
    // stop at once, as it did when the file was emptied: a counter put back
    // alone cannot then pull a few of those records forward over it.
    if (g_store.journal_fd >= 0 && g_store.journal_end > 0) {
        static constexpr uint8_t kNoRecord[4] = {0, 0, 0, 0};
        if (int e = write_all(g_store.journal_fd, kNoRecord, sizeof kNoRecord, 0); e != 0)
            return fail(TEE_ERROR_STORAGE_NO_SPACE, "cannot clear the journal: %s", strerror(e));
    }
    g_store.journal_end = 0;
    return TEE_SUCCESS;
}

// Grow the journal file with zeros so that `need` bytes fit, a step ahead:
// the record then overwrites allocated blocks, and only this rare growth
// changes the file's size. Real zeros rather than fallocate: an unwritten
// extent would be converted, a metadata write, by the first record to reach
// it. No sync here: the next record's fdatasync persists the zeros and size.
// 0 or an errno value.
int journal_reserve(size_t need) {
    const size_t target =
        std::max(need, std::min(kJournalReserve, g_store.journal_reserved + kJournalStep));
    static const std::vector<uint8_t> zeros(kJournalStep, 0);
    for (size_t off = g_store.journal_reserved; off < target;) {
        const size_t n = std::min(zeros.size(), target - off);
        if (int e = write_all(g_store.journal_fd, zeros.data(), n, static_cast<off_t>(off)); e != 0)
            return e;
        off += n;
        g_store.journal_reserved = off;
    }
    return 0;
}

// Write one record holding `objects` after the journal's last one and sync it.
// On failure the record may or may not be on disk, so start-up may still apply
// it: the caller releases nothing either way, and a replayed record only adds
// history. The next record is written at the same offset.
TEE_Result journal_append(const std::vector<StagedObject>& objects) {
    if (g_store.journal_fd < 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "the journal is not open");
    size_t plain_len = 4;
    for (const StagedObject& o : objects) plain_len += 32 + 8 + 4 + o.file.size();
    std::vector<uint8_t> plain(plain_len);
    put_u32(plain.data(), static_cast<uint32_t>(objects.size()));
    size_t off = 4;
    uint64_t last = 0;
    for (const StagedObject& o : objects) {
        memcpy(plain.data() + off, o.name.data(), 32);
        put_u64(plain.data() + off + 32, o.version);
        put_u32(plain.data() + off + 40, static_cast<uint32_t>(o.file.size()));
        memcpy(plain.data() + off + 44, o.file.data(), o.file.size());
        off += 44 + o.file.size();
        if (o.version > last) last = o.version;
    }
    std::vector<uint8_t> rec(kJournalHeader + kNonce + plain_len + kTag);
    memcpy(rec.data(), "TSJR", 4);
    put_u32(rec.data() + 4, kFormat);
    put_u64(rec.data() + 8, last);
    put_u32(rec.data() + 16, static_cast<uint32_t>(plain_len));
    randombytes_buf(rec.data() + kJournalHeader, kNonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        rec.data() + kJournalHeader + kNonce, nullptr, plain.data(), plain.size(), rec.data(),
        kJournalHeader, nullptr, rec.data() + kJournalHeader, object_key());
    const size_t need = g_store.journal_end + rec.size();
    int e = need > g_store.journal_reserved ? journal_reserve(need) : 0;
    if (e == 0)
        e = write_all(g_store.journal_fd, rec.data(), rec.size(),
                      static_cast<off_t>(g_store.journal_end));
    if (e == 0 && fdatasync(g_store.journal_fd) != 0) e = errno;
    if (e != 0)
        return fail(TEE_ERROR_STORAGE_NO_SPACE, "cannot write the journal: %s", strerror(e));
    g_store.journal_end += rec.size();
    return TEE_SUCCESS;
}

// One authenticated journal record, decoded. False when `data` does not start
// with a whole record that authenticates (the torn end of the journal).
bool decode_journal_record(const uint8_t* data, size_t size, size_t& used, uint64_t& last,
                           std::vector<StagedObject>& objects) {
    if (size < kJournalHeader + kNonce + kTag || memcmp(data, "TSJR", 4) != 0 ||
        get_u32(data + 4) != kFormat)
        return false;
    last = get_u64(data + 8);
    const size_t plain_len = get_u32(data + 16);
    if (plain_len < 4 || plain_len > size - kJournalHeader - kNonce - kTag) return false;
    std::vector<uint8_t> plain(plain_len);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain.data(), nullptr, nullptr, data + kJournalHeader + kNonce, plain_len + kTag, data,
            kJournalHeader, data + kJournalHeader, object_key()) != 0)
        return false;
    used = kJournalHeader + kNonce + plain_len + kTag;
    const uint32_t count = get_u32(plain.data());
    objects.clear();
    size_t off = 4;
    for (uint32_t i = 0; i < count; ++i) {
        if (plain_len - off < 44) return false;
        StagedObject o;
        memcpy(o.name.data(), plain.data() + off, 32);
        o.version = get_u64(plain.data() + off + 32);
        const size_t len = get_u32(plain.data() + off + 40);
        off += 44;
        if (len > plain_len - off || len < kHeader || len > kMaxFile) return false;
        o.file.assign(plain.data() + off, plain.data() + off + len);
        off += len;
        // The object file must carry the version the record names.
        if (get_u64(o.file.data() + 8) != o.version || o.version > last) return false;
        objects.push_back(std::move(o));
    }
    return off == plain_len && !objects.empty();
}

// Open the journal and apply every record newer than the counter: the objects
// of transactions committed after the last checkpoint, whose files may not have
// reached the disk. Then checkpoint, so the journal starts again at offset 0.
TEE_Result journal_open_and_replay() {
    if (g_store.journal_fd >= 0) close(g_store.journal_fd);
    g_store.journal_end = 0;
    g_store.journal_reserved = 0;
    g_store.unwritten.clear();
    bool created = false;
    g_store.journal_fd = openat(g_store.dirfd, kJournalFile, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (g_store.journal_fd < 0 && errno == ENOENT) {
        g_store.journal_fd = openat(g_store.dirfd, kJournalFile,
                                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        created = true;
    }
    if (g_store.journal_fd < 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot open the journal: %s",
                    strerror(errno));
    if (created) {
        // Its directory entry must be durable before a commit relies on it.
        if (fsync(g_store.dirfd) != 0)
            return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot sync the storage directory: %s",
                        strerror(errno));
        return TEE_SUCCESS;
    }
    std::vector<uint8_t> journal;
    if (int e = read_all(g_store.journal_fd, kJournalMaxRead, journal); e == EFBIG)
        return fail(TEE_ERROR_CORRUPT_OBJECT, "the journal is larger than any the soft TEE writes");
    else if (e != 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot read the journal: %s", strerror(e));
    g_store.journal_reserved = journal.size();
    const uint64_t checkpointed = g_store.g;
    size_t off = 0, applied = 0;
    uint64_t previous = 0;
    bool torn = false;
    std::vector<StagedObject> objects;
    // The records end at the first one that does not authenticate (zeros, the
    // middle of an older record, a torn write) or whose versions do not grow
    // (an older record, checkpointed before).
    while (off < journal.size()) {
        size_t used = 0;
        uint64_t last = 0;
        if (!decode_journal_record(journal.data() + off, journal.size() - off, used, last,
                                   objects)) {
            // A record header whose record does not authenticate: a commit cut
            // short (a later record would have overwritten it from its start).
            torn = journal.size() - off >= 4 && memcmp(journal.data() + off, "TSJR", 4) == 0;
            break;
        }
        if (last <= previous) break;
        previous = last;
        off += used;
        for (StagedObject& o : objects) {
            if (o.version <= checkpointed) continue;  // already covered by the counter
            const std::string fname = file_name(o.name);
            // A file older than the counter's own record of it was not left so
            // by a crash but put back: leave it for load() to report as rollback.
            auto known = g_store.versions.find(o.name);
            std::vector<uint8_t> on_disk;
            if (known != g_store.versions.end() && read_file(fname, on_disk) == 0 &&
                on_disk.size() >= kHeader && get_u64(on_disk.data() + 8) < known->second) {
                g_store.versions[o.name] = o.version;
                if (o.version > g_store.g) g_store.g = o.version;
                continue;
            }
            forget_file(o.name);
            if (int e = write_file_atomic(fname, o.file.data(), o.file.size()); e != 0)
                return fail(TEE_ERROR_STORAGE_NO_SPACE,
                            "cannot restore object %s from the journal: %s", fname.c_str(),
                            strerror(e));
            g_store.versions[o.name] = o.version;
            if (o.version > g_store.g) g_store.g = o.version;
            ++applied;
        }
    }
    if (torn)
        child_log(
            "storage: ignoring a journal record cut short at byte %zu (a commit that "
            "never returned)",
            off);
    if (applied > 0) child_log("storage: restored %zu object writes from the journal", applied);
    if (previous > checkpointed) {
        g_store.journal_end = off;  // so that the checkpoint clears these records
        return checkpoint();
    }
    return TEE_SUCCESS;
}

}  // namespace

// ---- LockedBuffer ------------------------------------------------------------

LockedBuffer::~LockedBuffer() {
    if (data_ != nullptr) sodium_free(data_);  // wipes, unlocks and unmaps
}

void LockedBuffer::swap(LockedBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
}

bool LockedBuffer::resize(size_t n) {
    if (n <= capacity_) {
        if (n < size_) sodium_memzero(data_ + n, size_ - n);
        if (n > size_) memset(data_ + size_, 0, n - size_);
        size_ = n;
        return true;
    }
    size_t cap = capacity_ < 64 ? 64 : capacity_;
    while (cap < n) cap *= 2;
    auto* fresh = static_cast<uint8_t*>(sodium_malloc(cap));
    if (fresh == nullptr) return false;
    memset(fresh, 0, cap);
    if (size_ > 0) memcpy(fresh, data_, size_);
    if (data_ != nullptr) sodium_free(data_);
    data_ = fresh;
    capacity_ = cap;
    size_ = n;
    return true;
}

// ---- set-up --------------------------------------------------------------------

int storage_dirfd() {
    return g_store.dirfd;
}

const std::string& storage_failure_reason() {
    return g_last_failure;
}

TEE_Result storage_prepare(const char* path) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot create storage directory %s: %s", path,
                    strerror(errno));
    g_store.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_store.dirfd < 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot open storage directory %s: %s", path,
                    strerror(errno));
    g_store.lockfd =
        openat(g_store.dirfd, kLockFile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (g_store.lockfd < 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot open the lock file: %s",
                    strerror(errno));
    // A TA process whose signer was just killed releases the lock when it sees
    // its socket close, a moment later; a signer restarted at once (systemd's
    // default RestartSec is 100 ms) waits for that instead of failing.
    constexpr int kLockWaitMs = 3000;
    constexpr int kLockPollMs = 50;
    for (int waited = 0; flock(g_store.lockfd, LOCK_EX | LOCK_NB) != 0; waited += kLockPollMs) {
        if (errno != EWOULDBLOCK)
            return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot lock storage directory %s: %s",
                        path, strerror(errno));
        if (waited >= kLockWaitMs)
            return fail(TEE_ERROR_BUSY, "storage directory %s is in use by another TA process",
                        path);
        const timespec poll{0, kLockPollMs * 1'000'000L};
        nanosleep(&poll, nullptr);
    }
    return TEE_SUCCESS;
}

TEE_Result storage_load() {
    std::vector<uint8_t> key;
    int e = read_file(kDeviceKeyFile, key);
    if (e == 0) {
        if (key.size() != 32) {
            sodium_memzero(key.data(), key.size());
            return fail(TEE_ERROR_CORRUPT_OBJECT, "device.key has the wrong size");
        }
        const TEE_Result derived = derive_keys(key.data());
        sodium_memzero(key.data(), key.size());
        if (derived != TEE_SUCCESS) return derived;
        if (TEE_Result rc = read_counter(); rc != TEE_SUCCESS) return rc;
        return journal_open_and_replay();
    }
    if (e != ENOENT)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot read device.key: %s", strerror(e));
    // First start. An existing counter or object means the key was removed:
    // starting afresh would silently drop every key, so refuse.
    std::vector<uint8_t> probe;
    if (read_file(kCounterFile, probe) != ENOENT)
        return fail(TEE_ERROR_SECURITY,
                    "device.key is missing but sealed state exists; refusing to start a new "
                    "device");
    // Counter first, key last: a crash in between leaves no device.key and the
    // next start begins again.
    LockedBuffer fresh;
    if (!fresh.resize(32))
        return fail(TEE_ERROR_OUT_OF_MEMORY, "cannot allocate locked memory for a device key");
    randombytes_buf(fresh.data(), 32);
    if (TEE_Result rc = derive_keys(fresh.data()); rc != TEE_SUCCESS) return rc;
    g_store.g = 0;
    g_store.versions.clear();
    if (TEE_Result rc = write_counter(); rc != TEE_SUCCESS) return rc;
    if (int werr = write_file_atomic(kDeviceKeyFile, fresh.data(), 32); werr != 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot write device.key: %s", strerror(werr));
    child_log("storage: created a new device key");
    return journal_open_and_replay();
}

void storage_close() {
    if (g_store.journal_end > 0 || !g_store.unwritten.empty()) checkpoint();
}

namespace {

// The unwritten object idle time should write next, or unwritten.end(): the
// one committed longest ago, if that was kColdWrites writes ago or more.
std::map<Name, std::vector<uint8_t>>::iterator idle_candidate() {
    auto& unwritten = g_store.unwritten;
    auto oldest = unwritten.end();
    uint64_t oldest_version = UINT64_MAX;
    for (auto it = unwritten.begin(); it != unwritten.end(); ++it) {
        const uint64_t version = get_u64(it->second.data() + 8);  // the file's header
        if (version < oldest_version) {
            oldest_version = version;
            oldest = it;
        }
    }
    if (oldest != unwritten.end() && oldest_version + kColdWrites > g_store.g)
        return unwritten.end();
    return oldest;
}

bool idle_writes_allowed() {
    return g_store.journal_fd >= 0 && g_store.journal_end > kIdleWriteFrom && !g_store.idle_failed;
}

}  // namespace

bool storage_idle_work_pending() {
    return idle_writes_allowed() && idle_candidate() != g_store.unwritten.end();
}

// Safe at any point between commands for the same reason a checkpoint's own
// writes are: every unwritten object is in the synced journal until the
// counter is rewritten, so a file written (or torn) here is replaced by replay
// after a crash, and the counter is only rewritten once every file is synced.
// The checkpoint itself stays with the next command that passes
// kJournalLimit: by then most files are written.
void storage_idle_step() {
    if (!idle_writes_allowed()) return;
    const auto it = idle_candidate();  // one scan of the unwritten objects
    if (it == g_store.unwritten.end()) return;
    if (int e = write_object_file(it->first, it->second); e != 0) {
        // Not a command's failure: the checkpoint at kJournalLimit reports it.
        child_log("storage: cannot write an object file in idle time: %s", strerror(e));
        g_store.idle_failed = true;
        return;
    }
    g_store.unwritten.erase(it);
    g_store.dir_dirty = true;
}

}  // namespace teesigner::softtee

// ---- GP persistent object API ---------------------------------------------------

using namespace teesigner::softtee;

namespace {

// Wiped locked buffers kept for the next object handle: a fresh libsodium
// guarded allocation costs several system calls (mmap, mprotect, mlock) and
// an object is opened for nearly every command.
std::vector<std::unique_ptr<LockedBuffer>> g_spare_buffers;
constexpr size_t kSpareBuffers = 8;
constexpr size_t kSpareBufferMax = 256 * 1024;

void take_spare(LockedBuffer& into) {
    if (g_spare_buffers.empty()) return;
    into.swap(*g_spare_buffers.back());
    g_spare_buffers.pop_back();
}

void give_spare(LockedBuffer& from) {
    from.resize(0);  // wipes what was used
    if (from.capacity() == 0 || from.capacity() > kSpareBufferMax ||
        g_spare_buffers.size() >= kSpareBuffers)
        return;
    auto spare = std::make_unique<LockedBuffer>();
    spare->swap(from);
    g_spare_buffers.push_back(std::move(spare));
}

}  // namespace

struct __TEE_ObjectHandle {
    __TEE_ObjectHandle() { take_spare(data); }
    ~__TEE_ObjectHandle() { give_spare(data); }
    __TEE_ObjectHandle(const __TEE_ObjectHandle&) = delete;
    __TEE_ObjectHandle& operator=(const __TEE_ObjectHandle&) = delete;

    std::vector<uint8_t> id;
    Name name{};
    LockedBuffer data;
    size_t pos = 0;
    uint32_t flags = 0;
};

namespace {

constexpr uint32_t kAllowedFlags = TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
                                   TEE_DATA_FLAG_ACCESS_WRITE_META | TEE_DATA_FLAG_SHARE_READ |
                                   TEE_DATA_FLAG_SHARE_WRITE | TEE_DATA_FLAG_OVERWRITE;

// Writes of an open transaction (TS_BeginTransaction): sealed, kept in memory
// until TS_CommitTransaction journals them.
struct Transaction {
    bool active = false;
    uint64_t next_version = 0;
    std::vector<StagedObject> writes;
    std::vector<Name> removals;  // applied after the writes are committed
};
Transaction g_txn;

// Commit sealed objects: one journal record, synced. Their files are written
// at the next checkpoint; until then reads take them from memory.
TEE_Result commit_objects(std::vector<StagedObject>& writes) {
    if (TEE_Result rc = journal_append(writes); rc != TEE_SUCCESS) return rc;
    for (StagedObject& w : writes) {
        forget_file(w.name);
        g_store.versions[w.name] = w.version;
        if (w.version > g_store.g) g_store.g = w.version;
        g_store.unwritten[w.name] = std::move(w.file);
    }
    g_store.idle_failed = false;
    if (g_store.journal_end > kJournalLimit) return checkpoint();
    return TEE_SUCCESS;
}

// Remove objects: forget them in the counter first (G moves past their
// versions, so their files are stale even if an unlink below is cut short),
// then remove the files. One checkpoint for any number of objects: removing a
// parachain session's buckets one by one took a checkpoint (counter rewrite,
// four syncs) each, more than a second for 256 buckets with signing stopped.
// A failed checkpoint leaves the files: the counter on disk still lists them.
TEE_Result remove_objects(const std::vector<Name>& names) {
    for (const Name& n : names) {
        g_store.versions.erase(n);
        g_store.unwritten.erase(n);
    }
    g_store.g += 1;
    const TEE_Result rc = checkpoint();
    if (rc != TEE_SUCCESS) return rc;
    // What is left behind by a failure below is stale: load() ignores a file
    // the counter does not list and whose version is not above G.
    for (const Name& n : names) {
        forget_file(n);
        if (unlinkat(g_store.dirfd, file_name(n).c_str(), 0) != 0 && errno != ENOENT)
            child_log("storage: cannot remove stale object file %s: %s", file_name(n).c_str(),
                      strerror(errno));
    }
    if (fsync(g_store.dirfd) != 0)
        child_log("storage: cannot sync the storage directory after a removal: %s",
                  strerror(errno));
    if (names.size() > 1) child_log("storage: removed %zu objects in one checkpoint", names.size());
    return TEE_SUCCESS;
}

// Seal the object's current data as a new version and commit it (inside a
// transaction: stage it for TS_CommitTransaction).
TEE_Result persist(__TEE_ObjectHandle& h) {
    const uint64_t version = g_txn.active ? g_txn.next_version++ : g_store.g + 1;
    std::vector<uint8_t> file(kHeader + kNonce + h.data.size() + kTag);
    memcpy(file.data(), "TSOB", 4);
    put_u32(file.data() + 4, kFormat);
    put_u64(file.data() + 8, version);
    std::vector<uint8_t> ad(file.begin(), file.begin() + kHeader);
    ad.insert(ad.end(), h.id.begin(), h.id.end());
    randombytes_buf(file.data() + kHeader, kNonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(file.data() + kHeader + kNonce, nullptr,
                                               h.data.data(), h.data.size(), ad.data(), ad.size(),
                                               nullptr, file.data() + kHeader, object_key());
    if (g_txn.active) {
        // A removal staged before this write is undone by it (the later wins).
        g_txn.removals.erase(std::remove(g_txn.removals.begin(), g_txn.removals.end(), h.name),
                             g_txn.removals.end());
        for (StagedObject& w : g_txn.writes)
            if (w.name == h.name) {  // written again: the later content replaces it
                w.version = version;
                w.file = std::move(file);
                return TEE_SUCCESS;
            }
        g_txn.writes.push_back(StagedObject{h.name, version, std::move(file)});
        return TEE_SUCCESS;
    }
    std::vector<StagedObject> one;
    one.push_back(StagedObject{h.name, version, std::move(file)});
    return commit_objects(one);
}

// Load, authenticate and rollback-check one object.
TEE_Result load(const void* id, size_t id_len, __TEE_ObjectHandle& h) {
    h.id.assign(static_cast<const uint8_t*>(id), static_cast<const uint8_t*>(id) + id_len);
    h.name = object_name(id, id_len);
    std::string fname = file_name(h.name);
    auto known = g_store.versions.find(h.name);
    std::vector<uint8_t> file;
    int e = read_object_file(h.name, fname, file);
    if (e == ENOENT) {
        if (known == g_store.versions.end()) return TEE_ERROR_ITEM_NOT_FOUND;
        return fail(TEE_ERROR_CORRUPT_OBJECT,
                    "object %s is recorded (version %llu) but its file is missing", fname.c_str(),
                    static_cast<unsigned long long>(known->second));
    }
    if (e != 0)
        return fail(TEE_ERROR_STORAGE_NOT_AVAILABLE, "cannot read object %s: %s", fname.c_str(),
                    strerror(e));
    if (file.size() < kHeader + kNonce + kTag || memcmp(file.data(), "TSOB", 4) != 0 ||
        get_u32(file.data() + 4) != kFormat)
        return fail(TEE_ERROR_CORRUPT_OBJECT, "object %s is malformed", fname.c_str());
    uint64_t version = get_u64(file.data() + 8);
    std::vector<uint8_t> ad(file.begin(), file.begin() + kHeader);
    ad.insert(ad.end(), h.id.begin(), h.id.end());
    size_t plain_len = file.size() - kHeader - kNonce - kTag;
    if (!h.data.resize(plain_len))
        return fail(TEE_ERROR_OUT_OF_MEMORY, "cannot allocate locked memory for object %s",
                    fname.c_str());
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            h.data.data(), nullptr, nullptr, file.data() + kHeader + kNonce,
            file.size() - kHeader - kNonce, ad.data(), ad.size(), file.data() + kHeader,
            object_key()) != 0) {
        h.data.resize(0);
        return fail(TEE_ERROR_CORRUPT_OBJECT,
                    "object %s fails authentication (modified or corrupted)", fname.c_str());
    }
    if (known != g_store.versions.end()) {
        if (version < known->second) {
            h.data.resize(0);
            return fail(TEE_ERROR_SECURITY,
                        "ROLLBACK of object %s detected: file version %llu, recorded %llu",
                        fname.c_str(), static_cast<unsigned long long>(version),
                        static_cast<unsigned long long>(known->second));
        }
        if (version == known->second) return TEE_SUCCESS;
    } else if (version <= g_store.g) {
        // Committed before the last counter update yet not recorded: a deleted
        // object's file brought back. Treat as absent.
        h.data.resize(0);
        child_log("storage: ignoring stale file %s (version %llu, not recorded)", fname.c_str(),
                  static_cast<unsigned long long>(version));
        return TEE_ERROR_ITEM_NOT_FOUND;
    }
    // Written after the last committed counter (its counter update was cut
    // short by a crash): record it now.
    g_store.versions[h.name] = version;
    if (version > g_store.g) g_store.g = version;
    return checkpoint();
}

bool valid_storage(uint32_t storage_id, size_t id_len, uint32_t flags) {
    return storage_id == TEE_STORAGE_PRIVATE && id_len <= TEE_OBJECT_ID_MAX_LEN &&
           (flags & ~kAllowedFlags) == 0;
}

}  // namespace

extern "C" {

TEE_Result TEE_OpenPersistentObject(uint32_t storageID, const void* objectID, size_t objectIDLen,
                                    uint32_t flags, TEE_ObjectHandle* object) {
    if (object == nullptr || (objectID == nullptr && objectIDLen != 0)) TEE_Panic(0);
    *object = TEE_HANDLE_NULL;
    if (!valid_storage(storageID, objectIDLen, flags)) return TEE_ERROR_ITEM_NOT_FOUND;
    auto* h = new (std::nothrow) __TEE_ObjectHandle;
    if (h == nullptr) return TEE_ERROR_OUT_OF_MEMORY;
    TEE_Result rc = load(objectID, objectIDLen, *h);
    if (rc != TEE_SUCCESS) {
        delete h;
        return rc;
    }
    h->flags = flags;
    *object = h;
    return TEE_SUCCESS;
}

TEE_Result TEE_CreatePersistentObject(uint32_t storageID, const void* objectID, size_t objectIDLen,
                                      uint32_t flags, TEE_ObjectHandle attributes,
                                      const void* initialData, size_t initialDataLen,
                                      TEE_ObjectHandle* object) {
    if (object != nullptr) *object = TEE_HANDLE_NULL;
    if ((objectID == nullptr && objectIDLen != 0) ||
        (initialData == nullptr && initialDataLen != 0))
        TEE_Panic(0);
    if (!valid_storage(storageID, objectIDLen, flags) || attributes != TEE_HANDLE_NULL)
        return TEE_ERROR_BAD_PARAMETERS;
    if (initialDataLen > kMaxObjectData) return TEE_ERROR_STORAGE_NO_SPACE;
    auto* h = new (std::nothrow) __TEE_ObjectHandle;
    if (h == nullptr) return TEE_ERROR_OUT_OF_MEMORY;
    h->id.assign(static_cast<const uint8_t*>(objectID),
                 static_cast<const uint8_t*>(objectID) + objectIDLen);
    h->name = object_name(objectID, objectIDLen);
    if (g_store.versions.count(h->name) != 0 && (flags & TEE_DATA_FLAG_OVERWRITE) == 0) {
        delete h;
        return TEE_ERROR_ACCESS_CONFLICT;
    }
    if (!h->data.resize(initialDataLen)) {
        delete h;
        return TEE_ERROR_OUT_OF_MEMORY;
    }
    if (initialDataLen > 0) memcpy(h->data.data(), initialData, initialDataLen);
    TEE_Result rc = persist(*h);
    if (rc != TEE_SUCCESS || object == nullptr) {
        delete h;
        return rc;
    }
    h->flags = flags;
    *object = h;
    return TEE_SUCCESS;
}

void TEE_CloseObject(TEE_ObjectHandle object) {
    delete object;
}

TEE_Result TEE_CloseAndDeletePersistentObject1(TEE_ObjectHandle object) {
    if (object == TEE_HANDLE_NULL) return TEE_SUCCESS;
    if ((object->flags & TEE_DATA_FLAG_ACCESS_WRITE_META) == 0) TEE_Panic(0);
    const Name name = object->name;
    delete object;
    if (g_txn.active) {
        // Staged: removed by TS_CommitTransaction, after the writes; a write
        // staged before it is dropped (the later wins).
        g_txn.writes.erase(std::remove_if(g_txn.writes.begin(), g_txn.writes.end(),
                                          [&](const StagedObject& w) { return w.name == name; }),
                           g_txn.writes.end());
        if (std::find(g_txn.removals.begin(), g_txn.removals.end(), name) == g_txn.removals.end())
            g_txn.removals.push_back(name);
        return TEE_SUCCESS;
    }
    return remove_objects({name});
}

TEE_Result TEE_GetObjectInfo1(TEE_ObjectHandle object, TEE_ObjectInfo* info) {
    if (object == TEE_HANDLE_NULL || info == nullptr) TEE_Panic(0);
    memset(info, 0, sizeof *info);
    info->objectType = TEE_TYPE_DATA;
    info->dataSize = object->data.size();
    info->dataPosition = object->pos;
    info->handleFlags = TEE_HANDLE_FLAG_PERSISTENT | TEE_HANDLE_FLAG_INITIALIZED | object->flags;
    return TEE_SUCCESS;
}

TEE_Result TEE_ReadObjectData(TEE_ObjectHandle object, void* buffer, size_t size, size_t* count) {
    if (object == TEE_HANDLE_NULL || count == nullptr || (buffer == nullptr && size != 0))
        TEE_Panic(0);
    if ((object->flags & TEE_DATA_FLAG_ACCESS_READ) == 0) TEE_Panic(0);
    size_t avail = object->pos < object->data.size() ? object->data.size() - object->pos : 0;
    size_t n = size < avail ? size : avail;
    if (n > 0) memcpy(buffer, object->data.data() + object->pos, n);
    object->pos += n;
    *count = n;
    return TEE_SUCCESS;
}

TEE_Result TEE_WriteObjectData(TEE_ObjectHandle object, const void* buffer, size_t size) {
    if (object == TEE_HANDLE_NULL || (buffer == nullptr && size != 0)) TEE_Panic(0);
    if ((object->flags & TEE_DATA_FLAG_ACCESS_WRITE) == 0) TEE_Panic(0);
    if (object->pos > kMaxObjectData || size > kMaxObjectData - object->pos)
        return TEE_ERROR_OVERFLOW;
    size_t end = object->pos + size;
    if (end > object->data.size() && !object->data.resize(end)) return TEE_ERROR_OUT_OF_MEMORY;
    if (size > 0) memcpy(object->data.data() + object->pos, buffer, size);
    object->pos = end;
    return persist(*object);
}

TEE_Result TEE_TruncateObjectData(TEE_ObjectHandle object, size_t size) {
    if (object == TEE_HANDLE_NULL) TEE_Panic(0);
    if ((object->flags & TEE_DATA_FLAG_ACCESS_WRITE) == 0) TEE_Panic(0);
    if (size > kMaxObjectData) return TEE_ERROR_STORAGE_NO_SPACE;
    if (!object->data.resize(size)) return TEE_ERROR_OUT_OF_MEMORY;
    return persist(*object);
}

TEE_Result TEE_SeekObjectData(TEE_ObjectHandle object, intmax_t offset, TEE_Whence whence) {
    if (object == TEE_HANDLE_NULL) TEE_Panic(0);
    intmax_t base = 0;
    switch (whence) {
        case TEE_DATA_SEEK_SET:
            base = 0;
            break;
        case TEE_DATA_SEEK_CUR:
            base = static_cast<intmax_t>(object->pos);
            break;
        case TEE_DATA_SEEK_END:
            base = static_cast<intmax_t>(object->data.size());
            break;
        default:
            return TEE_ERROR_BAD_PARAMETERS;
    }
    constexpr intmax_t kMax = static_cast<intmax_t>(TEE_DATA_MAX_POSITION);
    if (offset > kMax || offset < -kMax) return TEE_ERROR_OVERFLOW;
    intmax_t target = base + offset;
    if (target < 0) target = 0;
    if (target > static_cast<intmax_t>(TEE_DATA_MAX_POSITION)) return TEE_ERROR_OVERFLOW;
    object->pos = static_cast<size_t>(target);
    return TEE_SUCCESS;
}

// ---- Soft TEE extension: one commit for several objects -------------------------
//
// A transaction keeps every write in memory and commits them together as one
// journal record (commit_objects): one fdatasync whatever the number of
// objects. A crash before the record is synced leaves every object old (or,
// should the record have reached the disk anyway, new at the next start: the
// caller released nothing either way).

void TS_BeginTransaction(void) {
    g_txn.writes.clear();
    g_txn.removals.clear();
    g_txn.active = true;
    g_txn.next_version = g_store.g + 1;
}

void TS_AbortTransaction(void) {
    g_txn.writes.clear();
    g_txn.removals.clear();
    g_txn.active = false;
}

TEE_Result TS_CommitTransaction(void) {
    if (!g_txn.active) return TEE_ERROR_BAD_STATE;
    g_txn.active = false;
    std::vector<StagedObject> writes;
    writes.swap(g_txn.writes);
    std::vector<Name> removals;
    removals.swap(g_txn.removals);
    if (!writes.empty())
        if (TEE_Result rc = commit_objects(writes); rc != TEE_SUCCESS) return rc;
    if (!removals.empty()) return remove_objects(removals);
    return TEE_SUCCESS;
}

}  // extern "C"
