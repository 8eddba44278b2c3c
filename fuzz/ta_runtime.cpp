// Deterministic GP TEE Internal API runtime for the in-process TA fuzz targets
// (see ta_harness.hpp). Persistent objects come from the soft TEE's storage.cpp;
// this file supplies the rest of what the TA calls (panic, memory, randomness,
// time) and the harness around TA_InvokeCommandEntryPoint.
#include <sodium.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "child.hpp"
#include "common.hpp"
#include "signer_ta.h"
#include "ta_harness.hpp"
#include "teesigner/core/scale.hpp"

namespace teesigner::softtee {
// storage.cpp logs through this; quiet unless TS_FUZZ_VERBOSE is set.
void child_log(const char* fmt, ...) {
    static const bool verbose = std::getenv("TS_FUZZ_VERBOSE") != nullptr;
    if (!verbose) return;
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}
}  // namespace teesigner::softtee

namespace teesigner::fuzz::ta {
namespace {

// Two independent ChaCha20 streams, restarted by reset(): one behind
// TEE_GenerateRandom, one behind libsodium's randombytes (storage nonces).
struct Stream {
    uint8_t key[crypto_stream_chacha20_KEYBYTES];
    uint64_t counter = 0;
    bool recording = false;
    std::vector<std::array<uint8_t, 32>>* record = nullptr;
    void fill(uint8_t* out, size_t len) {
        uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
        std::memcpy(nonce, &counter, sizeof counter);
        ++counter;
        crypto_stream_chacha20(out, len, nonce, key);
    }
};
Stream g_tee_stream{{'g', 'p', '-', 'r', 'n', 'g'}};
Stream g_sodium_stream{{'s', 'o', 'd', 'i', 'u', 'm'}};

const char* sodium_impl_name() {
    return "ts-fuzz-deterministic";
}
uint32_t sodium_impl_random() {
    uint32_t v;
    g_sodium_stream.fill(reinterpret_cast<uint8_t*>(&v), sizeof v);
    return v;
}
void sodium_impl_buf(void* buf, size_t size) {
    g_sodium_stream.fill(static_cast<uint8_t*>(buf), size);
}
randombytes_implementation g_sodium_impl = {sodium_impl_name, sodium_impl_random, nullptr,
                                            nullptr,          sodium_impl_buf,    nullptr};

struct State {
    std::string dir;
    std::vector<FileMap> history;
    std::vector<std::vector<uint8_t>> journals;
    std::vector<StoredKey> keys;
    std::vector<std::array<uint8_t, 32>> secrets;
    bool ready = false;
    bool check_secrets = true;
    // Every request since reset(): a response may echo what any of them
    // carried (e.g. a vote's target hash, exported by a later call).
    std::vector<core::Bytes> sent;
};
State g;

constexpr uint32_t kCanonicalTypes =
    TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT, TEE_PARAM_TYPE_NONE,
                    TEE_PARAM_TYPE_NONE);
constexpr uint8_t kCanary = 0xA5;

std::array<uint8_t, 4> kt(const char* s) {
    return {static_cast<uint8_t>(s[0]), static_cast<uint8_t>(s[1]), static_cast<uint8_t>(s[2]),
            static_cast<uint8_t>(s[3])};
}

bool contains(const core::Bytes& hay, const std::array<uint8_t, 32>& needle) {
    if (hay.size() < needle.size()) return false;
    return memmem(hay.data(), hay.size(), needle.data(), needle.size()) != nullptr;
}

void must(bool ok, const char* what) {
    if (!ok) fail(what);
}

void import_dev_key(const char* key_type, core::Scheme scheme, const char* suri) {
    core::scale::Encoder e;
    e.raw(kt(key_type)).u8(static_cast<uint8_t>(scheme)).str(suri);
    Outcome o = invoke(TA_SIGNER_CMD_IMPORT_SURI, e.bytes(), 64);
    must(o.rc == TEE_SUCCESS, "setup: IMPORT_SURI failed (is the TA built with dev commands?)");
    g.keys.push_back({kt(key_type), scheme, o.out});
    auto pair = core::KeyPair::from_suri(scheme, suri);
    must(pair && pair->seed().has_value(), "setup: from_suri");
    std::array<uint8_t, 32> seed{};
    std::memcpy(seed.data(), pair->seed()->data(), 32);
    g.secrets.push_back(seed);
}

}  // namespace

