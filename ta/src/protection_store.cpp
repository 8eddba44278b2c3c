// Protection state on GP persistent objects (see protection_store.hpp).
#include "protection_store.hpp"

namespace teesigner::ta {
namespace {

// Larger than any object the protection state writes (a full para bucket is
// about 90 KB; the GRANDPA/BABE histories stay below 100 KB).
constexpr size_t kMaxObject = 1024 * 1024;

}  // namespace

core::Error TeeBlobStore::fail(TEE_Result rc) {
    last_error_ = rc;
    return core::Error::storage_failure;
}

core::Error TeeBlobStore::read(core::ByteSpan name, core::Bytes& out, bool& found) {
    found = false;
    if (name.size() > TEE_OBJECT_ID_MAX_LEN) return fail(TEE_ERROR_BAD_PARAMETERS);
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, name.data(), name.size(),
                                             TEE_DATA_FLAG_ACCESS_READ, &h);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) return core::Error::ok;
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
    return core::Error::ok;
}

core::Error TeeBlobStore::write(core::ByteSpan name, core::ByteSpan data) {
    if (name.size() > TEE_OBJECT_ID_MAX_LEN) return fail(TEE_ERROR_BAD_PARAMETERS);
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
