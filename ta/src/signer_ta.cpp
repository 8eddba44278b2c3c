// The tee-signer trusted application: GP entry points and command dispatch.
// Requests and responses are SCALE (see signer_ta.h). Written only against the
// GP TEE Internal Core API and the core library, so the same source builds for
// OP-TEE and for the soft TEE.
#include "signer_ta.h"

#include <optional>
#include <vector>

#include "keystore.hpp"
#include "tee_internal_api.h"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"

#ifdef TS_TA_TEST_COMMANDS
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace teesigner::ta {
namespace {

using core::Bytes;
using core::ByteSpan;
using core::Scheme;
using core::scale::Decoder;
using core::scale::Encoder;

struct SessionKeySpec {
    char key_type[5];
    Scheme scheme;
};
// Kusama/Polkadot SessionKeys, runtime order.
constexpr SessionKeySpec kSessionKeys[] = {
    {"gran", Scheme::ed25519}, {"babe", Scheme::sr25519}, {"para", Scheme::sr25519},
    {"asgn", Scheme::sr25519}, {"audi", Scheme::sr25519}, {"beef", Scheme::ecdsa},
};
constexpr size_t kSessionKeysSize = 5 * 32 + 33;

void tee_random(uint8_t* out, size_t len) {
    TEE_GenerateRandom(out, len);
}

// Request view and response sink over the two memref parameters.
struct Io {
    ByteSpan request;
    TEE_Param* out;
    size_t capacity() const { return out->memref.size; }
};

TEE_Result respond(Io& io, const Bytes& data) {
    if (data.size() > io.out->memref.size) {
        io.out->memref.size = data.size();
        return TEE_ERROR_SHORT_BUFFER;
    }
    if (!data.empty()) TEE_MemMove(io.out->memref.buffer, data.data(), data.size());
    io.out->memref.size = data.size();
    return TEE_SUCCESS;
}

// Refuse before creating anything if the answer could not be delivered.
bool room_for(Io& io, size_t n) {
    if (io.capacity() >= n) return true;
    io.out->memref.size = n;
    return false;
}

std::optional<Scheme> decode_scheme(Decoder& d) {
    auto s = d.u8();
    if (!s || *s > 2) return std::nullopt;
    return static_cast<Scheme>(*s);
}

// A fresh key of `scheme` from TEE_GenerateRandom, sealed under `key_type`.
TEE_Result generate(const KeyTypeId& key_type, Scheme scheme, Bytes& public_key) {
    core::SecretArray<32> seed;
    for (int attempt = 0; attempt < 16; ++attempt) {
        TEE_GenerateRandom(seed.data(), seed.size());
        auto pair = core::KeyPair::from_seed(scheme, seed.span());
        if (!pair) continue;  // ecdsa: seed outside the curve order (negligible odds)
        KeyRef ref{key_type, scheme, pair->public_key()};
        TEE_Result rc = store_key(ref, seed);
        if (rc == TEE_SUCCESS) public_key = pair->public_key();
        return rc;
    }
    return TEE_ERROR_GENERIC;
}

TEE_Result cmd_generate_key(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    if (!key_type || !scheme || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, core::public_key_size(*scheme))) return TEE_ERROR_SHORT_BUFFER;
    Bytes pk;
    TEE_Result rc = generate(*key_type, *scheme, pk);
    if (rc != TEE_SUCCESS) return rc;
    return respond(io, pk);
}

TEE_Result cmd_generate_session_keys(Io& io) {
    if (!io.request.empty()) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, kSessionKeysSize)) return TEE_ERROR_SHORT_BUFFER;
    Bytes all;
    for (const SessionKeySpec& spec : kSessionKeys) {
        KeyTypeId kt{};
        for (size_t i = 0; i < 4; ++i) kt[i] = static_cast<uint8_t>(spec.key_type[i]);
        Bytes pk;
        TEE_Result rc = generate(kt, spec.scheme, pk);
        if (rc != TEE_SUCCESS) return rc;
        all.insert(all.end(), pk.begin(), pk.end());
    }
    return respond(io, all);
}

