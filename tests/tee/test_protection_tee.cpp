// Slashing protection through the signer TA in the soft TEE (real TA
// processes, sealed storage): every rule on its typed command and, for GRANDPA
// and parachain payloads, on sp-keystore raw signing; each still refused after
// a TA restart, after kill -9 between persisting the record and replying (the
// test TA's crash hook), and after export/import into a fresh storage.
#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "softtee_harness.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/payloads.hpp"

namespace {

using namespace softtee_test;
using namespace teesigner::core::payloads;
using teesigner::core::blake2b_256;
using teesigner::core::Hash256;

constexpr uint8_t kConflict = 1, kBelowWatermark = 2, kOpaqueRefused = 3;

Bytes vote(GrandpaMessageKind kind, uint8_t target, uint64_t round, uint64_t set_id = 2) {
    return encode_grandpa_vote({kind, filled(target, 1), 1234, round, set_id});
}

Bytes statement(ParaStatementKind kind, uint32_t session, std::vector<Hash256> candidates) {
    ParaStatement s{kind, session, std::move(candidates), {}};
    if (kind == ParaStatementKind::backing_seconded || kind == ParaStatementKind::backing_valid)
        s.parent_hash = filled(0x99, 1);
    auto out = encode_para_statement(s);
    EXPECT_TRUE(out.ok());
    return out.ok() ? *out : Bytes{};
}

Bytes import_suri(Tee& tee, const char* key_type, Scheme scheme, const char* suri) {
    Encoder e;
    e.raw(teesigner::core::as_bytes(std::string(key_type, 4)))
        .u8(static_cast<uint8_t>(scheme))
        .str(suri);
    return tee.call_ok(TA_SIGNER_CMD_IMPORT_SURI, e.take());
}

struct Case {
    const char* name;
    const char* key_type;
    Scheme scheme;
    const char* suri;
    uint32_t command;  // a typed command, or SIGN_CHECKED for sp-keystore raw bytes
    Bytes first;
    Bytes conflicting;
    uint8_t rule;
};

std::vector<Case> cases() {
    using K = ParaStatementKind;
    const Hash256 c = filled(0x42, 3);
    return {
        {"grandpa prevote (typed)", "gran", Scheme::ed25519, "//Alice",
         TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, vote(GrandpaMessageKind::prevote, 1, 7),
         vote(GrandpaMessageKind::prevote, 2, 7), 1},
        {"grandpa precommit (keystore_sign)", "gran", Scheme::ed25519, "//Bob",
         TA_SIGNER_CMD_SIGN_CHECKED, vote(GrandpaMessageKind::precommit, 1, 7),
         vote(GrandpaMessageKind::precommit, 3, 7), 1},
        {"babe header", "babe", Scheme::sr25519, "//Alice", TA_SIGNER_CMD_SIGN_BABE_HEADER,
         babe_header(5000, 1), babe_header(5000, 2), 2},
        {"beefy commitment", "beef", Scheme::ecdsa, "//Alice", TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT,
         beefy_commitment(3, 800, 1), beefy_commitment(3, 800, 2), 3},
        {"para approval vs dispute (typed)", "para", Scheme::sr25519, "//Alice",
         TA_SIGNER_CMD_SIGN_PARA_STATEMENT, statement(K::approval, 11, {c}),
         statement(K::dispute_invalid, 11, {c}), 4},
        {"para dispute vs backing (keystore_sign)", "para", Scheme::sr25519, "//Bob",
         TA_SIGNER_CMD_SIGN_CHECKED, statement(K::dispute_invalid, 11, {c}),
         statement(K::backing_seconded, 11, {c}), 4},
    };
}

Bytes request_for(const Case& tc, const Bytes& pk, const Bytes& payload) {
    if (tc.command == TA_SIGNER_CMD_SIGN_CHECKED)
        return sign_request(tc.key_type, tc.scheme, pk, payload);
    return typed_request(tc.key_type, pk, payload);
}

// What the TA signs for `payload` and names as its payload hash.
Hash256 signed_hash(const Case& tc, const Bytes& payload) {
    if (tc.command == TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT) return beefy_prehash(payload);
    return blake2b_256(payload);
}

void expect_valid_signature(const Case& tc, const Bytes& pk, const Bytes& payload,
                            const Outcome& o) {
    using teesigner::core::Error;
    ASSERT_TRUE(o.ok && o.signed_) << tc.name;
    EXPECT_EQ(o.payload_hash, signed_hash(tc, payload)) << tc.name;
    if (tc.command == TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT) {
        EXPECT_EQ(
            teesigner::core::verify_prehashed(teesigner::core::SignatureBytes(o.signature),
                                              o.payload_hash, teesigner::core::PublicKeyBytes(pk)),
            Error::ok);
    } else if (tc.command == TA_SIGNER_CMD_SIGN_BABE_HEADER) {
        // The BABE seal signs the 32-byte pre-hash.
        EXPECT_EQ(teesigner::core::verify(tc.scheme, teesigner::core::SignatureBytes(o.signature),
                                          o.payload_hash, teesigner::core::PublicKeyBytes(pk)),
                  Error::ok);
    } else {
        EXPECT_EQ(teesigner::core::verify(tc.scheme, teesigner::core::SignatureBytes(o.signature),
                                          payload, teesigner::core::PublicKeyBytes(pk)),
                  Error::ok);
    }
}

Outcome sign(Tee& tee, const Case& tc, const Bytes& pk, const Bytes& payload) {
    return decode_outcome(tee.call_ok(tc.command, request_for(tc, pk, payload)));
}

void expect_conflict(Tee& tee, const Case& tc, const Bytes& pk) {
    Outcome o = sign(tee, tc, pk, tc.conflicting);
    ASSERT_TRUE(o.ok) << tc.name;
    EXPECT_FALSE(o.signed_) << tc.name;
    EXPECT_EQ(o.reason, kConflict) << tc.name;
    EXPECT_EQ(o.rule, tc.rule) << tc.name;
    EXPECT_EQ(o.earlier_payload_hash, signed_hash(tc, tc.first)) << tc.name;
}

// Every page of the TA's protection export.
std::vector<Bytes> export_pages(Tee& tee, uint32_t max_bytes = 0) {
    std::vector<Bytes> pages;
    uint64_t cursor = 0;
    for (int guard = 0; guard < 10000; ++guard) {
        Bytes raw = tee.call_ok(TA_SIGNER_CMD_EXPORT_PROTECTION,
                                Encoder().u64(cursor).u32(max_bytes).take());
        Decoder d(raw);
        auto doc = d.bytes();
        auto has_next = d.option_tag();
        EXPECT_TRUE(doc.ok() && has_next.ok());
        if (!doc.ok() || !has_next.ok()) break;
        pages.push_back(*doc);
        if (!*has_next) break;
        auto next = d.u64();
        EXPECT_TRUE(next.ok());
        cursor = *next;
    }
    return pages;
}

TEST(ProtectionTee, EveryRuleSurvivesRestartCrashAndMigration) {
    for (const Case& tc : cases()) {
        SCOPED_TRACE(tc.name);
        TempDir dir;
        Tee tee(dir);
        tee.start();
        Bytes pk = import_suri(tee, tc.key_type, tc.scheme, tc.suri);

        // Signed, re-signed identically, conflict refused.
        Outcome first = sign(tee, tc, pk, tc.first);
        expect_valid_signature(tc, pk, tc.first, first);
        expect_valid_signature(tc, pk, tc.first, sign(tee, tc, pk, tc.first));
        expect_conflict(tee, tc, pk);

        // Still refused after the TA restarts.
        tee.finalize();
        tee.start();
        expect_conflict(tee, tc, pk);
        expect_valid_signature(tc, pk, tc.first, sign(tee, tc, pk, tc.first));

        // Export now, for the migration below.
        std::vector<Bytes> pages = export_pages(tee);
        ASSERT_FALSE(pages.empty());

        // Migration: a fresh storage with the same keys, then the import.
        TempDir fresh;
        Tee other(fresh);
        other.start();
        ASSERT_EQ(import_suri(other, tc.key_type, tc.scheme, tc.suri), pk);
        for (const Bytes& page : pages) {
            Bytes report =
                other.call_ok(TA_SIGNER_CMD_IMPORT_PROTECTION, Encoder().bytes(page).take());
            ASSERT_EQ(report.size(), 16u);
        }
        expect_conflict(other, tc, pk);
        expect_valid_signature(tc, pk, tc.first, sign(other, tc, pk, tc.first));
    }
}

// A new parachain session pushes the oldest one out of the kept history
// (8 sessions): all of its buckets (one object per first byte of the candidate
// hash) go in one request, removed together with one checkpoint of the soft
// TEE's storage, not one each (which stopped signing for more than a second
// at a real session change). The removal holds across a restart.
TEST(ProtectionTee, APrunedSessionsBucketsAreRemovedTogether) {
    using K = ParaStatementKind;
    TempDir dir;
    Tee tee(dir);
    tee.start();
    const Case para{
        "para", "para", Scheme::sr25519, "//Alice", TA_SIGNER_CMD_SIGN_PARA_STATEMENT, {}, {}, 4};
    const Bytes pk = import_suri(tee, "para", Scheme::sr25519, "//Alice");
    auto object_files = [&] {
        size_t n = 0;
        for (const auto& entry : fs::directory_iterator(dir.storage()))
            n += entry.path().filename().string()[0] == 'o';
        return n;
    };
    constexpr uint8_t kBuckets = 20;
    for (uint8_t b = 0; b < kBuckets; ++b)
        expect_valid_signature(para, pk, statement(K::approval, 1, {filled(b, 3)}),
                               sign(tee, para, pk, statement(K::approval, 1, {filled(b, 3)})));
    for (uint32_t session = 2; session <= 8; ++session)
        ASSERT_TRUE(
            sign(tee, para, pk, statement(K::approval, session, {filled(0xee, 1)})).signed_);
    tee.finalize();  // every object in its file
    tee.start();
    const size_t before = object_files();

    ASSERT_TRUE(sign(tee, para, pk, statement(K::approval, 9, {filled(0xee, 1)})).signed_);
    // Session 1's buckets are gone; session 9's bucket is new (the removal's
    // checkpoint wrote its file).
    EXPECT_EQ(object_files(), before - kBuckets + 1);
    std::string log(reinterpret_cast<const char*>(slurp(dir.log()).data()),
                    slurp(dir.log()).size());
    EXPECT_NE(log.find("removed " + std::to_string(kBuckets) + " objects in one checkpoint"),
              std::string::npos)
        << log;
    for (int restart = 0; restart < 2; ++restart) {
        Outcome o = sign(tee, para, pk, statement(K::dispute_invalid, 1, {filled(3, 3)}));
        ASSERT_TRUE(o.ok);
        EXPECT_FALSE(o.signed_);
        EXPECT_EQ(o.reason, kBelowWatermark);
        EXPECT_TRUE(sign(tee, para, pk, statement(K::approval, 9, {filled(0xee, 1)})).signed_);
        EXPECT_EQ(sign(tee, para, pk, statement(K::dispute_invalid, 2, {filled(0xee, 1)})).reason,
                  kConflict);
        tee.finalize();
        tee.start();
    }
    EXPECT_EQ(object_files(), before - kBuckets + 1);
}

// The TA dies after committing the record and computing the signature, before
// replying: the caller never got the signature, and after the restart the
// conflicting payload is refused while the identical one is signed.
TEST(ProtectionTee, KillMinusNineBetweenPersistAndReply) {
    for (const Case& tc : cases()) {
        SCOPED_TRACE(tc.name);
        TempDir dir;
        Tee tee(dir);
        tee.start();
        Bytes pk = import_suri(tee, tc.key_type, tc.scheme, tc.suri);
        tee.call_ok(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {});
        Bytes out;
        EXPECT_EQ(tee.call(tc.command, request_for(tc, pk, tc.first), out), TEEC_ERROR_TARGET_DEAD);
        EXPECT_NE(tee.last_error().find("SIGKILL"), std::string::npos) << tee.last_error();
        tee.reopen();
        EXPECT_EQ(tee.starts(), 2u);
        expect_conflict(tee, tc, pk);
        expect_valid_signature(tc, pk, tc.first, sign(tee, tc, pk, tc.first));
    }
}

TEST(ProtectionTee, ReleaseTaHasNoCrashHook) {
    TempDir dir;
    Tee tee(dir, TS_SOFTTEE_RELEASE_TA);
    tee.start();
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {}, out), TEEC_ERROR_NOT_SUPPORTED);
    // Protection itself is in the release TA: a generated key, two GRANDPA votes.
    Bytes pk = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
    Outcome a = decode_outcome(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                    typed_request("gran", pk, vote(GrandpaMessageKind::precommit, 1, 3))));
    EXPECT_TRUE(a.ok && a.signed_);
    Outcome b = decode_outcome(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                    typed_request("gran", pk, vote(GrandpaMessageKind::precommit, 2, 3))));
    EXPECT_TRUE(b.ok && !b.signed_);
}

