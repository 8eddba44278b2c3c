// The tee-signer trusted application: GP entry points and command dispatch.
// Requests and responses are SCALE (see signer_ta.h). Written only against the
// GP TEE Internal Core API and the core library, so the same source builds for
// OP-TEE and for the soft TEE.
#include "signer_ta.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "gp_api.hpp"
#include "keystore.hpp"
#include "protection_store.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"

#ifdef TS_TA_TEST_COMMANDS
#include <fcntl.h>
#include <signal.h>
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

#ifdef TS_TA_TEST_COMMANDS
bool g_crash_after_persist = false;
void crash_after_delete_commit() {
    if (g_crash_after_persist) raise(SIGKILL);
}
#endif

TEE_Result cmd_delete_key(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    auto pk = d.bytes();
    if (!key_type || !scheme || !pk || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (pk->size() != core::public_key_size(*scheme)) return TEE_ERROR_ITEM_NOT_FOUND;
#ifdef TS_TA_TEST_COMMANDS
    void (*hook)() = crash_after_delete_commit;
#else
    void (*hook)() = nullptr;
#endif
    TEE_Result rc = delete_key(KeyRef{*key_type, *scheme, std::move(pk).value()}, hook);
    if (rc != TEE_SUCCESS) return rc;
    io.out->memref.size = 0;
    return TEE_SUCCESS;
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

// ---- Signing under slashing protection ------------------------------------------

namespace prot = core::protection;

// Test builds: die after the record is committed and the signature computed,
// before anything is returned (the crash a real deployment must survive).
void crash_point(const prot::Decision& d) {
#ifdef TS_TA_TEST_COMMANDS
    if (g_crash_after_persist && d.recorded) raise(SIGKILL);
#else
    (void)d;
#endif
}

// Fail closed: a storage error (rollback, corruption, no space) stops signing.
TEE_Result protection_error(const TeeBlobStore& store, core::Error e) {
    if (store.last_error() != TEE_SUCCESS) return store.last_error();
    if (e == core::Error::invalid_encoding) return TEE_ERROR_CORRUPT_OBJECT;
    return to_tee(e);
}

// The key types under which the `scheme` key `pk` is stored, among those that
// matter to protection: the request's own, the session key types and every
// type the opaque policy names. Probed object by object (not read from the
// key index), so an unlisted key object still counts.
TEE_Result key_types_of(const KeyTypeId& requested, Scheme scheme, const Bytes& pk,
                        std::vector<prot::KeyTypeId>& out) {
    out.clear();
    TeeBlobStore store;
    prot::Protector protector(store);
    auto policy = protector.policy();
    if (!policy) return protection_error(store, policy.error());
    std::vector<prot::KeyTypeId> candidates = {requested,
                                               prot::kGrandpaKeyType,
                                               prot::kBabeKeyType,
                                               prot::kBeefyKeyType,
                                               prot::kParaKeyType,
                                               prot::kAssignmentKeyType,
                                               prot::kAuthorityDiscoveryKeyType};
    for (const auto& entry : policy->entries) candidates.push_back(entry.first);
    for (const prot::KeyTypeId& kt : candidates) {
        if (std::find(out.begin(), out.end(), kt) != out.end()) continue;
        bool exists = false;
        TEE_Result rc = key_exists(KeyRef{kt, scheme, pk}, exists);
        if (rc != TEE_SUCCESS) return rc;
        if (exists) out.push_back(kt);
    }
    return TEE_SUCCESS;
}

// How the signature of an allowed request is made.
enum class SignOp : uint8_t { message, prehashed };

// A signing request decided but not yet answered. Alone, a request's writes
// are buffered and committed, then it is answered; in a batch, every request
// is decided against buffered protection writes, the writes are committed
// once, and only then are the signatures made and released.
struct Pending {
    bool deferred = false;  // decided; the answer is made by finish()
    const core::KeyPair* pair = nullptr;
    SignOp op = SignOp::message;
    Bytes message;  // the bytes (or prehash) to sign
    core::Hash256 payload_hash{};
    prot::Decision decision;
};

// Set while a batch collects its requests (the TA runs one command at a time).
Pending* g_pending = nullptr;

TEE_Result finish(Io& io, const Pending& p) {
    const prot::Decision& d = p.decision;
    if (!d.allowed) {
        Encoder e;
        e.enum_tag(1);
        prot::encode_refusal(e, d.refusal);
        return respond(io, e.take());
    }
    // The record (if any) is committed: only now may a signature exist.
    core::Result<Bytes> sig =
        p.op == SignOp::message ? p.pair->sign(p.message) : p.pair->sign_prehashed(p.message);
    if (!sig) return to_tee(sig.error());
    crash_point(d);
    Encoder e;
    e.enum_tag(0).bytes(*sig).raw(p.payload_hash);
    return respond(io, e.take());
}

// Load the key, decide (persisting the record, or buffering it in a batch),
// then sign and reply. `decide` runs only once the key and the output buffer
// are known good, so a request that cannot be answered records nothing.
template <class Decide>
TEE_Result run_protected(Io& io, const KeyRef& ref, const core::Hash256& payload_hash,
                         Decide decide, SignOp op, ByteSpan message) {
    if (!room_for(io, TA_SIGNER_SIGN_OUTCOME_MAX)) return TEE_ERROR_SHORT_BUFFER;
    Pending local;
    Pending& p = g_pending != nullptr ? *g_pending : local;
    TEE_Result rc = load_key(ref, p.pair);
    if (rc != TEE_SUCCESS) return rc;
    TeeBlobStore store;
    prot::Protector protector(store);
    // Alone, the request's writes (a history page and its main object, a para
    // bucket and its session) still commit as one: one storage transaction,
    // one sync, and still before any signature exists.
    const bool alone = g_pending == nullptr;
    if (alone) begin_protection_batch();
    core::Result<prot::Decision> d = decide(protector);
    if (alone && !d) abort_protection_batch();
    if (!d) return protection_error(store, d.error());
    if (alone) {
        if (TEE_Result committed = commit_protection_batch(); committed != TEE_SUCCESS)
            return committed;
    }
    p.op = op;
    p.message.assign(message.begin(), message.end());
    p.payload_hash = payload_hash;
    p.decision = *d;
    if (g_pending != nullptr) {
        p.deferred = true;
        return TEE_SUCCESS;
    }
    return finish(io, p);
}

TEE_Result cmd_sign_checked(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto scheme = decode_scheme(d);
    auto pk = d.bytes();
    auto message = d.bytes_view();
    if (!key_type || !scheme || !pk || !message || d.finish() != core::Error::ok)
        return TEE_ERROR_BAD_FORMAT;
    if (pk->size() != core::public_key_size(*scheme)) return TEE_ERROR_BAD_PARAMETERS;
    std::vector<prot::KeyTypeId> types;
    TEE_Result rc = key_types_of(*key_type, *scheme, *pk, types);
    if (rc != TEE_SUCCESS) return rc;
    ByteSpan msg = *message;
    const Bytes& public_key = *pk;
    return run_protected(
        io, KeyRef{*key_type, *scheme, *pk}, core::blake2b_256(msg),
        [&](prot::Protector& p) { return p.authorize_message(public_key, types, msg); },
        SignOp::message, msg);
}

TEE_Result cmd_ecdsa_sign_prehashed_checked(Io& io) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto pk = d.array<33>();
    auto prehash = d.array<32>();
    if (!key_type || !pk || !prehash || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    Bytes public_key(pk->begin(), pk->end());
    std::vector<prot::KeyTypeId> types;
    TEE_Result rc = key_types_of(*key_type, Scheme::ecdsa, public_key, types);
    if (rc != TEE_SUCCESS) return rc;
    const core::Hash256 h = *prehash;
    return run_protected(
        io, KeyRef{*key_type, Scheme::ecdsa, public_key}, h,
        [&](prot::Protector& p) { return p.authorize_opaque(types); }, SignOp::prehashed, h);
}

// The typed requests: (key_type, public: [u8; N], payload: Vec<u8>).
template <size_t N>
bool decode_typed(Io& io, KeyTypeId& key_type, Bytes& pk, ByteSpan& payload) {
    Decoder d(io.request);
    auto kt = d.array<4>();
    auto public_key = d.array<N>();
    auto bytes = d.bytes_view();
    if (!kt || !public_key || !bytes || d.finish() != core::Error::ok) return false;
    key_type = *kt;
    pk.assign(public_key->begin(), public_key->end());
    payload = *bytes;
    return true;
}

TEE_Result cmd_sign_grandpa_vote(Io& io) {
    KeyTypeId kt{};
    Bytes pk;
    ByteSpan payload;
    if (!decode_typed<32>(io, kt, pk, payload)) return TEE_ERROR_BAD_FORMAT;
    auto vote = core::payloads::decode_grandpa_vote(payload);
    if (!vote) return TEE_ERROR_BAD_FORMAT;
    prot::Signable s;  // primary proposals: Rule::none, signed without a record
    if (auto vote_signable = prot::signable_grandpa(*vote); vote_signable.ok())
        s = std::move(vote_signable).value();
    return run_protected(
        io, KeyRef{kt, Scheme::ed25519, pk}, core::blake2b_256(payload),
        [&](prot::Protector& p) { return p.authorize(pk, s); }, SignOp::message, payload);
}

TEE_Result cmd_sign_babe_header(Io& io) {
    KeyTypeId kt{};
    Bytes pk;
    ByteSpan header;
    if (!decode_typed<32>(io, kt, pk, header)) return TEE_ERROR_BAD_FORMAT;
    auto request = core::payloads::decode_babe_seal_request(header);
    if (!request) return TEE_ERROR_BAD_FORMAT;
    const prot::Signable s = prot::signable_babe(*request);
    const core::Hash256 pre_hash = request->pre_hash;
    return run_protected(
        io, KeyRef{kt, Scheme::sr25519, pk}, pre_hash,
        [&](prot::Protector& p) { return p.authorize(pk, s); }, SignOp::message, pre_hash);
}

TEE_Result cmd_sign_beefy_commitment(Io& io) {
    KeyTypeId kt{};
    Bytes pk;
    ByteSpan commitment;
    if (!decode_typed<33>(io, kt, pk, commitment)) return TEE_ERROR_BAD_FORMAT;
    auto decoded = core::payloads::decode_beefy_commitment(commitment);
    if (!decoded) return TEE_ERROR_BAD_FORMAT;
    const core::Hash256 prehash = core::payloads::beefy_prehash(commitment);
    const prot::Signable s = prot::signable_beefy(*decoded, prehash);
    return run_protected(
        io, KeyRef{kt, Scheme::ecdsa, pk}, prehash,
        [&](prot::Protector& p) { return p.authorize(pk, s); }, SignOp::prehashed, prehash);
}

TEE_Result cmd_sign_para_statement(Io& io) {
    KeyTypeId kt{};
    Bytes pk;
    ByteSpan payload;
    if (!decode_typed<32>(io, kt, pk, payload)) return TEE_ERROR_BAD_FORMAT;
    auto statement = core::payloads::decode_para_statement(payload);
    if (!statement) return TEE_ERROR_BAD_FORMAT;
    const prot::Signable s = prot::signable_para(*statement, payload);
    return run_protected(
        io, KeyRef{kt, Scheme::sr25519, pk}, s.payload_hash,
        [&](prot::Protector& p) { return p.authorize(pk, s); }, SignOp::message, payload);
}

// ---- Protection state: export, import, policy ---------------------------------------

TEE_Result cmd_export_protection(Io& io) {
    Decoder d(io.request);
    auto cursor = d.u64();
    auto max_bytes = d.u32();
    if (!cursor || !max_bytes || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    size_t cap = TA_SIGNER_EXPORT_PAGE_MAX;
    size_t limit = *max_bytes == 0 || *max_bytes > cap ? cap : *max_bytes;
    TeeBlobStore store;
    prot::Protector protector(store);
    auto page = protector.export_page(*cursor, limit);
    if (!page) return protection_error(store, page.error());
    Encoder e;
    e.bytes(page->document);
    e.option(page->next, [](Encoder& enc, uint64_t next) { enc.u64(next); });
    return respond(io, e.take());
}

TEE_Result cmd_import_protection(Io& io) {
    Decoder d(io.request);
    auto document = d.bytes_view();
    if (!document || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (document->size() > TA_SIGNER_IMPORT_MAX) return TEE_ERROR_EXCESS_DATA;
    if (!prot::decode_document(*document)) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, 16)) return TEE_ERROR_SHORT_BUFFER;
    TeeBlobStore store;
    prot::Protector protector(store);
    auto report = protector.import(*document);
    if (!report) return protection_error(store, report.error());
    Encoder e;
    e.u32(report->items)
        .u32(report->records_added)
        .u32(report->records_conflicting)
        .u32(report->watermarks_raised);
    return respond(io, e.take());
}

TEE_Result cmd_get_protection_policy(Io& io) {
    if (!io.request.empty()) return TEE_ERROR_BAD_FORMAT;
    TeeBlobStore store;
    prot::Protector protector(store);
    auto policy = protector.policy();
    if (!policy) return protection_error(store, policy.error());
    std::vector<std::pair<prot::KeyTypeId, bool>> listed;
    for (const prot::KeyTypeId& kt :
         {prot::kGrandpaKeyType, prot::kBabeKeyType, prot::kBeefyKeyType, prot::kParaKeyType,
          prot::kAssignmentKeyType, prot::kAuthorityDiscoveryKeyType})
        listed.emplace_back(kt, policy->allows(kt));
    for (const auto& entry : policy->entries) {
        bool seen = false;
        for (const auto& l : listed) seen = seen || l.first == entry.first;
        if (!seen) listed.push_back(entry);
    }
    Encoder e;
    e.vec(listed, [](Encoder& enc, const std::pair<prot::KeyTypeId, bool>& entry) {
        enc.raw(entry.first).boolean(entry.second);
    });
    return respond(io, e.take());
}

TEE_Result cmd_set_protection_policy(Io& io) {
    Decoder d(io.request);
    using Entry = std::pair<prot::KeyTypeId, bool>;
    auto entries = d.vec<Entry>(
        [](Decoder& dec) -> core::Result<Entry> {
            auto kt = dec.array<4>();
            auto allow = dec.boolean();
            if (!kt || !allow) return core::Error::invalid_encoding;
            return Entry{*kt, *allow};
        },
        5);
    if (!entries || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (entries->size() > TA_SIGNER_POLICY_MAX) return TEE_ERROR_BAD_PARAMETERS;
    prot::OpaquePolicy policy;
    for (const Entry& entry : *entries) policy.set(entry.first, entry.second);
    TeeBlobStore store;
    prot::Protector protector(store);
    core::Error e = protector.set_policy(policy);
    if (e != core::Error::ok) return protection_error(store, e);
    io.out->memref.size = 0;
    return TEE_SUCCESS;
}

// VRF_SIGN and VRF_SIGN_HASHED (signer_ta.h): the input as a transcript, or
// as the 64-byte hash schnorrkel maps to the input point.
enum class VrfInput { transcript, hashed };

TEE_Result cmd_vrf_sign(Io& io, VrfInput form) {
    Decoder d(io.request);
    auto key_type = d.array<4>();
    auto pk = d.array<32>();
    if (!key_type || !pk) return TEE_ERROR_BAD_FORMAT;
    std::optional<core::Transcript> input;
    std::optional<core::sr25519::VrfInputHash> input_hash;
    if (form == VrfInput::transcript) {
        input = core::sr25519::decode_vrf_transcript(d);
        if (!input) return TEE_ERROR_BAD_FORMAT;
    } else {
        auto h = d.array<TA_SIGNER_VRF_INPUT_HASH_SIZE>();
        if (!h) return TEE_ERROR_BAD_FORMAT;
        input_hash = *h;
    }
    auto has_extra = d.option_tag();
    if (!has_extra) return TEE_ERROR_BAD_FORMAT;
    std::optional<core::Transcript> extra;
    if (*has_extra) {
        extra = core::sr25519::decode_vrf_transcript(d);
        if (!extra) return TEE_ERROR_BAD_FORMAT;
    }
    if (d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (!room_for(io, 96)) return TEE_ERROR_SHORT_BUFFER;
    const core::KeyPair* pair = nullptr;
    TEE_Result rc =
        load_key(KeyRef{*key_type, Scheme::sr25519, Bytes(pk->begin(), pk->end())}, pair);
    if (rc != TEE_SUCCESS) return rc;
    const core::sr25519::KeyPair* kp = pair->as_sr25519();
    if (kp == nullptr) return TEE_ERROR_GENERIC;
    if (input_hash) {
        // A hash that maps to the identity point (all zeros does) gives a
        // pre-output no verifier accepts: refuse it rather than sign garbage.
        const core::ByteArray<32> point = core::sr25519::vrf_input_point_from_hash(*input_hash);
        if (std::all_of(point.begin(), point.end(), [](uint8_t b) { return b == 0; }))
            return TEE_ERROR_BAD_PARAMETERS;
    }
    core::Transcript extra_or_default = extra ? *extra : core::sr25519::vrf_default_extra();
    core::sr25519::VrfSignature sig =
        input ? core::sr25519::vrf_sign(*kp, *input, extra_or_default)
              : core::sr25519::vrf_sign_hashed(*kp, *input_hash, extra_or_default);
    Encoder out;
    out.raw(sig.pre_output).raw(sig.proof);
    return respond(io, out.take());
}

// ATTEST's statement and signature for `nonce` (signer_ta.h), and the
// report_data it binds.
TEE_Result attest_statement(Io& io, Encoder& out, core::Hash256& report_data) {
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
    report_data = core::blake2b_256(bound);

    Encoder statement;
    statement.str(TA_SIGNER_ATTEST_LABEL).bytes(*nonce);
    statement.vec(index, [](Encoder& enc, const KeyRef& k) {
        enc.raw(k.key_type).u8(static_cast<uint8_t>(k.scheme)).bytes(k.public_key);
    });
    statement.raw(report_data).raw(attest->public_key());
    auto sig = attest->sign(statement.bytes());
    if (!sig) return to_tee(sig.error());
    out.bytes(statement.bytes()).raw(*sig);
    return TEE_SUCCESS;
}

TEE_Result cmd_attest(Io& io) {
    Encoder out;
    core::Hash256 report_data{};
    TEE_Result rc = attest_statement(io, out, report_data);
    if (rc != TEE_SUCCESS) return rc;
    return respond(io, out.take());
}

// ---- OP-TEE's attestation pseudo-TA (ATTEST_TEE, signer_ta.h) ---------------
// Its interface as OP-TEE documents it (lib/libutee/include/pta_attestation.h):
// command ids, parameter layouts, and the signed output "digest (32 bytes) ++
// RSASSA-PSS signature" over SHA-256(nonce ++ digest).
constexpr uint32_t kPtaGetPubkey = 0x0;
constexpr uint32_t kPtaGetTaShdrDigest = 0x1;
constexpr uint32_t kPtaHashTaMemory = 0x2;
constexpr size_t kPtaMaxModulus = 4096 / 8;  // the PTA's largest key

class AttestationPta {
  public:
    AttestationPta() = default;
    AttestationPta(const AttestationPta&) = delete;
    AttestationPta& operator=(const AttestationPta&) = delete;
    ~AttestationPta() {
        if (open_) TEE_CloseTASession(session_);
    }

    // TA_SIGNER_ERROR_NO_TEE_ATTESTATION when the TEE has no such PTA.
    TEE_Result open() {
        const TEE_UUID uuid = TA_SIGNER_OPTEE_ATTESTATION_PTA_UUID;
        TEE_Param params[4]{};
        uint32_t origin = 0;
        TEE_Result rc =
            TEE_OpenTASession(&uuid, TEE_TIMEOUT_INFINITE, 0, params, &session_, &origin);
        if (rc == TEE_ERROR_ITEM_NOT_FOUND || rc == TEE_ERROR_NOT_SUPPORTED)
            return TA_SIGNER_ERROR_NO_TEE_ATTESTATION;
        if (rc == TEE_SUCCESS) open_ = true;
        return rc;
    }

    TEE_Result public_key(uint32_t& algorithm, Bytes& exponent, Bytes& modulus) {
        exponent.assign(16, 0);
        modulus.assign(kPtaMaxModulus, 0);
        TEE_Param params[4]{};
        params[0].memref.buffer = exponent.data();
        params[0].memref.size = exponent.size();
        params[1].memref.buffer = modulus.data();
        params[1].memref.size = modulus.size();
        TEE_Result rc =
            invoke(kPtaGetPubkey,
                   TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_OUTPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                   TEE_PARAM_TYPE_VALUE_OUTPUT, TEE_PARAM_TYPE_NONE),
                   params);
        if (rc != TEE_SUCCESS) return rc;
        if (params[0].memref.size > exponent.size() || params[1].memref.size > modulus.size())
            return TEE_ERROR_GENERIC;
        exponent.resize(params[0].memref.size);
        modulus.resize(params[1].memref.size);
        algorithm = params[2].value.a;
        return TEE_SUCCESS;
    }

    // The caller's (this TA's) read-only memory, signed with `nonce`.
    TEE_Result hash_own_memory(const core::Hash256& nonce, core::Hash256& digest,
                               Bytes& signature) {
        Bytes out(32 + kPtaMaxModulus);
        TEE_Param params[4]{};
        params[0].memref.buffer = const_cast<uint8_t*>(nonce.data());
        params[0].memref.size = nonce.size();
        params[1].memref.buffer = out.data();
        params[1].memref.size = out.size();
        TEE_Result rc =
            invoke(kPtaHashTaMemory,
                   TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                   TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE),
                   params);
        if (rc != TEE_SUCCESS) return rc;
        return split(out, params[1].memref.size, digest, signature);
    }

    // The signed-header digest of the installed TA binary `uuid`, signed with `nonce`.
    TEE_Result header_digest(const TEE_UUID& uuid, const core::Hash256& nonce,
                             core::Hash256& digest, Bytes& signature) {
        Bytes out(32 + kPtaMaxModulus);
        TEE_UUID id = uuid;
        TEE_Param params[4]{};
        params[0].memref.buffer = &id;
        params[0].memref.size = sizeof id;
        params[1].memref.buffer = const_cast<uint8_t*>(nonce.data());
        params[1].memref.size = nonce.size();
        params[2].memref.buffer = out.data();
        params[2].memref.size = out.size();
        TEE_Result rc =
            invoke(kPtaGetTaShdrDigest,
                   TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_INPUT,
                                   TEE_PARAM_TYPE_MEMREF_OUTPUT, TEE_PARAM_TYPE_NONE),
                   params);
        if (rc != TEE_SUCCESS) return rc;
        return split(out, params[2].memref.size, digest, signature);
    }

  private:
    TEE_Result invoke(uint32_t command, uint32_t types, TEE_Param* params) {
        uint32_t origin = 0;
        return TEE_InvokeTACommand(session_, TEE_TIMEOUT_INFINITE, command, types, params, &origin);
    }
    static TEE_Result split(const Bytes& out, size_t size, core::Hash256& digest,
                            Bytes& signature) {
        if (size <= 32 || size > out.size()) return TEE_ERROR_GENERIC;
        std::copy_n(out.begin(), 32, digest.begin());
        signature.assign(out.begin() + 32, out.begin() + static_cast<std::ptrdiff_t>(size));
        return TEE_SUCCESS;
    }

    TEE_TASessionHandle session_{};
    bool open_ = false;
};

TEE_Result cmd_attest_tee(Io& io) {
    AttestationPta pta;
    TEE_Result rc = pta.open();
    if (rc != TEE_SUCCESS) return rc;
    Encoder out;
    core::Hash256 report_data{};
    rc = attest_statement(io, out, report_data);
    if (rc != TEE_SUCCESS) return rc;
    uint32_t algorithm = 0;
    Bytes exponent, modulus, memory_signature, header_signature;
    core::Hash256 memory_digest{}, header_digest{};
    rc = pta.public_key(algorithm, exponent, modulus);
    if (rc == TEE_SUCCESS) rc = pta.hash_own_memory(report_data, memory_digest, memory_signature);
    const TEE_UUID self = TA_SIGNER_UUID;
    if (rc == TEE_SUCCESS)
        rc = pta.header_digest(self, report_data, header_digest, header_signature);
    if (rc != TEE_SUCCESS) return rc;
    out.u32(algorithm).bytes(exponent).bytes(modulus);
    out.raw(memory_digest).bytes(memory_signature);
    out.raw(header_digest).bytes(header_signature);
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

TEE_Result cmd_test_crash_after_persist(Io& io) {
    if (!io.request.empty()) return TEE_ERROR_BAD_FORMAT;
    g_crash_after_persist = true;
    io.out->memref.size = 0;
    return TEE_SUCCESS;
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

TEE_Result cmd_sign_batch(Io& io);

TEE_Result dispatch(uint32_t command, Io& io) {
    switch (command) {
        case TA_SIGNER_CMD_GENERATE_KEY:
            return cmd_generate_key(io);
        case TA_SIGNER_CMD_GENERATE_SESSION_KEYS:
            return cmd_generate_session_keys(io);
        case TA_SIGNER_CMD_LIST_PUBLIC_KEYS:
            return cmd_list_public_keys(io);
        case TA_SIGNER_CMD_HAS_KEYS:
            return cmd_has_keys(io);
        case TA_SIGNER_CMD_DELETE_KEY:
            return cmd_delete_key(io);
        case TA_SIGNER_CMD_SIGN_CHECKED:
            return cmd_sign_checked(io);
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED:
            return cmd_ecdsa_sign_prehashed_checked(io);
        case TA_SIGNER_CMD_SIGN_GRANDPA_VOTE:
            return cmd_sign_grandpa_vote(io);
        case TA_SIGNER_CMD_SIGN_BABE_HEADER:
            return cmd_sign_babe_header(io);
        case TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT:
            return cmd_sign_beefy_commitment(io);
        case TA_SIGNER_CMD_SIGN_PARA_STATEMENT:
            return cmd_sign_para_statement(io);
        case TA_SIGNER_CMD_EXPORT_PROTECTION:
            return cmd_export_protection(io);
        case TA_SIGNER_CMD_IMPORT_PROTECTION:
            return cmd_import_protection(io);
        case TA_SIGNER_CMD_GET_PROTECTION_POLICY:
            return cmd_get_protection_policy(io);
        case TA_SIGNER_CMD_SET_PROTECTION_POLICY:
            return cmd_set_protection_policy(io);
        case TA_SIGNER_CMD_VRF_SIGN:
            return cmd_vrf_sign(io, VrfInput::transcript);
        case TA_SIGNER_CMD_VRF_SIGN_HASHED:
            return cmd_vrf_sign(io, VrfInput::hashed);
        case TA_SIGNER_CMD_ATTEST:
            return cmd_attest(io);
        case TA_SIGNER_CMD_ATTEST_TEE:
            return cmd_attest_tee(io);
        case TA_SIGNER_CMD_IMPORT_SURI:
            return cmd_import_suri(io);
        case TA_SIGNER_CMD_SIGN_BATCH:
            return cmd_sign_batch(io);
#ifdef TS_TA_TEST_COMMANDS
        case TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL:
            return cmd_test_forbidden_syscall();
        case TA_SIGNER_CMD_TEST_SPIN:
            return cmd_test_spin(io);
        case TA_SIGNER_CMD_TEST_OPEN_RELATIVE:
            return cmd_test_open_relative(io);
        case TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST:
            return cmd_test_crash_after_persist(io);
#endif
        default:
            return TEE_ERROR_NOT_SUPPORTED;
    }
}

bool batchable(uint32_t command) {
    switch (command) {
        case TA_SIGNER_CMD_SIGN_CHECKED:
        case TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED:
        case TA_SIGNER_CMD_SIGN_GRANDPA_VOTE:
        case TA_SIGNER_CMD_SIGN_BABE_HEADER:
        case TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT:
        case TA_SIGNER_CMD_SIGN_PARA_STATEMENT:
        case TA_SIGNER_CMD_VRF_SIGN:
        case TA_SIGNER_CMD_VRF_SIGN_HASHED:
            return true;
        default:
            return false;
    }
}

// SIGN_BATCH (signer_ta.h): decide every item against buffered protection
// writes, commit them once, then sign and answer each.
TEE_Result cmd_sign_batch(Io& io) {
    Decoder d(io.request);
    struct Item {
        uint32_t command = 0;
        ByteSpan request;
    };
    auto items = d.vec<Item>(
        [](Decoder& dec) -> core::Result<Item> {
            auto command = dec.u32();
            if (!command) return command.error();
            auto request = dec.bytes_view();
            if (!request) return request.error();
            return Item{*command, *request};
        },
        5);
    if (!items || d.finish() != core::Error::ok) return TEE_ERROR_BAD_FORMAT;
    if (items->empty() || items->size() > TA_SIGNER_BATCH_MAX) return TEE_ERROR_BAD_PARAMETERS;
    if (!room_for(io, TA_SIGNER_BATCH_OUT_MAX(items->size()))) return TEE_ERROR_SHORT_BUFFER;

    struct Slot {
        TEE_Result result = TEE_SUCCESS;
        Bytes out;
        Pending pending;
    };
    std::vector<Slot> slots(items->size());
    auto run = [](Slot& slot, auto&& body) {
        slot.out.assign(TA_SIGNER_SIGN_OUTCOME_MAX, 0);
        TEE_Param param{};
        param.memref.buffer = slot.out.data();
        param.memref.size = slot.out.size();
        Io sub;
        sub.out = &param;
        slot.result = body(sub);
        slot.out.resize(slot.result == TEE_SUCCESS ? param.memref.size : 0);
    };
    begin_protection_batch();
    for (size_t i = 0; i < items->size(); ++i) {
        const Item& item = (*items)[i];
        Slot& slot = slots[i];
        if (!batchable(item.command)) {
            slot.result = TEE_ERROR_NOT_SUPPORTED;
            continue;
        }
        g_pending = &slot.pending;
        run(slot, [&](Io& sub) {
            sub.request = item.request;
            return dispatch(item.command, sub);
        });
        g_pending = nullptr;
    }
    // Persistence before release: nothing is signed unless this succeeds.
    TEE_Result rc = commit_protection_batch();
    if (rc != TEE_SUCCESS) return rc;
    Encoder e;
    e.compact(items->size());
    for (Slot& slot : slots) {
        if (slot.pending.deferred) run(slot, [&](Io& sub) { return finish(sub, slot.pending); });
        e.u32(slot.result).bytes(slot.out);
    }
    return respond(io, e.take());
}

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

    keystore_trim_caches();
    protection_store_new_command();
    return dispatch(commandID, io);
}

}  // extern "C"
