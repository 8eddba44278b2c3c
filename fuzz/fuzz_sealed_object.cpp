// The soft TEE's sealed storage (tee/softtee/storage.cpp) under a storage-level
// attacker, plus the TA's parsing of what it unseals. See ta_harness.hpp for
// the set-up (//Alice keys, a SessionKeys set, the attestation key).
//
// Mode 0: replace one object file (chosen by the input) with the input bytes.
//   Opening any object must succeed with exactly its original contents or fail
//   with CORRUPT_OBJECT / SECURITY / ITEM_NOT_FOUND, only the replaced object
//   may fail, and an older authentic version of it (a rollback) must fail
//   with SECURITY.
// Mode 1: replace the counter file. storage_load must refuse it unless it is
//   an authentic counter (the current one or an earlier one: rolling back
//   the whole directory is the limit the soft TEE documents).
// Mode 2: delete one object file: that object fails with CORRUPT_OBJECT, the
//   others still open.
// Mode 4: replace the journal (empty after the set-up's last checkpoint).
//   storage_load must start and ignore it: arbitrary bytes do not
//   authenticate, and an authentic journal from an earlier state holds only
//   records the counter already covers. Every object still opens unchanged.
// Mode 3: store authentic (correctly sealed) but arbitrary contents under one
//   of the TA's object ids ("index", "attestation-key", a key): the TA's
//   commands must fail cleanly or answer correctly (every signature verifies).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "child.hpp"
#include "common.hpp"
#include "signer_ta.h"
#include "ta_harness.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/scale.hpp"

using namespace teesigner;
using namespace teesigner::fuzz;
using core::Bytes;

namespace {

struct Known {
    Bytes id;
    Bytes data;  // contents at the snapshot
};

struct State {
    std::vector<Known> objects;          // every object the TA stored
    std::vector<std::string> files;      // object files ("o<hex>") at the snapshot
    std::set<Bytes> authentic_counters;  // every counter file the set-up wrote
    // Per object file: every authentic version the set-up wrote (the last is current).
    std::map<std::string, std::vector<Bytes>> versions;
};
State g;

Bytes key_id(const ta::StoredKey& k) {
    Bytes id = {'k', 'e', 'y', '/'};
    id.insert(id.end(), k.key_type.begin(), k.key_type.end());
    id.push_back(static_cast<uint8_t>(k.scheme));
    id.insert(id.end(), k.public_key.begin(), k.public_key.end());
    return id;
}

TEE_Result read_object(const Bytes& id, Bytes& out) {
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(),
                                             TEE_DATA_FLAG_ACCESS_READ, &h);
    if (rc != TEE_SUCCESS) return rc;
    TEE_ObjectInfo info{};
    TEE_GetObjectInfo1(h, &info);
    out.assign(info.dataSize, 0);
    size_t got = 0;
    rc = TEE_ReadObjectData(h, out.data(), out.size(), &got);
    TEE_CloseObject(h);
    if (rc == TEE_SUCCESS && got != out.size()) return TEE_ERROR_GENERIC;
    return rc;
}

bool refusal(TEE_Result rc) {
    return rc == TEE_ERROR_CORRUPT_OBJECT || rc == TEE_ERROR_SECURITY ||
           rc == TEE_ERROR_ITEM_NOT_FOUND;
}

// Open every known object; at most `allowed_failures` may fail, each with a
// clean refusal; whatever opens has its original contents.
size_t open_all() {
    size_t failures = 0;
    for (const Known& k : g.objects) {
        Bytes data;
        TEE_Result rc = read_object(k.id, data);
        if (rc == TEE_SUCCESS) {
            TS_FUZZ_CHECK(data == k.data);
        } else {
            TS_FUZZ_CHECK(refusal(rc));
            ++failures;
        }
    }
    return failures;
}

