// Slashing protection rules (core/protection.hpp), table-driven: for every rule,
// an identical re-sign is accepted, a conflicting payload is refused (naming
// the rule and the earlier payload), and both still hold after the store is
// reloaded from its serialized bytes and after export/import into a fresh
// store. Payloads are real encodings built with core/payloads.hpp, whose
// encodings test_payloads.cpp checks against @polkadot/types.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "teesigner/core/hash.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"

namespace {

using namespace teesigner::core;
using namespace teesigner::core::payloads;
using namespace teesigner::core::protection;

Hash256 h(uint8_t a, uint8_t b = 0) {
    Hash256 out{};
    out[0] = a;
    out[1] = b;
    out[31] = 0x5a;
    return out;
}

Bytes grandpa(GrandpaMessageKind kind, uint8_t target, uint64_t round, uint64_t set_id,
              uint32_t number = 1000) {
    return encode_grandpa_vote({kind, h(target), number, round, set_id});
}
Bytes prevote(uint8_t target, uint64_t round, uint64_t set_id = 3) {
    return grandpa(GrandpaMessageKind::prevote, target, round, set_id);
}
Bytes precommit(uint8_t target, uint64_t round, uint64_t set_id = 3) {
    return grandpa(GrandpaMessageKind::precommit, target, round, set_id);
}

// An unsealed header with a BABE secondary-plain pre-digest for `slot`.
Bytes babe_header(uint64_t slot, uint8_t parent, uint32_t number = 77) {
    Header header;
    header.parent_hash = h(parent);
    header.number = number;
    header.state_root = h(0xee);
    BabePreDigest pre;
    pre.kind = BabePreDigestKind::secondary_plain;
    pre.authority_index = 4;
    pre.slot = slot;
    header.digest.push_back(
        {DigestItemKind::pre_runtime, kBabeEngineId, encode_babe_pre_digest(pre)});
    return encode_header(header);
}

Bytes beefy(uint64_t set_id, uint32_t block, uint8_t root) {
    BeefyCommitment c;
    Hash256 mmr = h(root);
    c.payload.push_back({{'m', 'h'}, Bytes(mmr.begin(), mmr.end())});
    c.block_number = block;
    c.validator_set_id = set_id;
    return encode_beefy_commitment(c);
}

Bytes para(ParaStatementKind kind, uint32_t session, std::vector<Hash256> candidates,
           uint8_t parent = 9) {
    ParaStatement s{kind, session, std::move(candidates), {}};
    if (kind == ParaStatementKind::backing_seconded || kind == ParaStatementKind::backing_valid)
        s.parent_hash = h(parent);
    auto out = encode_para_statement(s);
    EXPECT_TRUE(out.ok());
    return out.ok() ? *out : Bytes{};
}

// A signing request as the TA's typed methods see it.
struct Req {
    Rule rule;
    Bytes payload;
};

Signable to_signable(const Req& r) {
    switch (r.rule) {
        case Rule::grandpa: {
            auto v = decode_grandpa_vote(r.payload);
            EXPECT_TRUE(v.ok());
            auto s = signable_grandpa(*v);
            EXPECT_TRUE(s.ok());
            return *s;
        }
        case Rule::babe: {
            auto req = decode_babe_seal_request(r.payload);
            EXPECT_TRUE(req.ok());
            return signable_babe(*req);
        }
        case Rule::beefy: {
            auto c = decode_beefy_commitment(r.payload);
            EXPECT_TRUE(c.ok());
            return signable_beefy(*c, beefy_prehash(r.payload));
        }
        case Rule::para: {
            auto s = decode_para_statement(r.payload);
            EXPECT_TRUE(s.ok());
            return signable_para(*s, r.payload);
        }
        case Rule::none:
            break;
    }
    return {};
}

// What the refusal must name as the earlier payload.
Hash256 payload_hash(const Req& r) {
    if (r.rule == Rule::babe) return blake2b_256(r.payload);
    if (r.rule == Rule::beefy) return beefy_prehash(r.payload);
    return blake2b_256(r.payload);
}

const Bytes kKey(32, 0xa1);
const Bytes kOtherKey(32, 0xb2);
const Bytes kEcdsaKey(33, 0x03);

enum class Persist { none, reload, export_import };
const char* persist_name(Persist p) {
    switch (p) {
        case Persist::none:
            return "same store";
        case Persist::reload:
            return "after reload";
        case Persist::export_import:
            return "after export/import";
    }
    return "";
}

// A protector over a memory store that can be reloaded or migrated.
class Harness {
  public:
    explicit Harness(Limits limits = {}) : limits_(limits) { reset(); }
    Protector& p() { return *protector_; }
    MemoryBlobStore& store() { return *store_; }