TEST(ProtectionTee, RawSigningIsProtectedByKeyType) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes gran = import_suri(tee, "gran", Scheme::ed25519, "//Alice");
    Bytes para_pk = import_suri(tee, "para", Scheme::sr25519, "//Alice");
    Bytes beef = import_suri(tee, "beef", Scheme::ecdsa, "//Alice");
    Bytes audi = import_suri(tee, "audi", Scheme::sr25519, "//Alice");
    // sp-keystore sign of a GRANDPA vote: protected.
    Bytes a = vote(GrandpaMessageKind::prevote, 1, 9);
    Outcome o = sign_checked(tee, "gran", Scheme::ed25519, gran, a);
    ASSERT_TRUE(o.signed_);
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519, teesigner::core::SignatureBytes(o.signature),
                                      a, teesigner::core::PublicKeyBytes(gran)),
              teesigner::core::Error::ok);
    o = sign_checked(tee, "gran", Scheme::ed25519, gran, vote(GrandpaMessageKind::prevote, 2, 9));
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, kConflict);
    // Para: a statement magic that does not decode is refused, not opaque.
    Bytes bad = statement(ParaStatementKind::approval, 1, {filled(1)});
    bad.push_back(0);
    o = sign_checked(tee, "para", Scheme::sr25519, para_pk, bad);
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, 4);  // malformed
    // Para's other payloads (availability bitfields, PVF checks) are opaque: allowed.
    Bytes bitfield = {0x10, 0xff, 0x01};
    EXPECT_TRUE(sign_checked(tee, "para", Scheme::sr25519, para_pk, bitfield).signed_);
    // Opaque prehash for beef: the policy refuses it.
    Encoder pre;
    pre.raw(teesigner::core::as_bytes("beef")).raw(beef).raw(Bytes(32, 1));
    o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED, pre.bytes()));
    ASSERT_TRUE(o.ok && !o.signed_);
    EXPECT_EQ(o.reason, kOpaqueRefused);
    EXPECT_EQ(o.key_type, (teesigner::core::ByteArray<4>{'b', 'e', 'e', 'f'}));
    // Authority discovery signs arbitrary records.
    EXPECT_TRUE(sign_checked(tee, "audi", Scheme::sr25519, audi, Bytes(100, 7)).signed_);
}

