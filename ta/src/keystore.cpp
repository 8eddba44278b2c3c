// Key store on GP persistent objects (see keystore.hpp).
#include "keystore.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "cache.hpp"
#include "signer_ta.h"
#include "teesigner/core/scale.hpp"

#ifdef TS_SOFTTEE_TRANSACTIONS
#include "ts_softtee_storage.h"
#endif

// Key pairs kept reconstructed. OP-TEE's TA heap is small (TA_DATA_SIZE); the
// soft TEE build raises the bound (ta/CMakeLists.txt).
#ifndef TS_TA_KEY_CACHE
#define TS_TA_KEY_CACHE 32
#endif
#ifndef TS_TA_KEY_PROBE_CACHE
#define TS_TA_KEY_PROBE_CACHE 4 * TS_TA_KEY_CACHE
#endif

namespace teesigner::ta {
namespace {

constexpr uint8_t kKeyFormat = 1;
constexpr uint8_t kRetiredFormat = 0;  // a tombstone: the object of a retired key, no secret
constexpr char kIndexId[] = "index";
constexpr char kAttestationId[] = "attestation-key";
constexpr uint32_t kReadFlags = TEE_DATA_FLAG_ACCESS_READ;
constexpr uint32_t kWriteFlags = TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
                                 TEE_DATA_FLAG_ACCESS_WRITE_META | TEE_DATA_FLAG_OVERWRITE;
constexpr size_t kMaxIndex = 512 * 1024;
// Bounds on the index (signer_ta.h), well below what kMaxIndex holds (about
// 13,000 entries): the test TA uses small ones so a test can reach them.
#ifdef TS_TA_TEST_KEY_LIMITS
constexpr size_t kMaxKeysPerType = 128;
constexpr size_t kMaxKeys = 192;
#else
constexpr size_t kMaxKeysPerType = TA_SIGNER_MAX_KEYS_PER_TYPE;
constexpr size_t kMaxKeys = TA_SIGNER_MAX_KEYS;
#endif
static_assert(kMaxKeys * (4 + 1 + 1 + 33) < kMaxIndex, "the index must hold kMaxKeys entries");

// Reconstructed key pairs by object id (secret; TA memory only, wiped when
// dropped). Deriving a pair costs a base-point multiplication, as much as a
// signature; the sealed record is still read and compared at the key's first
// use in every command (`verified` == g_command: already done in this one, e.g.
// by an earlier item of the same batch), so a modified or rolled-back key
// object is refused from the next command on, as without the cache.
struct CachedPair {
    std::unique_ptr<core::KeyPair> pair;
    uint64_t verified = 0;
};
ByteKeyCache<CachedPair> g_pairs;
uint64_t g_command = 1;
// Whether a key object exists, by object id: every signature probes the key
// under each session key type (protection is per public key). Only this TA
// creates and deletes keys (store_key and delete_key update the entry), so the
// answer stays true; using a key still reads and authenticates its object.
ByteKeyCache<bool> g_exists;

core::Bytes key_object_id(const KeyRef& ref) {
    static constexpr uint8_t kPrefix[] = {'k', 'e', 'y', '/'};
    // Sized once and filled by index: GCC 12 at -O3 misreads the inserts
    // (-Wstringop-overflow false positive) once this is inlined.
    core::Bytes id(sizeof kPrefix + ref.key_type.size() + 1 + ref.public_key.size());
    size_t at = 0;
    for (uint8_t b : kPrefix) id[at++] = b;
    for (uint8_t b : ref.key_type) id[at++] = b;
    id[at++] = static_cast<uint8_t>(ref.scheme);
    for (uint8_t b : ref.public_key) id[at++] = b;
    return id;
}

// Read a whole object into `out` (plain bytes: only for non-secret objects).
TEE_Result read_object(const void* id, size_t id_len, core::Bytes& out, size_t max) {
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id, id_len, kReadFlags, &h);
    if (rc != TEE_SUCCESS) return rc;
    TEE_ObjectInfo info{};
    rc = TEE_GetObjectInfo1(h, &info);
    if (rc == TEE_SUCCESS && info.dataSize > max) rc = TEE_ERROR_CORRUPT_OBJECT;
    if (rc == TEE_SUCCESS) {
        out.assign(info.dataSize, 0);
        size_t got = 0;
        rc = TEE_ReadObjectData(h, out.data(), out.size(), &got);
        if (rc == TEE_SUCCESS && got != out.size()) rc = TEE_ERROR_CORRUPT_OBJECT;
    }
    TEE_CloseObject(h);
    return rc;
}

// Read a 34-byte secret record (format | scheme-or-pad | seed) into secret memory.
TEE_Result read_secret(const void* id, size_t id_len, core::SecretArray<34>& out, size_t len) {
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id, id_len, kReadFlags, &h);
    if (rc != TEE_SUCCESS) return rc;
    size_t got = 0;
    rc = TEE_ReadObjectData(h, out.data(), len, &got);
    if (rc == TEE_SUCCESS && got != len) rc = TEE_ERROR_CORRUPT_OBJECT;
    // Anything after the record means the object is not what we wrote.
    uint8_t extra = 0;
    size_t more = 0;
    if (rc == TEE_SUCCESS && TEE_ReadObjectData(h, &extra, 1, &more) == TEE_SUCCESS && more != 0)
        rc = TEE_ERROR_CORRUPT_OBJECT;
    TEE_CloseObject(h);
    return rc;
}