TEE_Result cmd_list_public_keys(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    if (!key_type || !scheme || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    std::vector<KeyRef> index;
    TEE_Result rc = load_index(index);
    if (rc != TEE_SUCCESS) return rc;
    std::vector<const KeyRef*> matches;
    for (const KeyRef& k : index)
        if (k.key_type == *key_type && k.scheme == *scheme) matches.push_back(&k);
    Encoder e;
    e.vec(matches, [](Encoder& enc, const KeyRef* k) { enc.raw(k->public_key); });
    return respond(io, e.take());
}

TEE_Result cmd_has_keys(Io& io) {
    Decoder d(io.request);
    struct Query {
        Bytes public_key;
        KeyTypeId key_type;
    };
    auto queries = d.vec<Query>(
        [](Decoder& dec) -> core::Result<Query> {
            auto pk = dec.bytes();
            if (!pk) return pk.error();
            auto kt = dec.array<4>();
            if (!kt) return kt.error();
            return Query{std::move(pk).value(), *kt};
        },
        5);
    if (!queries || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    std::vector<KeyRef> index;
    TEE_Result rc = load_index(index);
    if (rc != TEE_SUCCESS) return rc;
    bool all = true;
    for (const Query& q : *queries) {
        bool found = false;
        for (const KeyRef& k : index)
            if (k.key_type == q.key_type && k.public_key == q.public_key) found = true;
        all = all && found;
    }
    return respond(io, Encoder().boolean(all).take());
}

TEE_Result cmd_sign(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    auto pk = d.bytes();
    auto message = d.bytes_view();
    if (!key_type || !scheme || !pk || !message || d.finish() != core::Error::ok)
        return TEE_ERROR_BAD_FORMAT;
    if (pk->size() != core::public_key_size(*scheme)) return TEE_ERROR_BAD_PARAMETERS;
    if (!room_for(io, core::signature_size(*scheme))) return TEE_ERROR_SHORT_BUFFER;
    std::optional<core::KeyPair> pair;
    TEE_Result rc = load_key(KeyRef{*key_type, *scheme, *pk}, pair);
    if (rc != TEE_SUCCESS) return rc;
    auto sig = pair->sign(*message);
    if (!sig) return to_tee(sig.error());
    return respond(io, *sig);
}

TEE_Result cmd_ecdsa_sign_prehashed(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto pk = d.array<33>();
    auto prehash = d.array<32>();
    if (!key_type || !pk || !prehash || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, 65)) return TEE_ERROR_SHORT_BUFFER;
    std::optional<core::KeyPair> pair;
    TEE_Result rc = load_key(KeyRef{*key_type, Scheme::ecdsa, Bytes(pk->begin(), pk->end())}, pair);
    if (rc != TEE_SUCCESS) return rc;
    auto sig = pair->sign_prehashed(*prehash);
    if (!sig) return to_tee(sig.error());
    return respond(io, *sig);
}

// A VrfTranscript (see signer_ta.h) replayed into a merlin transcript.
std::optional<core::Transcript> decode_transcript(Decoder& d) {
    auto label = d.bytes_view();
    if (!label) return std::nullopt;
    core::Transcript t(*label);
    auto n = d.length_prefix(2);
    if (!n) return std::nullopt;
    for (size_t i = 0; i < *n; ++i) {
        auto item_label = d.bytes_view();
        auto item = d.bytes_view();
        if (!item_label || !item) return std::nullopt;
        t.append_message(*item_label, *item);
    }
    return t;
}

TEE_Result cmd_vrf_sign(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto pk = d.array<32>();
    if (!key_type || !pk) return TEE_ERROR_BAD_FORMAT;
    auto input = decode_transcript(d);
    if (!input) return TEE_ERROR_BAD_FORMAT;
    auto has_extra = d.option_tag();
    if (!has_extra) return TEE_ERROR_BAD_FORMAT;
    std::optional<core::Transcript> extra;
    if (*has_extra) {
        extra = decode_transcript(d);
        if (!extra) return TEE_ERROR_BAD_FORMAT;
    }
    if (d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, 96)) return TEE_ERROR_SHORT_BUFFER;
    std::optional<core::KeyPair> pair;
    TEE_Result rc =
        load_key(KeyRef{*key_type, Scheme::sr25519, Bytes(pk->begin(), pk->end())}, pair);
    if (rc != TEE_SUCCESS) return rc;
    const core::sr25519::Keypair* kp = pair->as_sr25519();
    if (kp == nullptr) return TEE_ERROR_GENERIC;
    core::sr25519::VrfSignature sig =
        extra ? core::sr25519::vrf_sign(*kp, *input, *extra) : core::sr25519::vrf_sign(*kp, *input);
    Encoder out;
    out.raw(sig.pre_output).raw(sig.proof);
    return respond(io, out.take());
}