TEST(ProtectionTee, AKeyStoredUnderTwoLabelsIsProtectedUnderBoth) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes gran = import_suri(tee, "gran", Scheme::ed25519, "//Alice");
    ASSERT_EQ(import_suri(tee, "test", Scheme::ed25519, "//Alice"), gran);
    Outcome o = decode_outcome(tee.call_ok(
        TA_SIGNER_CMD_SIGN_CHECKED,
        sign_request("gran", Scheme::ed25519, gran, vote(GrandpaMessageKind::precommit, 1, 4))));
    ASSERT_TRUE(o.ok && o.signed_);
    // The same key under the "test" label: still a GRANDPA key.
    o = decode_outcome(tee.call_ok(
        TA_SIGNER_CMD_SIGN_CHECKED,
        sign_request("test", Scheme::ed25519, gran, vote(GrandpaMessageKind::precommit, 2, 4))));
    ASSERT_TRUE(o.ok);
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, kConflict);
    // And opaque bytes under "test" get gran's (strictest) policy.
    o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_CHECKED,
                                   sign_request("test", Scheme::ed25519, gran, Bytes(32, 3))));
    ASSERT_TRUE(o.ok);
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, kOpaqueRefused);
    // The typed command also keys protection by public key, not label.
    o = decode_outcome(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                    typed_request("test", gran, vote(GrandpaMessageKind::precommit, 3, 4))));
    ASSERT_TRUE(o.ok);
    EXPECT_FALSE(o.signed_);
}