    void persist(Persist mode) {
        if (mode == Persist::reload) {
            Bytes bytes = store_->snapshot();
            reset();
            ASSERT_EQ(store_->restore(bytes), Error::ok);
        } else if (mode == Persist::export_import) {
            auto doc = protector_->export_all();
            ASSERT_TRUE(doc.ok());
            auto policy = protector_->policy();
            ASSERT_TRUE(policy.ok());
            reset();
            auto report = protector_->import(*doc);
            ASSERT_TRUE(report.ok());
            ASSERT_EQ(protector_->set_policy(*policy), Error::ok);
        }
    }

  private:
    void reset() {
        protector_.reset();
        store_ = std::make_unique<MemoryBlobStore>();
        protector_ = std::make_unique<Protector>(*store_, limits_);
    }
    Limits limits_;
    std::unique_ptr<MemoryBlobStore> store_;
    std::unique_ptr<Protector> protector_;
};

Decision decide(Protector& p, const Bytes& key, const Req& r, bool raw) {
    Result<Decision> d = Error::unsupported;
    if (raw) {
        // The sp-keystore path: raw bytes plus the key's key types.
        std::vector<KeyTypeId> types = {r.rule == Rule::grandpa ? kGrandpaKeyType : kParaKeyType};
        d = p.authorize_message(key, types, r.payload);
    } else {
        d = p.authorize(key, to_signable(r));
    }
    EXPECT_TRUE(d.ok()) << error_message(d.error());
    return d.ok() ? *d : Decision{};
}

struct RuleCase {
    const char* name;
    Req first;
    Req conflicting;
    const char* code;
    std::vector<Req> compatible;  // may be signed next to `first`
};

std::vector<RuleCase> rule_cases() {
    const Hash256 c1 = h(0x11), c2 = h(0x22), c3 = h(0x11, 1);
    using K = ParaStatementKind;
    return {
        {"grandpa prevote",
         {Rule::grandpa, prevote(1, 10)},
         {Rule::grandpa, prevote(2, 10)},
         "grandpa_prevote_equivocation",
         {{Rule::grandpa, precommit(2, 10)},
          {Rule::grandpa, prevote(2, 11)},
          {Rule::grandpa, prevote(2, 10, 4)}}},
        {"grandpa precommit",
         {Rule::grandpa, precommit(1, 10)},
         {Rule::grandpa, grandpa(GrandpaMessageKind::precommit, 1, 10, 3, 999)},
         "grandpa_precommit_equivocation",
         {{Rule::grandpa, prevote(7, 10)}, {Rule::grandpa, precommit(1, 9)}}},
        {"babe",
         {Rule::babe, babe_header(1000, 1)},
         {Rule::babe, babe_header(1000, 2)},
         "babe_equivocation",
         {{Rule::babe, babe_header(1001, 2)}, {Rule::babe, babe_header(999, 2)}}},
        {"beefy",
         {Rule::beefy, beefy(5, 2000, 1)},
         {Rule::beefy, beefy(5, 2000, 2)},
         "beefy_equivocation",
         {{Rule::beefy, beefy(5, 2001, 2)}, {Rule::beefy, beefy(6, 2000, 2)}}},
        {"para seconded, then dispute invalid",
         {Rule::para, para(K::backing_seconded, 40, {c1})},
         {Rule::para, para(K::dispute_invalid, 40, {c1})},
         "para_valid_invalid",
         {{Rule::para, para(K::backing_valid, 40, {c1}, 8)},
          {Rule::para, para(K::approval, 40, {c1})},
          {Rule::para, para(K::dispute_valid, 40, {c1})},
          {Rule::para, para(K::dispute_invalid, 41, {c1})},
          {Rule::para, para(K::dispute_invalid, 40, {c2})}}},
        {"para approval, then dispute invalid",
         {Rule::para, para(K::approval, 40, {c1})},
         {Rule::para, para(K::dispute_invalid, 40, {c1})},
         "para_valid_invalid",
         {{Rule::para, para(K::approval_multiple, 40, {c1, c2})}}},
        {"para multiple approval, then dispute invalid on one",
         {Rule::para, para(K::approval_multiple, 40, {c1, c2, c3})},
         {Rule::para, para(K::dispute_invalid, 40, {c3})},
         "para_valid_invalid",
         {{Rule::para, para(K::approval, 40, {c2})}}},
        {"para dispute invalid, then backing",
         {Rule::para, para(K::dispute_invalid, 40, {c2})},
         {Rule::para, para(K::backing_valid, 40, {c2})},
         "para_valid_invalid",
         {{Rule::para, para(K::backing_valid, 40, {c1})}}},
        {"para dispute invalid, then an approval covering it",
         {Rule::para, para(K::dispute_invalid, 40, {c3})},
         {Rule::para, para(K::approval_multiple, 40, {c1, c3})},
         "para_valid_invalid",
         {{Rule::para, para(K::approval_multiple, 40, {c1, c2})}}},
        {"para dispute valid, then dispute invalid",
         {Rule::para, para(K::dispute_valid, 40, {c1})},
         {Rule::para, para(K::dispute_invalid, 40, {c1})},
         "para_valid_invalid",
         {}},
    };
}

TEST(Protection, EveryRuleTableDriven) {
    for (const RuleCase& tc : rule_cases()) {
        const bool raw_capable = tc.first.rule == Rule::grandpa || tc.first.rule == Rule::para;
        for (bool raw : {false, true}) {
            if (raw && !raw_capable) continue;
            for (Persist mode : {Persist::none, Persist::reload, Persist::export_import}) {
                SCOPED_TRACE(std::string(tc.name) + (raw ? " (raw bytes)" : " (typed)") + ", " +
                             persist_name(mode));
                Harness hs;
                Decision d = decide(hs.p(), kKey, tc.first, raw);
                EXPECT_TRUE(d.allowed);
                EXPECT_TRUE(d.recorded);
                d = decide(hs.p(), kKey, tc.first, raw);  // identical re-sign
                EXPECT_TRUE(d.allowed);
                EXPECT_FALSE(d.recorded);
                for (const Req& ok : tc.compatible)
                    EXPECT_TRUE(decide(hs.p(), kKey, ok, raw).allowed);
                // Another key is unaffected.
                EXPECT_TRUE(decide(hs.p(), kOtherKey, tc.conflicting, raw).allowed);

                hs.persist(mode);
                d = decide(hs.p(), kKey, tc.conflicting, raw);
                EXPECT_FALSE(d.allowed);
                EXPECT_STREQ(refusal_code(d.refusal), tc.code);
                EXPECT_EQ(d.refusal.reason, Reason::conflict);
                EXPECT_EQ(d.refusal.rule, tc.first.rule);
                EXPECT_EQ(d.refusal.earlier_payload_hash, payload_hash(tc.first));
                // Still: identical re-sign accepted, compatible ones too.
                d = decide(hs.p(), kKey, tc.first, raw);
                EXPECT_TRUE(d.allowed);
                EXPECT_FALSE(d.recorded);
                for (const Req& ok : tc.compatible)
                    EXPECT_TRUE(decide(hs.p(), kKey, ok, raw).allowed);
                // And the other key's record survived too.
                EXPECT_FALSE(decide(hs.p(), kOtherKey, tc.first, raw).allowed);
                // A second persistence step changes nothing.
                hs.persist(mode);
                EXPECT_FALSE(decide(hs.p(), kKey, tc.conflicting, raw).allowed);
            }
        }
    }
}

TEST(Protection, RefusalDetails) {
    Harness hs;
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, precommit(1, 10)}, false).allowed);
    Decision d = decide(hs.p(), kKey, {Rule::grandpa, precommit(2, 10)}, false);
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.refusal.position, (Position{3, 10}));
    EXPECT_EQ(d.refusal.earlier_kind, 1);
    EXPECT_EQ(d.refusal.subject, h(1));
    EXPECT_EQ(d.refusal.earlier_number, 1000u);
    EXPECT_STREQ(rule_name(d.refusal.rule), "grandpa");
    EXPECT_STREQ(reason_name(d.refusal.reason), "conflict");

    ASSERT_TRUE(
        decide(hs.p(), kKey, {Rule::para, para(ParaStatementKind::approval, 7, {h(3)})}, false)
            .allowed);
    d = decide(hs.p(), kKey, {Rule::para, para(ParaStatementKind::dispute_invalid, 7, {h(3)})},
               false);
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.refusal.subject, h(3));
    EXPECT_EQ(d.refusal.earlier_kind, static_cast<uint8_t>(ParaStatementKind::approval));
    EXPECT_EQ(d.refusal.earlier_sides, kValidSide);
    EXPECT_EQ(d.refusal.position, (Position{7, 0}));
}

