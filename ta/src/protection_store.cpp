// Protection state on GP persistent objects (see protection_store.hpp).
#include "protection_store.hpp"

#include <algorithm>
#include <vector>

#ifdef TS_SOFTTEE_TRANSACTIONS
#include "ts_softtee_storage.h"
#endif

namespace teesigner::ta {
namespace {

// Larger than any object the protection state writes (a full para bucket is
// about 90 KB; the GRANDPA/BABE histories stay below 100 KB).
constexpr size_t kMaxObject = 1024 * 1024;

// Buffered writes of a batch, in first-write order (latest content each).
struct Buffered {
    core::Bytes name;
    bool removed = false;
    core::Bytes data;
};
std::vector<Buffered> g_buffered;
bool g_buffering = false;

// Small objects already read (and authenticated) during the current command:
// a signature reads the opaque policy twice, and every item of a batch reads
// it again. Within one command the TA is the only reader and writer, so the
// first read stands for the rest; the next command reads the storage again,
// so tampering and rollback are still caught at the next command. Bounded for
// OP-TEE's small TA heap.
struct Memo {
    core::Bytes name;
    bool found = false;
    core::Bytes data;
};
constexpr size_t kMemoMaxObject = 1024;
constexpr size_t kMemoMaxEntries = 8;
std::vector<Memo> g_memo;

Memo* memo(core::ByteSpan name) {
    for (Memo& m : g_memo)
        if (m.name.size() == name.size() && std::equal(m.name.begin(), m.name.end(), name.begin()))
            return &m;
    return nullptr;
}

void forget(core::ByteSpan name) {
    g_memo.erase(std::remove_if(g_memo.begin(), g_memo.end(),
                                [&](const Memo& m) {
                                    return m.name.size() == name.size() &&
                                           std::equal(m.name.begin(), m.name.end(), name.begin());
                                }),
                 g_memo.end());
}

void remember(core::ByteSpan name, bool found, const core::Bytes& data) {
    if (data.size() > kMemoMaxObject || g_memo.size() >= kMemoMaxEntries) return;
    g_memo.push_back(Memo{core::Bytes(name.begin(), name.end()), found, data});
}

Buffered* buffered(core::ByteSpan name) {
    for (Buffered& b : g_buffered)
        if (b.name.size() == name.size() && std::equal(b.name.begin(), b.name.end(), name.begin()))
            return &b;
    return nullptr;
}

void buffer(core::ByteSpan name, bool removed, core::ByteSpan data) {
    Buffered* b = buffered(name);
    if (b == nullptr) {
        g_buffered.push_back(Buffered{core::Bytes(name.begin(), name.end()), false, {}});
        b = &g_buffered.back();
    }
    b->removed = removed;
    b->data.assign(data.begin(), data.end());
}

}  // namespace

void protection_store_new_command() {
    g_memo.clear();
}

void begin_protection_batch() {
    g_buffered.clear();
    g_buffering = true;
}

void abort_protection_batch() {
    g_buffering = false;
    g_buffered.clear();
}

TEE_Result commit_protection_batch() {
    g_buffering = false;
    std::vector<Buffered> ops;
    ops.swap(g_buffered);
    TeeBlobStore store;
    auto failed = [&store] {
        return store.last_error() != TEE_SUCCESS ? store.last_error() : TEE_ERROR_STORAGE_NO_SPACE;
    };
#ifdef TS_SOFTTEE_TRANSACTIONS
    // The soft TEE commits all written objects as one journal record, then
    // every removal with one checkpoint (staged in the same transaction).
    TS_BeginTransaction();
    for (const Buffered& b : ops) {
        const bool ok = b.removed ? store.remove(b.name) == core::Error::ok
                                  : store.write(b.name, b.data) == core::Error::ok;
        if (!ok) {
            TS_AbortTransaction();
            return failed();
        }
    }
    return TS_CommitTransaction();
#else
    for (const Buffered& b : ops)
        if (!b.removed && store.write(b.name, b.data) != core::Error::ok) return failed();
    for (const Buffered& b : ops)  // removals last, after every write is committed
        if (b.removed && store.remove(b.name) != core::Error::ok) return failed();
    return TEE_SUCCESS;
#endif
}

core::Error TeeBlobStore::fail(TEE_Result rc) {
    last_error_ = rc;
    return core::Error::storage_failure;
}

core::Error TeeBlobStore::read(core::ByteSpan name, core::Bytes& out, bool& found) {
    found = false;
    if (name.size() > TEE_OBJECT_ID_MAX_LEN) return fail(TEE_ERROR_BAD_PARAMETERS);
    if (g_buffering) {
        if (const Buffered* b = buffered(name)) {
            found = !b->removed;
            if (found) out = b->data;
            return core::Error::ok;
        }
    }
    if (const Memo* m = memo(name)) {
        found = m->found;
        if (found) out = m->data;
        return core::Error::ok;
    }
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, name.data(), name.size(),
                                             TEE_DATA_FLAG_ACCESS_READ, &h);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) {
        remember(name, false, {});
        return core::Error::ok;
    }
    if (rc != TEE_SUCCESS) return fail(rc);
    TEE_ObjectInfo info{};
    rc = TEE_GetObjectInfo1(h, &info);
    if (rc == TEE_SUCCESS && info.dataSize > kMaxObject) rc = TEE_ERROR_CORRUPT_OBJECT;
    if (rc == TEE_SUCCESS) {
        out.assign(info.dataSize, 0);
        size_t got = 0;
        if (!out.empty()) rc = TEE_ReadObjectData(h, out.data(), out.size(), &got);
        if (rc == TEE_SUCCESS && got != out.size()) rc = TEE_ERROR_CORRUPT_OBJECT;
    }
    TEE_CloseObject(h);
    if (rc != TEE_SUCCESS) return fail(rc);
    found = true;
    remember(name, true, out);
    return core::Error::ok;
}

core::Error TeeBlobStore::write(core::ByteSpan name, core::ByteSpan data) {
    if (name.size() > TEE_OBJECT_ID_MAX_LEN) return fail(TEE_ERROR_BAD_PARAMETERS);
    if (g_buffering) {
        buffer(name, false, data);
        return core::Error::ok;
    }
    forget(name);
    constexpr uint32_t flags = TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
                               TEE_DATA_FLAG_ACCESS_WRITE_META | TEE_DATA_FLAG_OVERWRITE;
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, name.data(), name.size(), flags,
                                               TEE_HANDLE_NULL, data.data(), data.size(), &h);
    if (rc != TEE_SUCCESS) return fail(rc);
    TEE_CloseObject(h);
    return core::Error::ok;
}

core::Error TeeBlobStore::remove(core::ByteSpan name) {
    if (name.size() > TEE_OBJECT_ID_MAX_LEN) return fail(TEE_ERROR_BAD_PARAMETERS);
    if (g_buffering) {
        buffer(name, true, {});
        return core::Error::ok;
    }
    forget(name);
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc =
        TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, name.data(), name.size(),
                                 TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE_META, &h);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) return core::Error::ok;
    if (rc != TEE_SUCCESS) return fail(rc);
    rc = TEE_CloseAndDeletePersistentObject1(h);
    if (rc != TEE_SUCCESS) return fail(rc);
    return core::Error::ok;
}

}  // namespace teesigner::ta