// Exercise the TA over whatever the storage now holds: sign with one stored
// key (chosen by the input), list, has_keys; attest and generate when bit 5
// of the choice is set.
void run_ta_commands(uint8_t which) {
    const auto& k = ta::keys()[which % ta::keys().size()];
    static const uint8_t kMsg[] = {'s', 'e', 'a', 'l', 'e', 'd'};
    core::scale::Encoder e;
    e.raw(k.key_type).u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key).bytes(kMsg);
    ta::Outcome o = ta::invoke(TA_SIGNER_CMD_SIGN_CHECKED, e.bytes(), TA_SIGNER_SIGN_OUTCOME_MAX);
    if (o.rc == TEE_SUCCESS) {
        // SignOutcome: Signed(signature, payload_hash) or Refused(...).
        core::scale::Decoder d(o.out);
        auto tag = d.enum_tag(2);
        TS_FUZZ_CHECK(tag.ok());
        if (*tag == 0) {
            auto sig = d.bytes();
            TS_FUZZ_CHECK(sig.ok());
            TS_FUZZ_CHECK(core::verify(k.scheme, core::SignatureBytes(*sig), kMsg,
                                       core::PublicKeyBytes(k.public_key)) == core::Error::ok);
        }
    }
    core::scale::Encoder l;
    l.raw(k.key_type).u8(static_cast<uint8_t>(k.scheme));
    ta::invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, l.bytes(), 4096);
    core::scale::Encoder h;
    h.compact(1).bytes(k.public_key).raw(k.key_type);
    ta::invoke(TA_SIGNER_CMD_HAS_KEYS, h.bytes(), 1);
    if (which & 0x20) {
        ta::invoke(TA_SIGNER_CMD_ATTEST, core::scale::Encoder().bytes(Bytes{1, 2, 3}).bytes(),
                   4096);
        core::scale::Encoder gk;
        gk.raw(std::array<uint8_t, 4>{'f', 'u', 'z', 'z'}).u8(0);
        ta::invoke(TA_SIGNER_CMD_GENERATE_KEY, gk.bytes(), 32);
    }
}

void write_file(const std::string& name, const uint8_t* data, size_t size) {
    if (!write_whole(ta::dir() + "/" + name, data, size)) fail("cannot write a storage file");
}

std::string seed_name(const char* kind, size_t i) {
    return std::string("gen-") + kind + "-" + std::to_string(i);
}