TEE_Result write_object(const void* id, size_t id_len, const uint8_t* data, size_t len,
                        bool overwrite) {
    uint32_t flags = overwrite ? kWriteFlags : (kWriteFlags & ~TEE_DATA_FLAG_OVERWRITE);
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, id, id_len, flags,
                                               TEE_HANDLE_NULL, data, len, &h);
    if (rc == TEE_SUCCESS) TEE_CloseObject(h);
    return rc;
}

core::Bytes encode_index(const std::vector<KeyRef>& keys) {
    core::scale::Encoder e;
    e.vec(keys, [](core::scale::Encoder& enc, const KeyRef& k) {
        enc.raw(k.key_type).u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key);
    });
    return e.take();
}

}  // namespace

TEE_Result to_tee(core::Error e) {
    switch (e) {
        case core::Error::ok:
            return TEE_SUCCESS;
        case core::Error::out_of_memory:
            return TEE_ERROR_OUT_OF_MEMORY;
        case core::Error::unsupported:
            return TEE_ERROR_NOT_SUPPORTED;
        case core::Error::crypto_failure:
            return TEE_ERROR_GENERIC;
        default:
            return TEE_ERROR_BAD_PARAMETERS;
    }
}

TEE_Result load_index(std::vector<KeyRef>& out) {
    out.clear();
    core::Bytes raw;
    TEE_Result rc = read_object(kIndexId, sizeof kIndexId - 1, raw, kMaxIndex);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) return TEE_SUCCESS;
    if (rc != TEE_SUCCESS) return rc;
    core::scale::Decoder d(raw);
    auto keys = d.vec<KeyRef>(
        [](core::scale::Decoder& dec) -> core::Result<KeyRef> {
            KeyRef k;
            auto kt = dec.array<4>();
            if (!kt) return kt.error();
            auto scheme = dec.u8();
            if (!scheme) return scheme.error();
            if (*scheme > 2) return core::Error::invalid_encoding;
            auto pk = dec.bytes();
            if (!pk) return pk.error();
            k.key_type = *kt;
            k.scheme = static_cast<core::Scheme>(*scheme);
            k.public_key = std::move(pk).value();
            return k;
        },
        6);
    if (!keys || d.finish() != core::Error::ok) return TEE_ERROR_CORRUPT_OBJECT;
    out = std::move(keys).value();
    return TEE_SUCCESS;
}