TEST(ProtectionTee, OpaquePolicyIsStoredAndChangeable) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes babe = import_suri(tee, "babe", Scheme::sr25519, "//Alice");
    auto policy = [&] {
        std::vector<std::pair<std::string, bool>> out;
        Bytes raw = tee.call_ok(TA_SIGNER_CMD_GET_PROTECTION_POLICY, {});
        Decoder d(raw);
        auto n = d.compact_u32();
        EXPECT_TRUE(n.ok());
        for (uint32_t i = 0; n.ok() && i < *n; ++i) {
            auto kt = d.array<4>();
            auto allow = d.boolean();
            EXPECT_TRUE(kt.ok() && allow.ok());
            out.emplace_back(std::string(kt->begin(), kt->end()), *allow);
        }
        EXPECT_EQ(d.finish(), teesigner::core::Error::ok);
        return out;
    };
    using P = std::vector<std::pair<std::string, bool>>;
    EXPECT_EQ(policy(), (P{{"gran", false},
                           {"babe", false},
                           {"beef", false},
                           {"para", true},
                           {"asgn", true},
                           {"audi", true}}));
    Bytes prehash(32, 0x77);
    Bytes out;
    EXPECT_EQ(sign_checked(tee, "babe", Scheme::sr25519, babe, prehash).reason, kOpaqueRefused);
    Encoder set;
    set.compact(2).raw(teesigner::core::as_bytes("babe")).u8(1);
    set.raw(teesigner::core::as_bytes("xyzw")).u8(0);
    tee.call_ok(TA_SIGNER_CMD_SET_PROTECTION_POLICY, set.take());
    tee.finalize();
    tee.start();
    EXPECT_EQ(policy(), (P{{"gran", false},
                           {"babe", true},
                           {"beef", false},
                           {"para", true},
                           {"asgn", true},
                           {"audi", true},
                           {"xyzw", false}}));
    Outcome o = sign_checked(tee, "babe", Scheme::sr25519, babe, prehash);
    ASSERT_TRUE(o.signed_);
    EXPECT_EQ(teesigner::core::verify(Scheme::sr25519, teesigner::core::SignatureBytes(o.signature),
                                      prehash, teesigner::core::PublicKeyBytes(babe)),
              teesigner::core::Error::ok);
    // Back to the defaults.
    tee.call_ok(TA_SIGNER_CMD_SET_PROTECTION_POLICY, Encoder().compact(0).take());
    EXPECT_EQ(sign_checked(tee, "babe", Scheme::sr25519, babe, prehash).reason, kOpaqueRefused);
    Bytes bad = {0x04, 'b', 'a', 'b', 'e', 0x02};  // bool must be 0 or 1
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SET_PROTECTION_POLICY, bad, out), TEEC_ERROR_BAD_FORMAT);
}