const std::vector<StoredKey>& keys() {
    return g.keys;
}
const std::vector<std::array<uint8_t, 32>>& secrets() {
    return g.secrets;
}
void check_secrets(bool on) {
    g.check_secrets = on;
}
const std::string& dir() {
    return g.dir;
}
const std::vector<FileMap>& history() {
    return g.history;
}
const std::vector<std::vector<uint8_t>>& journals() {
    return g.journals;
}

// A snapshot of the storage after a checkpoint (so that every reset starts
// with an empty journal, as after an orderly stop); the journal as it was just
// before is kept in journals(): authentic records, seeds for the journal mode.
static void snapshot() {
    for (auto [name, data] : take_snapshot(g.dir)) {
        if (name != "journal" || data.size() < 4 || memcmp(data.data(), "TSJR", 4) != 0) continue;
        // The file is reserved with zeros: keep the records, not the zeros.
        while (!data.empty() && data.back() == 0) data.pop_back();
        g.journals.push_back(std::move(data));
    }
    softtee::storage_close();
    g.history.push_back(take_snapshot(g.dir));
}

void setup() {
    if (g.ready) return;
    // Before sodium_init: every libsodium random byte comes from our stream.
    randombytes_set_implementation(&g_sodium_impl);
    init_core();
    g.dir = make_scratch_dir();
    // A new device: its key comes from the deterministic randombytes stream, so
    // sealed files are identical from run to run.
    must(softtee::storage_prepare(g.dir.c_str()) == TEE_SUCCESS, "setup: storage_prepare");
    must(softtee::storage_load() == TEE_SUCCESS, "setup: storage_load");
    must(TA_CreateEntryPoint() == TEE_SUCCESS, "setup: TA_CreateEntryPoint");
    g.ready = true;
    snapshot();

    import_dev_key("gran", core::Scheme::ed25519, "//Alice");
    snapshot();
    import_dev_key("babe", core::Scheme::sr25519, "//Alice");
    snapshot();
    import_dev_key("beef", core::Scheme::ecdsa, "//Alice");
    snapshot();

    // Record the seeds TEE_GenerateRandom hands out while the TA makes keys.
    g_tee_stream.recording = true;
    g_tee_stream.record = &g.secrets;
    Outcome o = invoke(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {}, 193);
    must(o.rc == TEE_SUCCESS && o.out.size() == 193, "setup: GENERATE_SESSION_KEYS");
    static const struct {
        const char* type;
        core::Scheme scheme;
        size_t size;
    } kSession[] = {{"gran", core::Scheme::ed25519, 32}, {"babe", core::Scheme::sr25519, 32},
                    {"para", core::Scheme::sr25519, 32}, {"asgn", core::Scheme::sr25519, 32},
                    {"audi", core::Scheme::sr25519, 32}, {"beef", core::Scheme::ecdsa, 33}};
    size_t off = 0;
    for (const auto& k : kSession) {
        g.keys.push_back({kt(k.type), k.scheme,
                          core::Bytes(o.out.begin() + static_cast<std::ptrdiff_t>(off),
                                      o.out.begin() + static_cast<std::ptrdiff_t>(off + k.size))});
        off += k.size;
    }
    snapshot();
    core::Bytes nonce = core::scale::Encoder().bytes(core::as_bytes("fuzz")).take();
    o = invoke(TA_SIGNER_CMD_ATTEST, nonce, 4096);
    must(o.rc == TEE_SUCCESS, "setup: ATTEST");
    g_tee_stream.recording = false;
    snapshot();
    reset();
}