TEE_Result store_key(const KeyRef& ref, const core::SecretArray<32>& seed) {
    std::vector<KeyRef> index;
    TEE_Result rc = load_index(index);
    if (rc != TEE_SUCCESS) return rc;
    bool listed = false;
    size_t same_type = 0;
    for (const KeyRef& k : index) {
        if (k.key_type != ref.key_type) continue;
        ++same_type;
        listed = listed || (k.scheme == ref.scheme && k.public_key == ref.public_key);
    }
    // Checked before anything is written: a refused key leaves no object behind.
    if (!listed && (same_type >= kMaxKeysPerType || index.size() >= kMaxKeys))
        return TA_SIGNER_ERROR_KEY_LIMIT;
    core::Bytes id = key_object_id(ref);
    core::SecretArray<34> record;
    record[0] = kKeyFormat;
    record[1] = static_cast<uint8_t>(ref.scheme);
    for (size_t i = 0; i < 32; ++i) record[2 + i] = seed[i];
    // Key first, index second (see keystore.hpp). An existing object under the
    // same id holds the same key (the id contains the public key): keep it.
    g_exists.erase(id);  // whatever happens below, probe the storage next time
    rc = write_object(id.data(), id.size(), record.data(), record.size(), false);
    if (rc == TEE_ERROR_ACCESS_CONFLICT) rc = TEE_SUCCESS;
    if (rc != TEE_SUCCESS) return rc;
    if (listed) return TEE_SUCCESS;
    index.push_back(ref);
    core::Bytes encoded = encode_index(index);
    return write_object(kIndexId, sizeof kIndexId - 1, encoded.data(), encoded.size(), true);
}

TEE_Result delete_key(const KeyRef& ref, void (*after_commit)()) {
    core::Bytes id = key_object_id(ref);
    if (id.size() > TEE_OBJECT_ID_MAX_LEN) return TEE_ERROR_ITEM_NOT_FOUND;
    std::vector<KeyRef> index;
    TEE_Result rc = load_index(index);
    if (rc != TEE_SUCCESS) return rc;
    auto listed = std::find_if(index.begin(), index.end(), [&](const KeyRef& k) {
        return k.key_type == ref.key_type && k.scheme == ref.scheme &&
               k.public_key == ref.public_key;
    });
    // Probe the storage itself, not the cache: a tombstone left by a crash
    // must be found to be deleted.
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(), kReadFlags, &h);
    if (rc != TEE_SUCCESS && rc != TEE_ERROR_ITEM_NOT_FOUND) return rc;
    const bool object = rc == TEE_SUCCESS;
    if (object) TEE_CloseObject(h);
    if (listed == index.end() && !object) return TEE_ERROR_ITEM_NOT_FOUND;
    // The secret leaves the TA's memory now (KeyPair wipes on destruction),
    // and whatever happens below the next use reads the storage.
    g_pairs.erase(id);
    g_exists.erase(id);
    if (listed != index.end()) {
        index.erase(listed);
        const core::Bytes encoded = encode_index(index);
        core::SecretArray<34> tombstone;  // zeros: no secret
        tombstone[0] = kRetiredFormat;
        tombstone[1] = static_cast<uint8_t>(ref.scheme);
#ifdef TS_SOFTTEE_TRANSACTIONS
        // Index and tombstone in one journal record: the key is listed and
        // usable, or unlisted and unusable, whenever the TA dies.
        TS_BeginTransaction();
        rc = object ? write_object(id.data(), id.size(), tombstone.data(), tombstone.size(), true)
                    : TEE_SUCCESS;
        if (rc == TEE_SUCCESS)
            rc = write_object(kIndexId, sizeof kIndexId - 1, encoded.data(), encoded.size(), true);
        if (rc != TEE_SUCCESS) {
            TS_AbortTransaction();
            return rc;
        }
        rc = TS_CommitTransaction();
#else
        // Unusable first: a crash before the index is written leaves the key
        // listed but unable to sign, and DELETE_KEY again completes it.
        rc = object ? write_object(id.data(), id.size(), tombstone.data(), tombstone.size(), true)
                    : TEE_SUCCESS;
        if (rc == TEE_SUCCESS)
            rc = write_object(kIndexId, sizeof kIndexId - 1, encoded.data(), encoded.size(), true);
#endif
        if (rc != TEE_SUCCESS) return rc;
    }
    if (after_commit != nullptr) after_commit();
    if (object) {
        rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(),
                                      TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE_META,
                                      &h);
        if (rc == TEE_SUCCESS) rc = TEE_CloseAndDeletePersistentObject1(h);
        if (rc == TEE_ERROR_ITEM_NOT_FOUND) rc = TEE_SUCCESS;
        if (rc != TEE_SUCCESS) return rc;  // a tombstone stays; DELETE_KEY again removes it
    }
    g_exists.put(id, false);
    return TEE_SUCCESS;
}