TEST(ProtectionTee, NothingIsRecordedForRequestsThatCannotBeAnswered) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes pk = import_suri(tee, "gran", Scheme::ed25519, "//Alice");
    Bytes a = vote(GrandpaMessageKind::prevote, 1, 20);
    Bytes b = vote(GrandpaMessageKind::prevote, 2, 20);
    // An output buffer too small for the answer: SHORT_BUFFER before any record.
    Bytes req = typed_request("gran", pk, a);
    uint8_t small[16];
    TEEC_Operation op{};
    op.paramTypes =
        TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref = {req.data(), req.size()};
    op.params[1].tmpref = {small, sizeof small};
    uint32_t origin = 0;
    EXPECT_EQ(TEEC_InvokeCommand(tee.session(), TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, &op, &origin),
              TEEC_ERROR_SHORT_BUFFER);
    EXPECT_EQ(op.params[1].tmpref.size, static_cast<size_t>(TA_SIGNER_SIGN_OUTCOME_MAX));
    // Unknown key, malformed payload, wrong key length: refused, nothing recorded.
    Bytes out;
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", Bytes(32, 9), a), out),
        TEEC_ERROR_ITEM_NOT_FOUND);
    Bytes truncated(a.begin(), a.end() - 1);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", pk, truncated), out),
              TEEC_ERROR_BAD_FORMAT);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BABE_HEADER, typed_request("gran", pk, a), out),
              TEEC_ERROR_BAD_FORMAT);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, Bytes(3, 0), out), TEEC_ERROR_BAD_FORMAT);
    // So b, which conflicts with a, is still signable.
    Outcome o =
        decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", pk, b)));
    EXPECT_TRUE(o.ok && o.signed_);
    o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", pk, a)));
    EXPECT_TRUE(o.ok && !o.signed_);
    // GRANDPA primary proposals are signed without any record.
    Bytes p1 = vote(GrandpaMessageKind::primary_propose, 1, 21);
    Bytes p2 = vote(GrandpaMessageKind::primary_propose, 2, 21);
    EXPECT_TRUE(
        decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", pk, p1)))
            .signed_);
    EXPECT_TRUE(
        decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", pk, p2)))
            .signed_);
}