TEST(Protection, GrandpaWatermarkPruning) {
    Limits limits;
    limits.grandpa_positions = 4;
    Harness hs(limits);
    for (uint64_t round = 1; round <= 6; ++round) {
        ASSERT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, prevote(1, round)}, false).allowed);
        ASSERT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, precommit(1, round)}, false).allowed);
    }
    auto hist = hs.p().history(Rule::grandpa, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{3, 3}));
    EXPECT_EQ(hist->records.size(), 8u);  // rounds 3..6, prevote and precommit
    for (Persist mode : {Persist::none, Persist::reload, Persist::export_import}) {
        SCOPED_TRACE(persist_name(mode));
        hs.persist(mode);
        // Round 2 was pruned: even its identical vote can no longer be proven safe.
        Decision d = decide(hs.p(), kKey, {Rule::grandpa, prevote(1, 2)}, false);
        EXPECT_FALSE(d.allowed);
        EXPECT_STREQ(refusal_code(d.refusal), "below_watermark");
        EXPECT_EQ(d.refusal.watermark, (Position{3, 3}));
        // Kept rounds still refuse conflicts and accept identical votes.
        EXPECT_FALSE(decide(hs.p(), kKey, {Rule::grandpa, prevote(2, 3)}, false).allowed);
        EXPECT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, prevote(1, 3)}, false).allowed);
        // An older set id is below the watermark; a newer one starts over.
        EXPECT_FALSE(decide(hs.p(), kKey, {Rule::grandpa, prevote(1, 100, 2)}, false).allowed);
    }
    EXPECT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, prevote(1, 1, 4)}, false).allowed);
    hist = hs.p().history(Rule::grandpa, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{3, 4}));
}