TEE_Result cmd_attest(Io& io) {
    Decoder d(io.request);
    auto nonce = d.bytes();
    if (!nonce || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (nonce->size() > TA_SIGNER_MAX_NONCE) return TEE_ERROR_BAD_PARAMETERS;
    std::vector<KeyRef> index;
    TEE_Result rc = load_index(index);
    if (rc != TEE_SUCCESS) return rc;
    std::optional<core::KeyPair> attest;
    rc = attestation_key(attest);
    if (rc != TEE_SUCCESS) return rc;

    Bytes bound = *nonce;
    for (const KeyRef& k : index)
        bound.insert(bound.end(), k.public_key.begin(), k.public_key.end());
    core::Hash256 report_data = core::blake2b_256(bound);

    Encoder statement;
    statement.str(TA_SIGNER_ATTEST_LABEL).bytes(*nonce);
    statement.vec(index, [](Encoder& enc, const KeyRef& k) {
        enc.raw(k.key_type).u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key);
    });
    statement.raw(report_data).raw(attest->public_key());
    auto sig = attest->sign(statement.bytes());
    if (!sig) return to_tee(sig.error());
    Encoder out;
    out.bytes(statement.bytes()).raw(*sig);
    return respond(io, out.take());
}

TEE_Result cmd_import_suri(Io& io) {
#ifdef TS_TA_DEV_COMMANDS
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    auto suri = d.str();
    if (!key_type || !scheme || !suri || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, core::public_key_size(*scheme))) return TEE_ERROR_SHORT_BUFFER;
    auto pair = core::KeyPair::from_suri(*scheme, *suri);
    core::secure_wipe(suri->data(), suri->size());
    if (!pair) return to_tee(pair.error());
    // Only seed-backed keys can be sealed (sr25519 soft derivation has no seed).
    if (!pair->seed()) return TEE_ERROR_NOT_SUPPORTED;
    TEE_Result rc = store_key(KeyRef{*key_type, *scheme, pair->public_key()}, *pair->seed());
    if (rc != TEE_SUCCESS) return rc;
    return respond(io, pair->public_key());
#else
    (void)io;
    return TEE_ERROR_NOT_SUPPORTED;
#endif
}

#ifdef TS_TA_TEST_COMMANDS
TEE_Result cmd_test_forbidden_syscall() {
    // Outside the sandbox's allow-list: the soft TEE kills the process here.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return fd >= 0 ? TEE_ERROR_SECURITY : TEE_ERROR_GENERIC;
}

// Soft TEE only: find the storage directory's descriptor and open `path`
// relative to it, to show that "../" cannot leave the directory.
TEE_Result cmd_test_open_relative(Io& io) {
    Decoder d(io.request);
    auto path = d.str();
    if (!path || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    int dirfd = -1;
    for (int fd = 3; fd < 64 && dirfd < 0; ++fd) {
        struct stat st {};
        // The raw fstat syscall: glibc's fstat goes through newfstatat, which the
        // sandbox only allows on the storage directory.
        if (syscall(SYS_fstat, fd, &st) == 0 && S_ISDIR(st.st_mode)) dirfd = fd;
    }
    if (dirfd < 0) return TEE_ERROR_BAD_STATE;
    int fd = openat(dirfd, path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return TEE_SUCCESS;
    }
    if (errno == EACCES || errno == EPERM) return TEE_ERROR_ACCESS_DENIED;
    if (errno == ENOENT) return TEE_ERROR_ITEM_NOT_FOUND;
    return TEE_ERROR_GENERIC;
}

TEE_Result cmd_test_spin(Io& io) {
    Decoder d(io.request);
    auto millis = d.u32();
    if (!millis || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    TEE_Time start{}, now{};
    TEE_GetSystemTime(&start);
    uint64_t t0 = uint64_t{start.seconds} * 1000 + start.millis;
    for (;;) {
        TEE_GetSystemTime(&now);
        if (uint64_t{now.seconds} * 1000 + now.millis - t0 >= *millis) break;
    }
    io.out->memref.size = 0;
    return TEE_SUCCESS;
}
#endif

}  // namespace
}  // namespace teesigner::ta