// The soft TEE's per-object rollback detection covers protection objects: a
// protection record restored to its earlier content is refused, never used.
// Object files are written at checkpoints (here: orderly stops); between
// them a running TA reads its committed objects from memory, so files put
// back then are not even read.
TEST(ProtectionTee, RolledBackProtectionStateFailsClosed) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes pk = import_suri(tee, "babe", Scheme::sr25519, "//Alice");
    Bytes first = babe_header(700, 1);
    ASSERT_TRUE(decode_outcome(
                    tee.call_ok(TA_SIGNER_CMD_SIGN_BABE_HEADER, typed_request("babe", pk, first)))
                    .signed_);
    tee.finalize();
    tee.start();
    // Snapshot every object file, sign another slot, then put the old files back.
    std::vector<std::pair<fs::path, Bytes>> before;
    for (const auto& entry : fs::directory_iterator(dir.storage()))
        if (entry.path().filename().string()[0] == 'o')
            before.emplace_back(entry.path(), slurp(entry.path()));
    ASSERT_FALSE(before.empty());
    ASSERT_TRUE(decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_BABE_HEADER,
                                           typed_request("babe", pk, babe_header(701, 1))))
                    .signed_);
    for (const auto& [path, data] : before) spit(path, data);
    Outcome o = decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_BABE_HEADER,
                                           typed_request("babe", pk, babe_header(701, 2))));
    EXPECT_TRUE(o.ok && !o.signed_) << "slot 701 is recorded in memory and the journal";
    // After a checkpoint the files are the TA's again: put them back now.
    tee.finalize();
    tee.start();
    for (const auto& [path, data] : before) spit(path, data);
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BABE_HEADER,
                       typed_request("babe", pk, babe_header(701, 2)), out),
              TEEC_ERROR_SECURITY);
    tee.finalize();
    tee.start();
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BABE_HEADER,
                       typed_request("babe", pk, babe_header(701, 2)), out),
              TEEC_ERROR_SECURITY);
}