TEE_Result key_exists(const KeyRef& ref, bool& exists) {
    exists = false;
    core::Bytes id = key_object_id(ref);
    if (id.size() > TEE_OBJECT_ID_MAX_LEN) return TEE_SUCCESS;
    if (const bool* known = g_exists.find(id)) {
        exists = *known;
        return TEE_SUCCESS;
    }
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc =
        TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(), kReadFlags, &h);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) {
        g_exists.put(id, false);
        return TEE_SUCCESS;
    }
    if (rc != TEE_SUCCESS) return rc;
    TEE_CloseObject(h);
    exists = true;
    g_exists.put(id, true);
    return TEE_SUCCESS;
}

TEE_Result load_key(const KeyRef& ref, const core::KeyPair*& out) {
    out = nullptr;
    core::Bytes id = key_object_id(ref);
    if (id.size() > TEE_OBJECT_ID_MAX_LEN) return TEE_ERROR_ITEM_NOT_FOUND;
    if (CachedPair* cached = g_pairs.find(id); cached != nullptr && cached->verified == g_command) {
        out = cached->pair.get();
        return TEE_SUCCESS;
    }
    core::SecretArray<34> record;
    TEE_Result rc = read_secret(id.data(), id.size(), record, record.size());
    if (rc != TEE_SUCCESS) return rc;
    if (record[0] == kRetiredFormat) return TEE_ERROR_ITEM_NOT_FOUND;  // a tombstone
    if (record[0] != kKeyFormat || record[1] != static_cast<uint8_t>(ref.scheme))
        return TEE_ERROR_CORRUPT_OBJECT;
    const core::ByteSpan seed(record.data() + 2, 32);
    if (CachedPair* cached = g_pairs.find(id)) {
        const auto& known = cached->pair->seed();
        if (known && core::constant_time_equal(known->span(), seed)) {
            cached->verified = g_command;
            out = cached->pair.get();
            return TEE_SUCCESS;
        }
        g_pairs.erase(id);
    }
    auto pair = core::KeyPair::from_seed(ref.scheme, seed);
    if (!pair) return TEE_ERROR_CORRUPT_OBJECT;
    // The id names the public key; a sealed seed for another key is corruption.
    if (!core::constant_time_equal(pair->public_key(), ref.public_key))
        return TEE_ERROR_CORRUPT_OBJECT;
    out = g_pairs
              .put(id,
                   CachedPair{std::make_unique<core::KeyPair>(std::move(pair).value()), g_command})
              .pair.get();
    return TEE_SUCCESS;
}

void keystore_trim_caches() {
    ++g_command;  // a new command: every key record is read again at its first use
    if (g_pairs.size() > TS_TA_KEY_CACHE) g_pairs.clear();
    if (g_exists.size() > TS_TA_KEY_PROBE_CACHE) g_exists.clear();
}

TEE_Result attestation_key(std::optional<core::KeyPair>& out) {
    out.reset();
    core::SecretArray<34> record;
    TEE_Result rc = read_secret(kAttestationId, sizeof kAttestationId - 1, record, 33);
    if (rc == TEE_ERROR_ITEM_NOT_FOUND) {
        record[0] = kKeyFormat;
        TEE_GenerateRandom(record.data() + 1, 32);
        rc = write_object(kAttestationId, sizeof kAttestationId - 1, record.data(), 33, false);
    } else if (rc == TEE_SUCCESS && record[0] != kKeyFormat) {
        rc = TEE_ERROR_CORRUPT_OBJECT;
    }
    if (rc != TEE_SUCCESS) return rc;
    auto pair =
        core::KeyPair::from_seed(core::Scheme::ed25519, core::ByteSpan(record.data() + 1, 32));
    if (!pair) return TEE_ERROR_CORRUPT_OBJECT;
    out.emplace(std::move(pair).value());
    return TEE_SUCCESS;
}

}  // namespace teesigner::ta