TEST(Protection, AVoteOlderThanEverythingKeptIsRefusedWhenTheHistoryIsFull) {
    Limits limits;
    limits.babe_positions = 3;
    Harness hs(limits);
    for (uint64_t slot : {100, 200, 300})
        ASSERT_TRUE(decide(hs.p(), kKey, {Rule::babe, babe_header(slot, 1)}, false).allowed);
    // Slot 50 was never signed and is above the watermark (0), but remembering
    // it would push it out of the kept history at once: refused.
    Decision d = decide(hs.p(), kKey, {Rule::babe, babe_header(50, 1)}, false);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
    auto hist = hs.p().history(Rule::babe, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->records.size(), 3u);
    EXPECT_EQ(hist->watermark, (Position{0, 0}));  // nothing was pruned
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::babe, babe_header(400, 1)}, false).allowed);
    hist = hs.p().history(Rule::babe, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{200, 0}));
    EXPECT_FALSE(decide(hs.p(), kKey, {Rule::babe, babe_header(150, 1)}, false).allowed);
}

TEST(Protection, BeefyWatermarkAcrossValidatorSets) {
    Limits limits;
    limits.beefy_positions = 2;
    Harness hs(limits);
    ASSERT_TRUE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(1, 500, 1)}, false).allowed);
    ASSERT_TRUE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(1, 600, 1)}, false).allowed);
    ASSERT_TRUE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(2, 10, 1)}, false).allowed);
    auto hist = hs.p().history(Rule::beefy, kEcdsaKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{1, 600}));
    EXPECT_FALSE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(1, 550, 1)}, false).allowed);
    EXPECT_FALSE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(1, 600, 2)}, false).allowed);
    EXPECT_TRUE(decide(hs.p(), kEcdsaKey, {Rule::beefy, beefy(2, 11, 2)}, false).allowed);
}