using namespace teesigner::ta;

extern "C" {

TEE_Result TA_CreateEntryPoint(void) {
    // The core draws nonces and keys through this; only TEE randomness.
    teesigner::core::set_random_source(tee_random);
    return TEE_SUCCESS;
}

void TA_DestroyEntryPoint(void) {}

TEE_Result TA_OpenSessionEntryPoint(uint32_t paramTypes, TEE_Param params[4],
                                    void** sessionContext) {
    (void)params;
    if (paramTypes != TEE_PARAM_TYPES(TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE,
                                      TEE_PARAM_TYPE_NONE))
        return TEE_ERROR_BAD_PARAMETERS;
    *sessionContext = nullptr;
    return TEE_SUCCESS;
}

void TA_CloseSessionEntryPoint(void* sessionContext) {
    (void)sessionContext;
}

TEE_Result TA_InvokeCommandEntryPoint(void* sessionContext, uint32_t commandID, uint32_t paramTypes,
                                      TEE_Param params[4]) {
    (void)sessionContext;
    uint32_t in_type = TEE_PARAM_TYPE_GET(paramTypes, 0);
    uint32_t out_type = TEE_PARAM_TYPE_GET(paramTypes, 1);
    if ((in_type != TEE_PARAM_TYPE_MEMREF_INPUT && in_type != TEE_PARAM_TYPE_NONE) ||
        out_type != TEE_PARAM_TYPE_MEMREF_OUTPUT || TEE_PARAM_TYPE_GET(paramTypes, 2) != 0 ||
        TEE_PARAM_TYPE_GET(paramTypes, 3) != 0)
        return TEE_ERROR_BAD_PARAMETERS;
    Io io;
    if (in_type == TEE_PARAM_TYPE_MEMREF_INPUT && params[0].memref.size > 0) {
        if (params[0].memref.buffer == nullptr) return TEE_ERROR_BAD_PARAMETERS;
        io.request =
            ByteSpan(static_cast<const uint8_t*>(params[0].memref.buffer), params[0].memref.size);
    }
    io.out = &params[1];
    if (io.out->memref.buffer == nullptr && io.out->memref.size != 0)
        return TEE_ERROR_BAD_PARAMETERS;

    switch (commandID) {
        case TA_SIGNER_CMD_GENERATE_KEY:
            return cmd_generate_key(io);
        case TA_SIGNER_CMD_GENERATE_SESSION_KEYS:
            return cmd_generate_session_keys(io);
        case TA_SIGNER_CMD_LIST_PUBLIC_KEYS:
            return cmd_list_public_keys(io);
        case TA_SIGNER_CMD_HAS_KEYS:
            return cmd_has_keys(io);
        case TA_SIGNER_CMD_SIGN:
            return cmd_sign(io);
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED:
            return cmd_ecdsa_sign_prehashed(io);
        case TA_SIGNER_CMD_VRF_SIGN:
            return cmd_vrf_sign(io);
        case TA_SIGNER_CMD_ATTEST:
            return cmd_attest(io);
        case TA_SIGNER_CMD_IMPORT_SURI:
            return cmd_import_suri(io);
#ifdef TS_TA_TEST_COMMANDS
        case TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL:
            return cmd_test_forbidden_syscall();
        case TA_SIGNER_CMD_TEST_SPIN:
            return cmd_test_spin(io);
        case TA_SIGNER_CMD_TEST_OPEN_RELATIVE:
            return cmd_test_open_relative(io);
#endif
        default:
            return TEE_ERROR_NOT_SUPPORTED;
    }
}

}  // extern "C"