void reset() {
    restore_snapshot(g.dir, g.history.back());
    if (softtee::storage_load() != TEE_SUCCESS) {
        std::fprintf(stderr, "reset: storage_load: %s\n",
                     softtee::storage_failure_reason().c_str());
        std::abort();
    }
    g_tee_stream.counter = 1000;  // past the set-up draws: fresh keys differ from stored ones
    g_sodium_stream.counter = 1000;
    reset_random();
    g.check_secrets = true;
    g.sent.clear();
}

Outcome invoke(uint32_t command, core::ByteSpan request, size_t out_cap, uint32_t param_types,
               uint32_t value_seed) {
    TEE_Param params[4]{};
    std::vector<uint8_t*> owned;
    auto alloc = [&](size_t n) -> uint8_t* {
        if (n == 0) return nullptr;
        auto* p = static_cast<uint8_t*>(std::malloc(n));
        owned.push_back(p);
        return p;
    };
    for (int i = 0; i < 4; ++i) {
        uint32_t t = TEE_PARAM_TYPE_GET(param_types, i);
        if (i == 0 && (t == TEE_PARAM_TYPE_MEMREF_INPUT || t == TEE_PARAM_TYPE_MEMREF_INOUT)) {
            uint8_t* p = alloc(request.size());
            if (p != nullptr) std::memcpy(p, request.data(), request.size());
            params[0].memref.buffer = p;
            params[0].memref.size = request.size();
        } else if (i == 1 &&
                   (t == TEE_PARAM_TYPE_MEMREF_OUTPUT || t == TEE_PARAM_TYPE_MEMREF_INOUT)) {
            uint8_t* p = alloc(out_cap);
            if (p != nullptr) std::memset(p, kCanary, out_cap);
            params[1].memref.buffer = p;
            params[1].memref.size = out_cap;
        } else if (t >= TEE_PARAM_TYPE_MEMREF_INPUT && t <= TEE_PARAM_TYPE_MEMREF_INOUT) {
            uint8_t* p = alloc(16);
            std::memset(p, 0, 16);
            params[i].memref.buffer = p;
            params[i].memref.size = 16;
        } else if (t >= TEE_PARAM_TYPE_VALUE_INPUT && t <= TEE_PARAM_TYPE_VALUE_INOUT) {
            params[i].value.a = value_seed;
            params[i].value.b = ~value_seed;
        }
    }
    uint8_t* out_buf = static_cast<uint8_t*>(params[1].memref.buffer);
    const bool canonical_out =
        TEE_PARAM_TYPE_GET(param_types, 1) == TEE_PARAM_TYPE_MEMREF_OUTPUT && out_buf != nullptr;

    const uint32_t t0 = TEE_PARAM_TYPE_GET(param_types, 0);
    if (t0 == TEE_PARAM_TYPE_MEMREF_INPUT || t0 == TEE_PARAM_TYPE_MEMREF_INOUT)
        g.sent.emplace_back(request.begin(), request.end());  // the TA could read it
    Outcome o;
    o.rc = TA_InvokeCommandEntryPoint(nullptr, command, param_types, params);
    if (canonical_out) {
        o.reported_size = params[1].memref.size;
        if (o.rc == TEE_SUCCESS) {
            // The GP contract: size <= capacity, nothing written past it.
            must(o.reported_size <= out_cap, "success with a size above the output capacity");
            for (size_t i = o.reported_size; i < out_cap; ++i)
                must(out_buf[i] == kCanary, "TA wrote past the size it reported");
            o.out.assign(out_buf, out_buf + o.reported_size);
            // (A request may carry those bytes itself, e.g. as an ATTEST nonce
            // that the statement echoes, or as a GRANDPA target hash that a
            // later EXPORT_PROTECTION returns: libFuzzer learns them from memcmp.)
            auto sent_before = [](const std::array<uint8_t, 32>& s) {
                return std::any_of(g.sent.begin(), g.sent.end(),
                                   [&s](const core::Bytes& r) { return contains(r, s); });
            };
            if (g.check_secrets)
                for (size_t k = 0; k < g.secrets.size(); ++k) {
                    const auto& s = g.secrets[k];
                    if (!contains(o.out, s) || sent_before(s)) continue;
                    // Say which secret, where and in reply to what, to tell a
                    // real leak from a value that is public after all.
                    const auto* at = static_cast<const uint8_t*>(
                        memmem(o.out.data(), o.out.size(), s.data(), s.size()));
                    std::fprintf(stderr,
                                 "secret #%zu of %zu (recorded at setup) at offset %td of the "
                                 "%zu-byte response to command 0x%x\n",
                                 k, g.secrets.size(), at - o.out.data(), o.out.size(), command);
                    std::fprintf(stderr, "response: %s\n", core::to_hex(o.out).c_str());
                    fail("a response contains a stored secret seed");
                }
        } else {
            if (o.rc == TEE_ERROR_SHORT_BUFFER)
                must(o.reported_size > out_cap, "SHORT_BUFFER without a larger size");
            for (size_t i = 0; i < out_cap; ++i)
                must(out_buf[i] == kCanary, "TA wrote output on failure");
        }
    } else if (param_types == kCanonicalTypes && out_cap == 0) {
        o.reported_size = params[1].memref.size;
    }
    for (uint8_t* p : owned) std::free(p);
    return o;
}