TEST(Protection, ParaSessionPruningDropsOldBuckets) {
    Limits limits;
    limits.para_sessions = 3;
    Harness hs(limits);
    using K = ParaStatementKind;
    for (uint32_t session = 1; session <= 3; ++session)
        for (uint8_t c = 0; c < 5; ++c)
            ASSERT_TRUE(
                decide(hs.p(), kKey, {Rule::para, para(K::approval, session, {h(c)})}, false)
                    .allowed);
    size_t objects = hs.store().object_count();
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 4, {h(0)})}, false).allowed);
    // Session 1's five buckets are gone, session 4 added one.
    EXPECT_EQ(hs.store().object_count(), objects - 5 + 1);
    auto hist = hs.p().history(Rule::para, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{2, 0}));
    EXPECT_EQ(hist->records.size(), 11u);
    for (Persist mode : {Persist::none, Persist::reload, Persist::export_import}) {
        SCOPED_TRACE(persist_name(mode));
        hs.persist(mode);
        Decision d = decide(hs.p(), kKey, {Rule::para, para(K::dispute_invalid, 1, {h(9)})}, false);
        EXPECT_FALSE(d.allowed);
        EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
        EXPECT_FALSE(
            decide(hs.p(), kKey, {Rule::para, para(K::dispute_invalid, 2, {h(4)})}, false).allowed);
        EXPECT_TRUE(
            decide(hs.p(), kKey, {Rule::para, para(K::dispute_invalid, 2, {h(9)})}, false).allowed);
    }
    // A session older than all kept ones while the list is full: refused.
    EXPECT_FALSE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 0, {h(1)})}, false).allowed);
}

TEST(Protection, ParaBucketCapacityFailsClosed) {
    Limits limits;
    limits.para_bucket_records = 2;
    Harness hs(limits);
    using K = ParaStatementKind;
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 1, {h(7, 1)})}, false).allowed);
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 1, {h(7, 2)})}, false).allowed);
    Decision d = decide(hs.p(), kKey, {Rule::para, para(K::approval, 1, {h(7, 3)})}, false);
    EXPECT_FALSE(d.allowed);
    EXPECT_STREQ(refusal_code(d.refusal), "capacity");
    // Other buckets and re-signs are unaffected.
    EXPECT_TRUE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 1, {h(8)})}, false).allowed);
    EXPECT_TRUE(decide(hs.p(), kKey, {Rule::para, para(K::approval, 1, {h(7, 1)})}, false).allowed);
}

TEST(Protection, RawBytesClassificationAndOpaquePolicy) {
    Harness hs;
    Protector& p = hs.p();
    const std::vector<KeyTypeId> gran = {kGrandpaKeyType};
    const std::vector<KeyTypeId> para_kt = {kParaKeyType};
    auto raw = [&](const std::vector<KeyTypeId>& types, const Bytes& msg) {
        auto d = p.authorize_message(kKey, types, msg);
        EXPECT_TRUE(d.ok());
        return d.ok() ? *d : Decision{};
    };
    // GRANDPA primary proposals are not slashable: signed, nothing recorded.
    Decision d = raw(gran, grandpa(GrandpaMessageKind::primary_propose, 1, 5, 3));
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.recorded);
    EXPECT_TRUE(raw(gran, grandpa(GrandpaMessageKind::primary_propose, 2, 5, 3)).allowed);
    // Other bytes for a gran key are opaque: refused by default.
    d = raw(gran, Bytes(32, 7));
    EXPECT_FALSE(d.allowed);
    EXPECT_STREQ(refusal_code(d.refusal), "opaque_refused");
    EXPECT_EQ(d.refusal.key_type, kGrandpaKeyType);
    Bytes truncated = prevote(1, 1);
    truncated.pop_back();
    EXPECT_FALSE(raw(gran, truncated).allowed);
    // Para: statement magics must decode; other payloads (bitfields, PVF
    // pre-checking votes) are opaque and allowed by default.
    Bytes bad = para(ParaStatementKind::approval, 1, {h(1)});
    bad.push_back(0);
    d = raw(para_kt, bad);
    EXPECT_FALSE(d.allowed);
    EXPECT_STREQ(refusal_code(d.refusal), "malformed_payload");
    Bytes bitfield = {0x10, 0xff, 0x01, 9, 0, 0, 0};
    EXPECT_TRUE(raw(para_kt, bitfield).allowed);
    // babe (seal prehash) and beef: opaque refused; audi, asgn allowed.
    Bytes prehash(32, 0x33);
    for (const KeyTypeId& kt : {kBabeKeyType, kBeefyKeyType})
        EXPECT_FALSE(raw({kt}, prehash).allowed);
    for (const KeyTypeId& kt : {kAuthorityDiscoveryKeyType, kAssignmentKeyType}) {
        EXPECT_TRUE(raw({kt}, prehash).allowed);
        auto o = p.authorize_opaque(std::vector<KeyTypeId>{kt});
        ASSERT_TRUE(o.ok());
        EXPECT_TRUE(o->allowed);
    }
    // Proofs of possession ("POP_" ++ 20- or 32-byte owner, what the runtime's
    // SessionKeys::generate signs) are signed for every key type, unrecorded;
    // "POP_" bytes of any other length stay opaque (32 could be a BABE pre-hash).
    auto pop = [](size_t owner_len) {
        Bytes b = {'P', 'O', 'P', '_'};
        b.resize(4 + owner_len, 0x42);
        return b;
    };
    for (const KeyTypeId& kt : {kGrandpaKeyType, kBabeKeyType, kBeefyKeyType, kParaKeyType}) {
        for (size_t owner_len : {20u, 32u}) {
            d = raw({kt}, pop(owner_len));
            EXPECT_TRUE(d.allowed);
            EXPECT_FALSE(d.recorded);
        }
    }
    for (size_t owner_len : {0u, 19u, 28u, 31u, 33u, 49u})
        EXPECT_FALSE(raw({kBabeKeyType}, pop(owner_len)).allowed) << owner_len;
    // A key stored under several types gets the strictest policy.
    const std::vector<KeyTypeId> both = {{'t', 'e', 's', 't'}, kBabeKeyType};
    EXPECT_FALSE(raw(both, prehash).allowed);
    auto o = p.authorize_opaque(both);
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->allowed);
    EXPECT_EQ(o->refusal.key_type, kBabeKeyType);
    // A GRANDPA vote signed under another label of the same gran key is still a vote.
    const std::vector<KeyTypeId> aliased = {{'t', 'e', 's', 't'}, kGrandpaKeyType};
    EXPECT_TRUE(raw(aliased, prevote(1, 50)).allowed);
    EXPECT_FALSE(raw(aliased, prevote(2, 50)).allowed);
    EXPECT_FALSE(p.authorize_opaque(std::vector<KeyTypeId>{})->allowed);

    // The policy is stored and can be changed per key type.
    OpaquePolicy policy;
    policy.set(kBabeKeyType, true);
    policy.set(kAuthorityDiscoveryKeyType, false);
    ASSERT_EQ(p.set_policy(policy), Error::ok);
    for (Persist mode : {Persist::none, Persist::reload, Persist::export_import}) {
        SCOPED_TRACE(persist_name(mode));
        hs.persist(mode);
        EXPECT_TRUE(hs.p().authorize_opaque(std::vector<KeyTypeId>{kBabeKeyType})->allowed);
        EXPECT_FALSE(
            hs.p().authorize_opaque(std::vector<KeyTypeId>{kAuthorityDiscoveryKeyType})->allowed);
        EXPECT_FALSE(hs.p().authorize_opaque(std::vector<KeyTypeId>{kBeefyKeyType})->allowed);
    }
}