TEST(ProtectionTee, PagedExportAndConservativeImport) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes para_pk = import_suri(tee, "para", Scheme::sr25519, "//Alice");
    // Many approvals over many buckets, then export in small pages.
    for (int i = 0; i < 120; ++i) {
        Hash256 c = filled(static_cast<uint8_t>(i), 7);
        Outcome o = decode_outcome(
            tee.call_ok(TA_SIGNER_CMD_SIGN_PARA_STATEMENT,
                        typed_request("para", para_pk,
                                      statement(ParaStatementKind::approval, 30 + i % 3, {c}))));
        ASSERT_TRUE(o.ok && o.signed_);
    }
    std::vector<Bytes> pages = export_pages(tee, 2048);
    EXPECT_GT(pages.size(), 5u);
    // A second signer that signed the invalid side of one of those candidates.
    TempDir other_dir;
    Tee other(other_dir);
    other.start();
    ASSERT_EQ(import_suri(other, "para", Scheme::sr25519, "//Alice"), para_pk);
    Hash256 disputed = filled(17, 7);
    ASSERT_TRUE(
        decode_outcome(other.call_ok(TA_SIGNER_CMD_SIGN_PARA_STATEMENT,
                                     typed_request("para", para_pk,
                                                   statement(ParaStatementKind::dispute_invalid,
                                                             30 + 17 % 3, {disputed}))))
            .signed_);
    uint32_t added = 0, conflicting = 0;
    for (const Bytes& page : pages) {
        Bytes raw = other.call_ok(TA_SIGNER_CMD_IMPORT_PROTECTION, Encoder().bytes(page).take());
        Decoder d(raw);
        auto items = d.u32(), a = d.u32(), c = d.u32(), w = d.u32();
        ASSERT_TRUE(items.ok() && a.ok() && c.ok() && w.ok());
        added += *a;
        conflicting += *c;
    }
    EXPECT_EQ(added, 119u);
    EXPECT_EQ(conflicting, 1u);
    // Both sides of the disputed candidate are now taken: nothing more is signed for it.
    for (ParaStatementKind k : {ParaStatementKind::approval, ParaStatementKind::dispute_invalid}) {
        Outcome o = decode_outcome(
            other.call_ok(TA_SIGNER_CMD_SIGN_PARA_STATEMENT,
                          typed_request("para", para_pk, statement(k, 30 + 17 % 3, {disputed}))));
        EXPECT_TRUE(o.ok && !o.signed_);
    }
    // Garbage is refused.
    Bytes out;
    EXPECT_EQ(
        other.call(TA_SIGNER_CMD_IMPORT_PROTECTION, Encoder().bytes(Bytes(10, 1)).take(), out),
        TEEC_ERROR_BAD_FORMAT);
    EXPECT_EQ(other.call(TA_SIGNER_CMD_IMPORT_PROTECTION,
                         Encoder().bytes(Bytes(TA_SIGNER_IMPORT_MAX + 1, 0)).take(), out),
              TEEC_ERROR_EXCESS_DATA);
    Encoder many;
    many.compact(TA_SIGNER_POLICY_MAX + 1);
    for (uint32_t i = 0; i <= TA_SIGNER_POLICY_MAX; ++i) many.u32(i).u8(1);
    EXPECT_EQ(other.call(TA_SIGNER_CMD_SET_PROTECTION_POLICY, many.take(), out),
              TEEC_ERROR_BAD_PARAMETERS);
}

}  // namespace