void write_seed(const std::string& name, core::ByteSpan data) {
    const char* dir_env = std::getenv("TS_FUZZ_WRITE_SEEDS");
    if (dir_env == nullptr) return;
    std::string path = std::string(dir_env) + "/" + name;
    if (!write_whole(path, data.data(), data.size())) fail("cannot write a seed file");
}

}  // namespace teesigner::fuzz::ta

// ---- GP TEE Internal API: what storage.cpp does not provide ------------------

using teesigner::fuzz::ta::g_tee_stream;

extern "C" {

void TEE_Panic(TEE_Result code) {
    std::fprintf(stderr, "TEE_Panic(0x%08x): a client input panicked the TA\n", code);
    std::abort();
}

void* TEE_Malloc(size_t size, uint32_t hint) {
    (void)hint;
    auto* p = static_cast<uint8_t*>(std::calloc(1, 16 + size));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &size, sizeof size);
    return p + 16;
}

void TEE_Free(void* buffer) {
    if (buffer != nullptr) std::free(static_cast<uint8_t*>(buffer) - 16);
}

void* TEE_Realloc(void* buffer, size_t new_size) {
    void* fresh = TEE_Malloc(new_size, 0);
    if (fresh == nullptr || buffer == nullptr) return fresh;
    size_t old = 0;
    std::memcpy(&old, static_cast<uint8_t*>(buffer) - 16, sizeof old);
    std::memcpy(fresh, buffer, old < new_size ? old : new_size);
    TEE_Free(buffer);
    return fresh;
}

void TEE_MemMove(void* dest, const void* src, size_t size) {
    std::memmove(dest, src, size);
}

int32_t TEE_MemCompare(const void* a, const void* b, size_t size) {
    int r = std::memcmp(a, b, size);
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

void TEE_MemFill(void* buffer, uint32_t x, size_t size) {
    std::memset(buffer, static_cast<int>(x & 0xFF), size);
}

void TEE_GenerateRandom(void* buffer, size_t len) {
    auto* p = static_cast<uint8_t*>(buffer);
    g_tee_stream.fill(p, len);
    if (g_tee_stream.recording && len == 32 && g_tee_stream.record != nullptr) {
        std::array<uint8_t, 32> s{};
        std::memcpy(s.data(), p, 32);
        g_tee_stream.record->push_back(s);
    }
}

void TEE_GetSystemTime(TEE_Time* t) {
    t->seconds = 1700000000u;
    t->millis = 0;
}

}  // extern "C"