TEST(Protection, StorageFailureNeverAllows) {
    for (int failing = 1; failing <= 3; ++failing) {
        Harness hs;
        hs.store().fail_next_writes(failing);
        bool allowed_once = false;
        for (int attempt = 0; attempt < 4; ++attempt) {
            auto d = hs.p().authorize(
                kKey, to_signable({Rule::para, para(ParaStatementKind::approval, 1, {h(1)})}));
            if (!d.ok()) continue;  // error: the caller does not sign
            EXPECT_TRUE(d->allowed);
            allowed_once = true;
            break;
        }
        EXPECT_TRUE(allowed_once);
        // Whatever was half-written, the conflicting vote is refused now.
        EXPECT_FALSE(decide(hs.p(), kKey,
                            {Rule::para, para(ParaStatementKind::dispute_invalid, 1, {h(1)})},
                            false)
                         .allowed);
    }
}

// Structurally damaged state (the TEE authenticates objects, so this is a bug
// or a format mismatch, never an attack) makes authorize fail, never allow.
TEST(Protection, DamagedStateFailsClosed) {
    Harness hs;
    ASSERT_TRUE(decide(hs.p(), kKey, {Rule::grandpa, prevote(1, 1)}, false).allowed);
    ASSERT_TRUE(
        decide(hs.p(), kKey, {Rule::para, para(ParaStatementKind::approval, 1, {h(1)})}, false)
            .allowed);
    // The store's snapshot is Vec<(name, data)>: find the objects and damage each.
    Bytes snap = hs.store().snapshot();
    teesigner::core::scale::Decoder d(snap);
    auto n = d.compact_u32();
    ASSERT_TRUE(n.ok());
    std::vector<std::pair<Bytes, Bytes>> objects;
    for (uint32_t i = 0; i < *n; ++i) {
        auto name = d.bytes();
        auto data = d.bytes();
        ASSERT_TRUE(name.ok() && data.ok());
        objects.emplace_back(*name, *data);
    }
    ASSERT_EQ(objects.size(), 5u);  // index, two main objects, a GRANDPA page, a para bucket
    for (size_t victim = 0; victim < objects.size(); ++victim) {
        const std::string name(objects[victim].first.begin(), objects[victim].first.end());
        for (int damage = 0; damage < 3; ++damage) {
            MemoryBlobStore store;
            for (size_t i = 0; i < objects.size(); ++i) {
                Bytes data = objects[i].second;
                if (i == victim) {
                    if (damage == 0) data.pop_back();    // truncated
                    if (damage == 1) data.push_back(0);  // trailing bytes
                    if (damage == 2) data[0] ^= 0x80;    // unknown format
                }
                ASSERT_EQ(store.write(objects[i].first, data), Error::ok);
            }
            Protector p(store);
            bool is_main_g = name.rfind("prot/m\x01", 0) == 0 || name.rfind("prot/p\x01", 0) == 0;
            bool is_para = name.rfind("prot/m\x04", 0) == 0 || name.rfind("prot/b", 0) == 0;
            auto g = p.authorize(kKey, to_signable({Rule::grandpa, prevote(2, 1)}));
            if (is_main_g) {
                EXPECT_FALSE(g.ok()) << name << " damage " << damage;
            }
            if (g.ok()) {
                EXPECT_FALSE(g->allowed) << name << " damage " << damage;
            }
            auto q = p.authorize(
                kKey,
                to_signable({Rule::para, para(ParaStatementKind::dispute_invalid, 1, {h(1)})}));
            if (is_para) {
                EXPECT_FALSE(q.ok()) << name << " damage " << damage;
            }
            if (q.ok()) {
                EXPECT_FALSE(q->allowed) << name << " damage " << damage;
            }
        }
    }
}