void write_seeds() {
    size_t n = 0;
    // Mode 0: each object file's authentic versions (current and rolled back).
    for (size_t f = 0; f < g.files.size(); ++f) {
        for (const Bytes& v : g.versions[g.files[f]]) {
            Bytes seed = {0, static_cast<uint8_t>(f)};
            seed.insert(seed.end(), v.begin(), v.end());
            ta::write_seed(seed_name("object", n++), seed);
        }
        // A swap: the next file's contents under this file's name.
        const Bytes& other = g.versions[g.files[(f + 1) % g.files.size()]].back();
        Bytes seed = {0, static_cast<uint8_t>(f)};
        seed.insert(seed.end(), other.begin(), other.end());
        ta::write_seed(seed_name("swap", f), seed);
    }
    // Mode 1: every counter file, oldest first.
    size_t c = 0;
    for (const auto& state : ta::history()) {
        auto it = state.find("counter");
        if (it == state.end()) continue;
        Bytes seed = {1};
        seed.insert(seed.end(), it->second.begin(), it->second.end());
        ta::write_seed(seed_name("counter", c++), seed);
    }
    // Mode 4: the authentic journals of the set-up, and one cut short.
    for (size_t i = 0; i < ta::journals().size(); ++i) {
        const auto& j = ta::journals()[i];
        Bytes seed = {4};
        seed.insert(seed.end(), j.begin(), j.end());
        ta::write_seed(seed_name("journal", i), seed);
        seed.resize(1 + j.size() / 2);
        ta::write_seed(seed_name("journal-torn", i), seed);
    }
    // Mode 3: each object's plaintext under its own id.
    for (size_t i = 0; i < g.objects.size(); ++i) {
        Bytes seed = {3, static_cast<uint8_t>(i)};
        seed.insert(seed.end(), g.objects[i].data.begin(), g.objects[i].data.end());
        ta::write_seed(seed_name("plain", i), seed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ta::setup();
    g.objects.push_back({Bytes{'i', 'n', 'd', 'e', 'x'}, {}});
    const char* att = "attestation-key";
    g.objects.push_back({Bytes(att, att + 15), {}});
    for (const auto& k : ta::keys()) g.objects.push_back({key_id(k), {}});
    for (Known& k : g.objects)
        if (read_object(k.id, k.data) != TEE_SUCCESS) fail("set-up object does not open");
    for (const auto& [name, data] : ta::history().back())
        if (name.size() == 65 && name[0] == 'o') g.files.push_back(name);
    for (const auto& state : ta::history()) {
        for (const auto& [name, data] : state) {
            if (name == "counter") g.authentic_counters.insert(data);
            auto& v = g.versions[name];
            if (name[0] == 'o' && (v.empty() || v.back() != data)) v.push_back(data);
        }
    }
    write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ta::reset();
    Input in(data, size);
    uint8_t first = in.u8();
    uint8_t mode = first % 5;
    uint8_t which = static_cast<uint8_t>(first / 5);
    switch (mode) {
        case 0: {
            const std::string& name = g.files[in.u8() % g.files.size()];
            auto bytes = in.rest();
            write_file(name, bytes.data(), bytes.size());
            Bytes content(bytes.begin(), bytes.end());
            const auto& versions = g.versions[name];
            bool current = content == versions.back();
            size_t failures = open_all();
            TS_FUZZ_CHECK(failures <= 1);
            if (current) TS_FUZZ_CHECK(failures == 0);
            // An older authentic version is a rollback: refused as such.
            for (size_t i = 0; i + 1 < versions.size(); ++i) {
                if (content != versions[i] || content == versions.back()) continue;
                TS_FUZZ_CHECK(failures == 1);
            }
            run_ta_commands(which);
            break;
        }
        case 1: {
            auto bytes = in.rest();
            write_file("counter", bytes.data(), bytes.size());
            TEE_Result rc = softtee::storage_load();
            if (rc == TEE_SUCCESS) {
                TS_FUZZ_CHECK(g.authentic_counters.count(Bytes(bytes.begin(), bytes.end())) == 1);
                open_all();
                run_ta_commands(which);
            } else {
                TS_FUZZ_CHECK(rc == TEE_ERROR_CORRUPT_OBJECT);
            }
            break;
        }
        case 4: {
            auto bytes = in.rest();
            write_file("journal", bytes.data(), bytes.size());
            TS_FUZZ_CHECK(softtee::storage_load() == TEE_SUCCESS);
            TS_FUZZ_CHECK(open_all() == 0);
            run_ta_commands(which);
            break;
        }
        case 2: {
            const std::string& name = g.files[in.u8() % g.files.size()];
            unlink((ta::dir() + "/" + name).c_str());
            TS_FUZZ_CHECK(open_all() == 1);
            run_ta_commands(which);
            break;
        }
        default: {
            const Known& k = g.objects[in.u8() % g.objects.size()];
            auto bytes = in.rest();
            TEE_ObjectHandle h = TEE_HANDLE_NULL;
            uint32_t flags = TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
                             TEE_DATA_FLAG_ACCESS_WRITE_META | TEE_DATA_FLAG_OVERWRITE;
            TEE_Result rc =
                TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, k.id.data(), k.id.size(), flags,
                                           TEE_HANDLE_NULL, bytes.data(), bytes.size(), &h);
            TS_FUZZ_CHECK(rc == TEE_SUCCESS);
            TEE_CloseObject(h);
            // The planted bytes may be anything, a secret included, and the TA
            // may echo them (e.g. an index entry as a "public key").
            ta::check_secrets(false);
            run_ta_commands(which);
            break;
        }
    }
    return 0;
}