TEST(Protection, ExportPagesAndImportMerge) {
    Harness src;
    using K = ParaStatementKind;
    std::mt19937 rng(7);
    // Many keys, and para history spread over many buckets and sessions.
    for (uint8_t k = 0; k < 5; ++k) {
        Bytes key(32, static_cast<uint8_t>(0x40 + k));
        for (uint64_t round = 1; round <= 20; ++round)
            ASSERT_TRUE(decide(src.p(), key, {Rule::grandpa, prevote(k, round)}, false).allowed);
        for (uint32_t session = 10; session < 13; ++session)
            for (int c = 0; c < 40; ++c)
                ASSERT_TRUE(decide(src.p(), key,
                                   {Rule::para, para(K::approval, session,
                                                     {h(static_cast<uint8_t>(rng()),
                                                        static_cast<uint8_t>(c))})},
                                   false)
                                .allowed);
    }
    // Small pages: every page is a complete document, and together they carry everything.
    MemoryBlobStore dst_store;
    Protector dst(dst_store);
    uint64_t cursor = 0;
    int pages = 0;
    for (;;) {
        auto page = src.p().export_page(cursor, 4096);
        ASSERT_TRUE(page.ok());
        ASSERT_LE(page->document.size(), 4096u + 100 * 86);
        ASSERT_TRUE(decode_document(page->document).ok());
        ASSERT_TRUE(dst.import(page->document).ok());
        ++pages;
        if (!page->next) break;
        cursor = *page->next;
    }
    EXPECT_GT(pages, 10);
    for (uint8_t k = 0; k < 5; ++k) {
        Bytes key(32, static_cast<uint8_t>(0x40 + k));
        for (Rule rule : {Rule::grandpa, Rule::para}) {
            auto a = src.p().history(rule, key);
            auto b = dst.history(rule, key);
            ASSERT_TRUE(a.ok() && b.ok());
            EXPECT_EQ(a->records, b->records);
            EXPECT_EQ(a->watermark, b->watermark);
        }
    }
    // Importing the same thing again adds nothing.
    auto doc = src.p().export_all();
    ASSERT_TRUE(doc.ok());
    auto again = dst.import(*doc);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->records_added, 0u);
    EXPECT_EQ(again->records_conflicting, 0u);
    EXPECT_EQ(again->watermarks_raised, 0u);
}

TEST(Protection, ImportIsConservative) {
    using K = ParaStatementKind;
    // Signer A signed one thing, signer B the conflicting one (e.g. before
    // they were merged): after import both conflicting votes stay refused.
    Harness a, b;
    ASSERT_TRUE(decide(a.p(), kKey, {Rule::grandpa, prevote(1, 10)}, false).allowed);
    ASSERT_TRUE(decide(b.p(), kKey, {Rule::grandpa, prevote(2, 10)}, false).allowed);
    ASSERT_TRUE(decide(a.p(), kKey, {Rule::para, para(K::approval, 3, {h(5)})}, false).allowed);
    ASSERT_TRUE(
        decide(b.p(), kKey, {Rule::para, para(K::dispute_invalid, 3, {h(5)})}, false).allowed);
    auto doc = b.p().export_all();
    ASSERT_TRUE(doc.ok());
    auto report = a.p().import(*doc);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->records_conflicting, 2u);
    EXPECT_FALSE(decide(a.p(), kKey, {Rule::grandpa, prevote(2, 10)}, false).allowed);
    EXPECT_TRUE(decide(a.p(), kKey, {Rule::grandpa, prevote(1, 10)}, false).allowed);
    EXPECT_FALSE(
        decide(a.p(), kKey, {Rule::para, para(K::dispute_invalid, 3, {h(5)})}, false).allowed);
    EXPECT_FALSE(decide(a.p(), kKey, {Rule::para, para(K::approval, 3, {h(5)})}, false).allowed);

    // The higher watermark wins and prunes local history below it.
    Harness c;
    ASSERT_TRUE(decide(c.p(), kKey, {Rule::babe, babe_header(10, 1)}, false).allowed);
    ASSERT_TRUE(decide(c.p(), kKey, {Rule::babe, babe_header(20, 1)}, false).allowed);
    History high;
    high.rule = Rule::babe;
    high.public_key = kKey;
    high.watermark = {15, 0};
    report = c.p().import(encode_document({high}));
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->watermarks_raised, 1u);
    auto hist = c.p().history(Rule::babe, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{15, 0}));
    EXPECT_EQ(hist->records.size(), 1u);
    EXPECT_FALSE(decide(c.p(), kKey, {Rule::babe, babe_header(12, 1)}, false).allowed);
    // A lower imported watermark does not lower ours.
    high.watermark = {1, 0};
    report = c.p().import(encode_document({high}));
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->watermarks_raised, 0u);
    hist = c.p().history(Rule::babe, kKey);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(hist->watermark, (Position{15, 0}));
}

TEST(Protection, DocumentsAreValidated) {
    History g;
    g.rule = Rule::grandpa;
    g.public_key = kKey;
    Record r;
    r.position = {1, 2};
    r.kind = 1;
    g.records.push_back(r);
    Bytes doc = encode_document({g});
    auto ok = decode_document(doc);
    ASSERT_TRUE(ok.ok());
    ASSERT_EQ(ok->size(), 1u);
    EXPECT_EQ((*ok)[0].records[0], r);
    for (size_t n = 0; n < doc.size(); ++n)
        EXPECT_FALSE(decode_document(ByteSpan(doc.data(), n)).ok()) << n;
    Bytes trailing = doc;
    trailing.push_back(0);
    EXPECT_FALSE(decode_document(trailing).ok());
    Bytes magic = doc;
    magic[0] = 'X';
    EXPECT_FALSE(decode_document(magic).ok());
    Bytes version = doc;
    version[4] = 2;
    EXPECT_FALSE(decode_document(version).ok());
    // Records that make no sense for their rule.
    auto invalid = [&](Rule rule, Record bad) {
        History item;
        item.rule = rule;
        item.public_key = kKey;
        item.records.push_back(bad);
        return !decode_document(encode_document({item})).ok();
    };
    Record kind2 = r;
    kind2.kind = 2;  // primary proposals are never recorded
    EXPECT_TRUE(invalid(Rule::grandpa, kind2));
    Record no_side;
    no_side.kind = 3;
    EXPECT_TRUE(invalid(Rule::para, no_side));
    Record big_session;
    big_session.kind = 3;
    big_session.sides = kValidSide;
    big_session.position.major = 1ull << 32;
    EXPECT_TRUE(invalid(Rule::para, big_session));
    Record babe_minor;
    babe_minor.position.minor = 1;
    EXPECT_TRUE(invalid(Rule::babe, babe_minor));
    History no_key;
    no_key.rule = Rule::babe;
    EXPECT_FALSE(decode_document(encode_document({no_key})).ok());
    Bytes bad_rule = encode_document({g});
    bad_rule[6] = 9;  // magic(4) version(1) count(1) rule
    EXPECT_FALSE(decode_document(bad_rule).ok());
}

}  // namespace
