// The host-side protection database (signerd/src/protection_db.hpp) on SQLite
// and on a real PostgreSQL server, with the same tests: every rule (identical
// re-sign accepted, conflict refused naming the rule and the earlier payload
// hash), still refused after reopening and after export/import into a fresh
// database, watermarks, a differential run against the core Protector, two
// database handles racing conflicting votes, the audit log, fail-closed
// behaviour, and ProtectedKeyService answering refusals over JSON-RPC.
//
// PostgreSQL: the tests read TS_TEST_POSTGRES_URL (scripts/with-postgres.sh
// starts a throwaway server and sets it; ctest runs this binary through it).
// Without it the PostgreSQL cases FAIL, unless TS_TEST_POSTGRES_SKIP=1.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../unit/test_server_fake_key_service.hpp"
#include "key_usage.hpp"
#include "metrics.hpp"
#include "protected_key_service.hpp"
#include "protection_db.hpp"
#include "rpc_methods.hpp"
#include "serve.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"

namespace {

using namespace teesigner;
using namespace teesigner::core::payloads;
using namespace teesigner::core::protection;
using core::Bytes;
using core::Hash256;
using signerd::ProtectionDb;
using signerd::ProtectionDbOptions;

Hash256 h(uint8_t a, uint8_t b = 0) {
    Hash256 out{};
    out[0] = a;
    out[1] = b;
    out[31] = 0xa5;
    return out;
}

Bytes prevote_bytes(uint8_t target, uint64_t round, uint64_t set_id = 5) {
    return encode_grandpa_vote({GrandpaMessageKind::prevote, h(target), 100, round, set_id});
}

Signable grandpa(GrandpaMessageKind kind, uint8_t target, uint64_t round, uint64_t set_id = 5) {
    auto s = signable_grandpa({kind, h(target), 100, round, set_id});
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return {};
    return *s;
}
Signable prevote(uint8_t target, uint64_t round) {
    return grandpa(GrandpaMessageKind::prevote, target, round);
}
Signable precommit(uint8_t target, uint64_t round) {
    return grandpa(GrandpaMessageKind::precommit, target, round);
}

Signable babe(uint64_t slot, uint8_t parent) {
    Header header;
    header.parent_hash = h(parent);
    header.number = 9;
    BabePreDigest pre;
    pre.kind = BabePreDigestKind::secondary_plain;
    pre.slot = slot;
    header.digest.push_back(
        {DigestItemKind::pre_runtime, kBabeEngineId, encode_babe_pre_digest(pre)});
    auto req = decode_babe_seal_request(encode_header(header));
    EXPECT_TRUE(req.ok());
    if (!req.ok()) return {};
    return signable_babe(*req);
}

Signable beefy(uint64_t set_id, uint32_t block, uint8_t root) {
    BeefyCommitment c;
    c.payload.push_back({{'m', 'h'}, Bytes(32, root)});
    c.block_number = block;
    c.validator_set_id = set_id;
    const Bytes encoded = encode_beefy_commitment(c);
    return signable_beefy(c, beefy_prehash(encoded));
}

Signable para(ParaStatementKind kind, uint32_t session, std::vector<Hash256> candidates) {
    ParaStatement st{kind, session, std::move(candidates), {}};
    if (kind == ParaStatementKind::backing_seconded || kind == ParaStatementKind::backing_valid)
        st.parent_hash = h(7);
    auto payload = encode_para_statement(st);
    EXPECT_TRUE(payload.ok());
    if (!payload.ok()) return {};
    return signable_para(st, *payload);
}

Bytes key(uint8_t n) {
    Bytes k(32, n);
    k[31] = 0x42;
    return k;
}

// ---- Backends ------------------------------------------------------------------------

std::string postgres_url() {
    const char* url = std::getenv("TS_TEST_POSTGRES_URL");
    return url ? url : "";
}

bool postgres_skipped() {
    const char* skip = std::getenv("TS_TEST_POSTGRES_SKIP");
    return skip && std::string(skip) == "1";
}

// Empty the shared PostgreSQL database between tests.
void reset_postgres() {
    PGconn* c = PQconnectdb(postgres_url().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, "DROP TABLE IF EXISTS records, watermarks, audit_log, schema_version");
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
}

class DbTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        if (backend() == "postgres") {
            if (postgres_url().empty()) {
                if (postgres_skipped()) GTEST_SKIP() << "TS_TEST_POSTGRES_SKIP=1";
                FAIL() << "TS_TEST_POSTGRES_URL is not set: run through scripts/with-postgres.sh "
                          "(ctest does), or set TS_TEST_POSTGRES_SKIP=1 to skip";
            }
            reset_postgres();
        }
        dir_ = std::filesystem::temp_directory_path() /
               ("ts-db-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        std::filesystem::remove_all(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string backend() const { return GetParam(); }

    ProtectionDbOptions options(const std::string& file = "protection.sqlite") const {
        ProtectionDbOptions o;
        o.backend = backend();
        o.sqlite_path = (dir_ / file).string();
        o.postgres_url = postgres_url();
        o.instance = "test";
        o.limits = limits;
        return o;
    }
    std::unique_ptr<ProtectionDb> open(const std::string& file = "protection.sqlite") const {
        return signerd::open_protection_db(options(file));
    }
    // A second, empty database (a file next to the first; PostgreSQL: the tests
    // that need two separate databases use distinct keys instead).
    bool separate_databases() const { return backend() == "sqlite"; }

    Limits limits;
    std::filesystem::path dir_;
    static inline int counter_ = 0;
};

Decision check(ProtectionDb& db, const Bytes& pk, const Signable& s) {
    return db.check_and_record(pk, s);
}

// ---- Every rule ----------------------------------------------------------------------------

struct RuleCase {
    const char* name;
    Signable first, identical, conflicting, unrelated;
    const char* code;
};

std::vector<RuleCase> rule_cases() {
    using K = ParaStatementKind;
    return {
        {"grandpa prevote", prevote(1, 10), prevote(1, 10), prevote(2, 10), precommit(2, 10),
         "grandpa_prevote_equivocation"},
        {"grandpa precommit", precommit(1, 11), precommit(1, 11), precommit(3, 11), prevote(3, 11),
         "grandpa_precommit_equivocation"},
        {"babe", babe(500, 1), babe(500, 1), babe(500, 2), babe(501, 2), "babe_equivocation"},
        {"beefy", beefy(2, 900, 1), beefy(2, 900, 1), beefy(2, 900, 2), beefy(2, 901, 2),
         "beefy_equivocation"},
        {"para backing vs invalid dispute", para(K::backing_seconded, 30, {h(9)}),
         para(K::approval, 30, {h(9)}), para(K::dispute_invalid, 30, {h(9)}),
         para(K::dispute_invalid, 30, {h(10)}), "para_valid_invalid"},
        {"para invalid dispute vs approval", para(K::dispute_invalid, 31, {h(11)}),
         para(K::dispute_invalid, 31, {h(11)}), para(K::approval_multiple, 31, {h(12), h(11)}),
         para(K::approval, 31, {h(12)}), "para_valid_invalid"},
    };
}

TEST_P(DbTest, EveryRuleRefusesConflictsAndSurvivesReopenAndExportImport) {
    Bytes document;
    {
        auto db = open();
        uint8_t n = 1;
        for (const RuleCase& c : rule_cases()) {
            SCOPED_TRACE(c.name);
            const Bytes pk = key(n++);
            Decision d = check(*db, pk, c.first);
            EXPECT_TRUE(d.allowed);
            EXPECT_TRUE(d.recorded);
            d = check(*db, pk, c.identical);
            EXPECT_TRUE(d.allowed) << "identical re-sign / same side must be allowed";
            d = check(*db, pk, c.conflicting);
            ASSERT_FALSE(d.allowed);
            EXPECT_EQ(d.refusal.reason, Reason::conflict);
            EXPECT_EQ(d.refusal.rule, c.first.rule);
            EXPECT_STREQ(refusal_code(d.refusal), c.code);
            EXPECT_EQ(d.refusal.earlier_payload_hash, c.first.payload_hash);
            EXPECT_EQ(d.refusal.position, c.conflicting.position);
            // The same key, another vote: independent.
            EXPECT_TRUE(check(*db, pk, c.unrelated).allowed);
            // Another key: independent.
            EXPECT_TRUE(check(*db, key(200), c.conflicting).allowed);
        }
        document = db->export_document();
    }
    auto verify = [&](ProtectionDb& db, const char* when) {
        SCOPED_TRACE(when);
        uint8_t n = 1;
        for (const RuleCase& c : rule_cases()) {
            SCOPED_TRACE(c.name);
            const Bytes pk = key(n++);
            Decision d = check(db, pk, c.conflicting);
            ASSERT_FALSE(d.allowed);
            EXPECT_STREQ(refusal_code(d.refusal), c.code);
            EXPECT_EQ(d.refusal.earlier_payload_hash, c.first.payload_hash);
            d = check(db, pk, c.identical);
            EXPECT_TRUE(d.allowed);
            EXPECT_FALSE(d.recorded);
        }
    };
    {
        auto db = open();
        verify(*db, "after reopening");
    }
    if (backend() == "postgres") reset_postgres();
    {
        auto fresh = open("fresh.sqlite");
        // Empty: the conflicting payloads alone would be allowed...
        EXPECT_TRUE(fresh->history().empty());
        const ImportReport report = fresh->import_document(document);
        auto items = decode_document(document);
        ASSERT_TRUE(items.ok());
        EXPECT_EQ(report.items, items->size());
        EXPECT_GT(report.records_added, 10u);
        verify(*fresh, "after export/import into a fresh database");
    }
}

TEST_P(DbTest, ExportIsAValidDocumentThatTheCoreReadsBack) {
    auto db = open();
    ASSERT_TRUE(check(*db, key(1), prevote(1, 3)).allowed);
    ASSERT_TRUE(check(*db, key(1), precommit(1, 3)).allowed);
    ASSERT_TRUE(check(*db, key(2), babe(7, 1)).allowed);
    ASSERT_TRUE(
        check(*db, key(3), para(ParaStatementKind::approval_multiple, 4, {h(1), h(2)})).allowed);
    auto items = decode_document(db->export_document());
    ASSERT_TRUE(items.ok());
    ASSERT_EQ(items->size(), 3u);
    // A core Protector importing it refuses the same conflicts.
    MemoryBlobStore store;
    Protector core(store);
    ASSERT_TRUE(core.import(db->export_document()).ok());
    auto d = core.authorize(key(1), prevote(2, 3));
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->allowed);
    d = core.authorize(key(3), para(ParaStatementKind::dispute_invalid, 4, {h(2)}));
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->allowed);
}

TEST_P(DbTest, ImportMergesConservatively) {
    auto db = open();
    ASSERT_TRUE(check(*db, key(1), prevote(1, 20)).allowed);
    ASSERT_TRUE(check(*db, key(1), para(ParaStatementKind::approval, 3, {h(4)})).allowed);
    // A document (built with a core Protector) that disagrees on round 20, adds
    // round 21, takes the invalid side of the approved candidate and raises
    // the babe watermark of another key.
    MemoryBlobStore store;
    Protector other(store);
    ASSERT_TRUE(other.authorize(key(1), prevote(2, 20)).ok());
    ASSERT_TRUE(other.authorize(key(1), prevote(3, 21)).ok());
    ASSERT_TRUE(other.authorize(key(1), para(ParaStatementKind::dispute_invalid, 3, {h(4)})).ok());
    auto doc = other.export_all();
    ASSERT_TRUE(doc.ok());
    auto items = decode_document(*doc);
    ASSERT_TRUE(items.ok());
    History wm;
    wm.rule = Rule::babe;
    wm.public_key = key(2);
    wm.watermark = {1000, 0};
    items->push_back(wm);
    const ImportReport r = db->import_document(encode_document(*items));
    EXPECT_EQ(r.records_added, 1u);        // round 21
    EXPECT_EQ(r.records_conflicting, 2u);  // round 20 (ours kept), para both sides
    EXPECT_EQ(r.watermarks_raised, 1u);
    EXPECT_EQ(r.items, items->size());
    // Ours is kept for round 20 (our target is still the identical vote); the
    // imported round 21 binds.
    EXPECT_TRUE(check(*db, key(1), prevote(1, 20)).allowed);
    EXPECT_FALSE(check(*db, key(1), prevote(2, 20)).allowed);
    EXPECT_TRUE(check(*db, key(1), prevote(3, 21)).allowed);
    EXPECT_FALSE(check(*db, key(1), prevote(4, 21)).allowed);
    // Both sides of the candidate are now on record: neither side may be signed.
    EXPECT_FALSE(check(*db, key(1), para(ParaStatementKind::approval, 3, {h(4)})).allowed);
    EXPECT_FALSE(check(*db, key(1), para(ParaStatementKind::dispute_invalid, 3, {h(4)})).allowed);
    EXPECT_EQ(check(*db, key(2), babe(999, 1)).refusal.reason, Reason::below_watermark);
    EXPECT_TRUE(check(*db, key(2), babe(1000, 1)).allowed);
    EXPECT_THROW(db->import_document(Bytes{1, 2, 3}), signerd::ProtectionDbError);
}

TEST_P(DbTest, WatermarksFollowTheCoreLimits) {
    limits.grandpa_positions = 4;
    limits.para_sessions = 2;
    auto db = open();
    for (uint64_t round = 1; round <= 6; ++round)
        ASSERT_TRUE(check(*db, key(1), prevote(1, round)).allowed) << round;
    // Rounds 3..6 kept: the watermark is (set 5, round 3).
    Decision d = check(*db, key(1), prevote(1, 2));
    ASSERT_FALSE(d.allowed);
    EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
    EXPECT_EQ(d.refusal.watermark, (Position{5, 3}));
    EXPECT_TRUE(check(*db, key(1), prevote(1, 3)).allowed);
    EXPECT_FALSE(check(*db, key(1), prevote(2, 3)).allowed);
    auto items = decode_document(db->export_document());
    ASSERT_TRUE(items.ok());
    ASSERT_EQ(items->size(), 1u);
    EXPECT_EQ((*items)[0].records.size(), 4u);
    EXPECT_EQ((*items)[0].watermark, (Position{5, 3}));
    // Para: two sessions kept.
    for (uint32_t s = 1; s <= 3; ++s)
        ASSERT_TRUE(check(*db, key(2), para(ParaStatementKind::approval, s, {h(1)})).allowed);
    EXPECT_EQ(check(*db, key(2), para(ParaStatementKind::approval, 1, {h(1)})).refusal.reason,
              Reason::below_watermark);
}

// The database and the core Protector decide alike on a random stream of
// requests (small limits so that pruning happens).
TEST_P(DbTest, DecidesLikeTheCoreProtector) {
    limits.grandpa_positions = 6;
    limits.babe_positions = 6;
    limits.beefy_positions = 6;
    limits.para_sessions = 3;
    auto db = open();
    MemoryBlobStore store;
    Protector core(store, limits);
    std::mt19937 rng(12345);
    auto pick = [&](uint32_t n) { return static_cast<uint8_t>(rng() % n); };
    int refused = 0;
    for (int i = 0; i < 400; ++i) {
        Signable s;
        using K = ParaStatementKind;
        switch (pick(4)) {
            case 0:
                s = grandpa(pick(2) ? GrandpaMessageKind::prevote : GrandpaMessageKind::precommit,
                            pick(3), pick(12));
                break;
            case 1:
                s = babe(pick(12), pick(3));
                break;
            case 2:
                s = beefy(pick(2), pick(8), pick(3));
                break;
            default: {
                const K kinds[] = {K::backing_seconded, K::approval, K::dispute_valid,
                                   K::dispute_invalid};
                s = para(kinds[pick(4)], pick(6), {h(pick(3))});
            }
        }
        const Bytes pk = key(pick(2));
        auto expected = core.authorize(pk, s);
        ASSERT_TRUE(expected.ok());
        const Decision got = check(*db, pk, s);
        ASSERT_EQ(got.allowed, expected->allowed) << "request " << i;
        ASSERT_EQ(got.recorded, expected->recorded) << "request " << i;
        if (!got.allowed) {
            ++refused;
            EXPECT_EQ(got.refusal.reason, expected->refusal.reason) << i;
            EXPECT_EQ(got.refusal.earlier_payload_hash, expected->refusal.earlier_payload_hash)
                << i;
            EXPECT_EQ(got.refusal.watermark, expected->refusal.watermark) << i;
        }
    }
    EXPECT_GT(refused, 50);  // the stream really exercised the refusals
}

// Two handles (two signers' connections) race conflicting votes: exactly one
// side of every pair is allowed.
TEST_P(DbTest, TwoHandlesRacingConflictingVotes) {
    limits.grandpa_positions = 1000;  // a lagging thread must meet conflicts, not the watermark
    auto a = open();
    auto b = open();
    constexpr int kPairs = 200;
    std::atomic<int> allowed_a{0}, allowed_b{0};
    std::vector<int> winner(kPairs, 0);
    auto run = [&](ProtectionDb& db, uint8_t target, std::atomic<int>& count, int tag) {
        for (int i = 0; i < kPairs; ++i) {
            const Decision d = check(db, key(1), prevote(target, static_cast<uint64_t>(i)));
            if (d.allowed) {
                ++count;
                winner[static_cast<size_t>(i)] += tag;
            } else {
                EXPECT_EQ(d.refusal.reason, Reason::conflict);
            }
        }
    };
    std::thread ta([&] { run(*a, 1, allowed_a, 1); });
    std::thread tb([&] { run(*b, 2, allowed_b, 2); });
    ta.join();
    tb.join();
    EXPECT_EQ(allowed_a + allowed_b, kPairs);
    for (int i = 0; i < kPairs; ++i) EXPECT_TRUE(winner[i] == 1 || winner[i] == 2) << i;
}

// ---- Group commit ---------------------------------------------------------------------------

// One statement on the test's database, outside the signer's handles.
void sql(const std::string& backend, const std::string& sqlite_path, const std::string& text) {
    if (backend == "sqlite") {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(sqlite_path.c_str(), &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 10'000);
        char* err = nullptr;
        EXPECT_EQ(sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err), SQLITE_OK)
            << text << ": " << (err ? err : "");
        sqlite3_free(err);
        sqlite3_close(db);
        return;
    }
    PGconn* c = PQconnectdb(postgres_url().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, text.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << text << ": " << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
}

// Every insert of a record at major position 666 fails inside the database
// (a trigger): a failure in the middle of a batch, after other items wrote.
void poison_major_666(const std::string& backend, const std::string& sqlite_path) {
    if (backend == "sqlite") {
        sql(backend, sqlite_path,
            "CREATE TRIGGER ts_fail BEFORE INSERT ON records WHEN NEW.major = 666 "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
        return;
    }
    sql(backend, sqlite_path,
        "CREATE OR REPLACE FUNCTION ts_fail() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql");
    sql(backend, sqlite_path,
        "CREATE TRIGGER ts_fail BEFORE INSERT ON records FOR EACH ROW WHEN (NEW.major = 666) "
        "EXECUTE FUNCTION ts_fail()");
}

// Holds what a batch for `pk`'s GRANDPA records must wait for (SQLite: the
// write lock; PostgreSQL: the key's advisory lock), so that callers arriving
// meanwhile queue up and share the next batch.
class BatchGate {
  public:
    BatchGate(const std::string& backend, const std::string& sqlite_path, const Bytes& pk)
        : lock_key_(core::to_hex(pk, false) + ":grandpa") {
        if (backend == "sqlite") {
            EXPECT_EQ(sqlite3_open(sqlite_path.c_str(), &lite_), SQLITE_OK);
            sqlite3_busy_timeout(lite_, 10'000);
            EXPECT_EQ(sqlite3_exec(lite_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
        } else {
            pg_ = PQconnectdb(postgres_url().c_str());
            EXPECT_EQ(PQstatus(pg_), CONNECTION_OK) << PQerrorMessage(pg_);
            run_pg("SELECT pg_advisory_lock(hashtextextended($1, 0))");
        }
    }
    ~BatchGate() { open(); }
    BatchGate(const BatchGate&) = delete;
    BatchGate& operator=(const BatchGate&) = delete;

    void open() {
        if (lite_) {
            sqlite3_exec(lite_, "ROLLBACK", nullptr, nullptr, nullptr);
            sqlite3_close(lite_);
            lite_ = nullptr;
        }
        if (pg_) {
            run_pg("SELECT pg_advisory_unlock(hashtextextended($1, 0))");
            PQfinish(pg_);
            pg_ = nullptr;
        }
    }

  private:
    void run_pg(const char* text) {
        const char* values[] = {lock_key_.c_str()};
        PGresult* r = PQexecParams(pg_, text, 1, nullptr, values, nullptr, nullptr, 0);
        EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(pg_);
        PQclear(r);
    }
    std::string lock_key_;
    sqlite3* lite_ = nullptr;
    PGconn* pg_ = nullptr;
};

// Many threads, each voting in every round, half of them for target 1 and
// half for target 2: in every round exactly one target wins (all its voters
// are allowed: identical re-signs), every voter for the other is refused
// with the winner's payload hash, and the calls really shared transactions.
TEST_P(DbTest, ConcurrentCallersShareBatchesAndExactlyOneSideOfEachPairWins) {
    limits.grandpa_positions = 1000;
    auto db = open();
    constexpr int kThreads = 16, kRounds = 60;
    const Bytes pk = key(1);
    // allowed[round][target - 1]: how many voters for that target were allowed
    std::vector<std::array<std::atomic<int>, 2>> allowed(kRounds);
    std::atomic<int> wrong_refusals{0}, errors{0};
    auto gate = std::make_unique<BatchGate>(backend(), options().sqlite_path, pk);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            const uint8_t target = static_cast<uint8_t>(1 + t % 2);
            for (int round = 0; round < kRounds; ++round) {
                try {
                    const Decision d = check(*db, pk, prevote(target, round));
                    if (d.allowed) {
                        ++allowed[round][target - 1];
                    } else if (d.refusal.reason != Reason::conflict ||
                               d.refusal.earlier_payload_hash !=
                                   prevote(static_cast<uint8_t>(3 - target), round).payload_hash) {
                        ++wrong_refusals;
                    }
                } catch (const std::exception&) {
                    ++errors;
                }
            }
        });
    // Let every thread queue behind the first leader, then let it run.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    gate->open();
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(wrong_refusals, 0);
    for (int round = 0; round < kRounds; ++round) {
        const int a = allowed[round][0], b = allowed[round][1];
        EXPECT_TRUE((a == kThreads / 2 && b == 0) || (a == 0 && b == kThreads / 2))
            << "round " << round << ": " << a << " voters for 1 and " << b << " for 2 were allowed";
    }
    const signerd::ProtectionDbStats stats = db->stats();
    EXPECT_EQ(stats.items, uint64_t{kThreads} * kRounds);
    EXPECT_LT(stats.batches, stats.items) << "no two calls ever shared a transaction";
    EXPECT_GE(stats.largest_batch, uint64_t{kThreads} - 1);
    EXPECT_LE(stats.largest_batch, ProtectionDb::kMaxBatch);
    // What was answered is what is stored: one record per round.
    auto items = decode_document(db->export_document());
    ASSERT_TRUE(items.ok());
    ASSERT_EQ(items->size(), 1u);
    EXPECT_EQ((*items)[0].records.size(), size_t{kRounds});
}

// A batch is decided in order, each item against the items before it: the
// first of two conflicting votes wins, an identical re-sign is allowed (and
// records nothing new), both sides of a candidate in one batch conflict.
TEST_P(DbTest, ABatchDecidesInArrivalOrder) {
    auto db = open();
    using K = ParaStatementKind;
    const Signable first = prevote(1, 5), conflicting = prevote(2, 5), other = precommit(3, 5),
                   valid = para(K::approval, 9, {h(4)}),
                   invalid = para(K::dispute_invalid, 9, {h(4)}), slot = babe(70, 1),
                   slot_conflict = babe(70, 2);
    const Bytes k1 = key(1), k2 = key(2);
    const std::vector<signerd::CheckItem> batch{
        {k1, &first}, {k1, &conflicting}, {k1, &first}, {k1, &other}, {k2, &conflicting},
        {k1, &valid}, {k1, &invalid},     {k1, &valid}, {k2, &slot},  {k2, &slot_conflict}};
    const std::vector<Decision> d = db->check_and_record_batch(batch);
    ASSERT_EQ(d.size(), batch.size());
    EXPECT_TRUE(d[0].allowed && d[0].recorded);
    ASSERT_FALSE(d[1].allowed);
    EXPECT_EQ(d[1].refusal.reason, Reason::conflict);
    EXPECT_EQ(d[1].refusal.earlier_payload_hash, first.payload_hash);
    EXPECT_TRUE(d[2].allowed) << "identical re-sign in the same batch";
    EXPECT_FALSE(d[2].recorded);
    EXPECT_TRUE(d[3].allowed && d[3].recorded);
    EXPECT_TRUE(d[4].allowed && d[4].recorded) << "another key is independent";
    EXPECT_TRUE(d[5].allowed && d[5].recorded);
    ASSERT_FALSE(d[6].allowed);
    EXPECT_STREQ(refusal_code(d[6].refusal), "para_valid_invalid");
    EXPECT_TRUE(d[7].allowed);
    EXPECT_FALSE(d[7].recorded);
    EXPECT_TRUE(d[8].allowed && d[8].recorded);
    ASSERT_FALSE(d[9].allowed);
    EXPECT_STREQ(refusal_code(d[9].refusal), "babe_equivocation");
    // Committed: a later call (and a fresh handle) sees the winners.
    EXPECT_FALSE(check(*db, k1, conflicting).allowed);
    EXPECT_TRUE(check(*db, k1, first).allowed);
    auto again = open();
    EXPECT_FALSE(check(*again, k1, invalid).allowed);
    EXPECT_FALSE(check(*again, k2, slot_conflict).allowed);
    // An empty batch is no transaction of consequence; an invalid item fails it whole.
    EXPECT_TRUE(db->check_and_record_batch({}).empty());
    Signable huge = prevote(1, uint64_t{1} << 63), fresh = prevote(1, 6);
    EXPECT_THROW(db->check_and_record_batch({{k1, &fresh}, {k1, &huge}}),
                 signerd::ProtectionDbError);
    EXPECT_TRUE(check(*db, k1, prevote(2, 6)).allowed) << "round 6 was recorded by a failed batch";
}

// The core Protector, one request at a time, and the database, in batches of
// random sizes, decide alike (small limits: pruning and the watermark rise
// inside batches).
TEST_P(DbTest, BatchesDecideLikeTheCoreProtectorOneByOne) {
    limits.grandpa_positions = 4;
    limits.babe_positions = 5;
    limits.beefy_positions = 3;
    limits.para_sessions = 2;
    auto db = open();
    MemoryBlobStore store;
    Protector core(store, limits);
    std::mt19937 rng(777);
    auto pick = [&](uint32_t n) { return static_cast<uint8_t>(rng() % n); };
    using K = ParaStatementKind;
    std::vector<Signable> stream;
    std::vector<Bytes> keys;
    for (int i = 0; i < 600; ++i) {
        switch (pick(4)) {
            case 0:
                stream.push_back(
                    grandpa(pick(2) ? GrandpaMessageKind::prevote : GrandpaMessageKind::precommit,
                            pick(3), pick(14)));
                break;
            case 1:
                stream.push_back(babe(pick(14), pick(3)));
                break;
            case 2:
                stream.push_back(beefy(pick(2), pick(8), pick(3)));
                break;
            default: {
                const K kinds[] = {K::backing_seconded, K::approval, K::dispute_valid,
                                   K::dispute_invalid, K::approval_multiple};
                const K kind = kinds[pick(5)];
                std::vector<Hash256> candidates{h(pick(3))};
                if (kind == K::approval_multiple) candidates.push_back(h(pick(3)));
                stream.push_back(para(kind, pick(6), candidates));
            }
        }
        keys.push_back(key(pick(2)));
    }
    int refused = 0, below = 0;
    for (size_t start = 0; start < stream.size();) {
        const size_t n = std::min<size_t>(1 + pick(40), stream.size() - start);
        std::vector<signerd::CheckItem> batch;
        for (size_t i = start; i < start + n; ++i) batch.push_back({keys[i], &stream[i]});
        const std::vector<Decision> got = db->check_and_record_batch(batch);
        ASSERT_EQ(got.size(), n);
        for (size_t i = 0; i < n; ++i) {
            const size_t at = start + i;
            auto expected = core.authorize(keys[at], stream[at]);
            ASSERT_TRUE(expected.ok());
            ASSERT_EQ(got[i].allowed, expected->allowed) << "request " << at;
            ASSERT_EQ(got[i].recorded, expected->recorded) << "request " << at;
            if (!got[i].allowed) {
                ++refused;
                below += expected->refusal.reason == Reason::below_watermark;
                EXPECT_EQ(got[i].refusal.reason, expected->refusal.reason) << at;
                EXPECT_EQ(got[i].refusal.earlier_payload_hash,
                          expected->refusal.earlier_payload_hash)
                    << at;
                EXPECT_EQ(got[i].refusal.watermark, expected->refusal.watermark) << at;
            }
        }
        start += n;
    }
    EXPECT_GT(refused, 50);
    EXPECT_GT(below, 10);  // the watermark really moved inside batches
    // And the stored history is the core's (which may split a key's para
    // history into several items: compare per key and rule).
    auto summary = [](const std::vector<History>& items) {
        std::map<std::pair<Rule, Bytes>, std::pair<Position, size_t>> out;
        for (const History& it : items) {
            auto& [wm, records] = out[{it.rule, it.public_key}];
            wm = std::max(wm, it.watermark);
            records += it.records.size();
        }
        return out;
    };
    auto mine = decode_document(db->export_document());
    auto theirs = core.export_all();
    ASSERT_TRUE(mine.ok());
    ASSERT_TRUE(theirs.ok());
    auto expected_items = decode_document(*theirs);
    ASSERT_TRUE(expected_items.ok());
    EXPECT_EQ(summary(*mine), summary(*expected_items));
}

// SQLite carries each key's batch state (watermark, newest positions) from one
// batch to the next. What did not come through this handle's batches must
// still be seen by the next one: another connection's commits (another
// handle, an operator's sqlite3 shell) and an import through this handle.
// (PostgreSQL carries nothing; the same answers are expected.)
TEST_P(DbTest, TheNextBatchSeesWritesMadeElsewhere) {
    limits.grandpa_positions = 4;
    auto a = open();
    for (uint64_t round = 1; round <= 3; ++round)
        ASSERT_TRUE(check(*a, key(1), prevote(1, round)).allowed);
    {
        // Rounds 10..15 from another handle: keeping the newest 4 raises the
        // watermark to round 12.
        auto b = open();
        for (uint64_t round = 10; round <= 15; ++round)
            ASSERT_TRUE(check(*b, key(1), prevote(1, round)).allowed);
    }
    Decision d = check(*a, key(1), prevote(2, 11));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
    EXPECT_EQ(d.refusal.watermark, (Position{5, 12}));
    EXPECT_FALSE(check(*a, key(1), prevote(2, 14)).allowed);  // b's vote binds a

    sql(backend(), options().sqlite_path,
        "UPDATE watermarks SET minor = 30 WHERE rule = 'grandpa'");
    d = check(*a, key(1), prevote(2, 20));
    EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
    EXPECT_EQ(d.refusal.watermark, (Position{5, 30}));

    History raised;
    raised.rule = Rule::grandpa;
    raised.public_key = key(1);
    raised.watermark = {5, 50};
    a->import_document(encode_document({raised}));
    d = check(*a, key(1), prevote(2, 40));
    EXPECT_EQ(d.refusal.reason, Reason::below_watermark);
    EXPECT_EQ(d.refusal.watermark, (Position{5, 50}));
    EXPECT_TRUE(check(*a, key(1), prevote(2, 50)).allowed);
}

// SQLite's WAL is checkpointed by a thread of the signer's own, not inside the
// signing batches' commits: after enough commits the database file itself
// holds the records (without anyone asking for a checkpoint), the WAL stays
// bounded, and a reopened handle sees every record.
TEST(ProtectionDbSqlite, TheWalIsCheckpointedInTheBackgroundAndStaysBounded) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ts-db-wal-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    ProtectionDbOptions o;
    o.backend = "sqlite";
    o.sqlite_path = (dir / "protection.sqlite").string();
    o.limits.grandpa_positions = 1'000'000;  // nothing pruned: every record stays
    const uint64_t kRounds = 3000;
    {
        auto db = signerd::open_protection_db(o);
        const auto initial = std::filesystem::file_size(o.sqlite_path);
        uintmax_t largest_wal = 0;
        for (uint64_t round = 1; round <= kRounds; ++round) {
            ASSERT_TRUE(check(*db, key(1), prevote(1, round)).allowed);
            largest_wal = std::max(largest_wal, std::filesystem::file_size(o.sqlite_path + "-wal"));
        }
        bool checkpointed = false;
        for (int i = 0; i < 500 && !checkpointed; ++i) {
            checkpointed = std::filesystem::file_size(o.sqlite_path) > initial + 200 * 1024;
            if (!checkpointed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(checkpointed) << "database file still "
                                  << std::filesystem::file_size(o.sqlite_path) << " bytes, WAL "
                                  << largest_wal;
        EXPECT_LT(largest_wal, uintmax_t{80} << 20);
    }
    auto reopened = signerd::open_protection_db(o);
    auto items = decode_document(reopened->export_document());
    ASSERT_TRUE(items.ok());
    size_t records = 0;
    for (const History& h : *items) records += h.records.size();
    EXPECT_EQ(records, kRounds);
    EXPECT_FALSE(check(*reopened, key(1), prevote(2, kRounds)).allowed);
    reopened.reset();
    std::filesystem::remove_all(dir);
}

// Every row of a SQL query on a SQLite file, columns joined with '|'.
std::vector<std::string> sqlite_rows(const std::string& path, const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10'000);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        std::string row;
        for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
            const unsigned char* text = sqlite3_column_text(stmt, c);
            row += (c ? "|" : "") + std::string(text ? reinterpret_cast<const char*>(text) : "");
        }
        rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

// Protection databases written before `records` was WITHOUT ROWID (schema 1
// up to commit e64422c: a rowid table plus an index on the primary key) are
// rebuilt once when a signer opens them: every record keeps every column, the
// watermarks and the audit log are untouched, the old records still refuse
// their conflicts, and a later open does not rebuild again. A failed rebuild
// fails the open and changes nothing.
TEST(ProtectionDbSqlite, AnOldRowidRecordsTableIsRebuiltOnceKeepingEveryRecord) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ts-db-rowid-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    ProtectionDbOptions o;
    o.backend = "sqlite";
    o.sqlite_path = (dir / "protection.sqlite").string();
    o.instance = "test";
    o.limits.grandpa_positions = 4;  // rounds 1-10: the watermark rises, old rounds are pruned
    using K = ParaStatementKind;
    {
        auto db = signerd::open_protection_db(o);
        for (uint64_t round = 1; round <= 10; ++round)
            ASSERT_TRUE(check(*db, key(1), prevote(1, round)).allowed);
        ASSERT_TRUE(check(*db, key(1), precommit(1, 10)).allowed);
        ASSERT_TRUE(check(*db, key(2), babe(500, 1)).allowed);
        ASSERT_TRUE(check(*db, key(2), beefy(2, 900, 1)).allowed);
        ASSERT_TRUE(check(*db, key(3), para(K::approval_multiple, 30, {h(9), h(10)})).allowed);
        signerd::AuditEntry e;
        e.method = "signer_signGrandpaVote";
        e.outcome = "signed";
        db->append_audit(e);
        ASSERT_EQ(db->audit_tail(5).size(), 1u);  // written before the handle closes
    }
    const std::string path = o.sqlite_path;
    const std::string all_records =
        "SELECT * FROM records ORDER BY public_key, rule, major, minor, vote";
    const std::string records_sql = "SELECT sql FROM sqlite_master WHERE name = 'records'";
    const auto records = sqlite_rows(path, all_records);
    const auto watermarks = sqlite_rows(path, "SELECT * FROM watermarks ORDER BY public_key, rule");
    const auto audit = sqlite_rows(path, "SELECT * FROM audit_log ORDER BY id");
    ASSERT_EQ(records.size(), 4u + 1 + 1 + 1 + 2);
    ASSERT_EQ(watermarks.size(), 1u);
    ASSERT_EQ(sqlite_rows(path, records_sql).at(0).find("WITHOUT ROWID") != std::string::npos, true)
        << "a new database starts WITHOUT ROWID";

    // Put the table back as schema 1 created it before, rows and all.
    sqlite_rows(path,
                "CREATE TABLE records_old ("
                " public_key TEXT NOT NULL, rule TEXT NOT NULL, major BIGINT NOT NULL,"
                " minor BIGINT NOT NULL, vote TEXT NOT NULL, kind INTEGER NOT NULL,"
                " sides INTEGER NOT NULL, subject TEXT NOT NULL, number BIGINT NOT NULL,"
                " payload_hash TEXT NOT NULL, created_at TEXT NOT NULL,"
                " PRIMARY KEY (public_key, rule, major, minor, vote))");
    sqlite_rows(path, "INSERT INTO records_old SELECT * FROM records");
    sqlite_rows(path, "DROP TABLE records");
    sqlite_rows(path, "ALTER TABLE records_old RENAME TO records");
    ASSERT_EQ(sqlite_rows(path, records_sql).at(0).find("WITHOUT ROWID"), std::string::npos);
    ASSERT_EQ(
        sqlite_rows(path,
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"),
        std::vector<std::string>{"sqlite_autoindex_records_1"});
    ASSERT_EQ(sqlite_rows(path, all_records), records);

    // A rebuild that fails part way (here: its new table's name is taken by a
    // view) fails the open and leaves the old table as it was.
    sqlite_rows(path, "CREATE VIEW records_without_rowid AS SELECT 1");
    EXPECT_THROW(signerd::open_protection_db(o), signerd::ProtectionDbError);
    EXPECT_EQ(sqlite_rows(path, records_sql).at(0).find("WITHOUT ROWID"), std::string::npos);
    EXPECT_EQ(sqlite_rows(path, all_records), records);
    sqlite_rows(path, "DROP VIEW records_without_rowid");

    std::string rebuilt_root;
    {
        auto db = signerd::open_protection_db(o);
        EXPECT_NE(sqlite_rows(path, records_sql).at(0).find("WITHOUT ROWID"), std::string::npos);
        EXPECT_TRUE(
            sqlite_rows(
                path,
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")
                .empty());
        EXPECT_EQ(sqlite_rows(path, all_records), records);
        EXPECT_EQ(sqlite_rows(path, "SELECT * FROM watermarks ORDER BY public_key, rule"),
                  watermarks);
        EXPECT_EQ(sqlite_rows(path, "SELECT * FROM audit_log ORDER BY id"), audit);
        EXPECT_EQ(sqlite_rows(path, "SELECT version FROM schema_version"),
                  std::vector<std::string>{"1"});
        // The old records still decide.
        EXPECT_FALSE(check(*db, key(1), prevote(2, 10)).allowed);
        EXPECT_FALSE(check(*db, key(1), prevote(1, 6)).allowed) << "below the watermark";
        EXPECT_TRUE(check(*db, key(1), prevote(1, 10)).allowed) << "the identical vote";
        EXPECT_FALSE(check(*db, key(2), babe(500, 2)).allowed);
        EXPECT_FALSE(check(*db, key(2), beefy(2, 900, 2)).allowed);
        EXPECT_FALSE(check(*db, key(3), para(K::dispute_invalid, 30, {h(10)})).allowed);
        EXPECT_TRUE(check(*db, key(1), prevote(1, 11)).allowed);
        rebuilt_root =
            sqlite_rows(path, "SELECT rootpage FROM sqlite_master WHERE name = 'records'").at(0);
    }
    {
        auto db = signerd::open_protection_db(o);
        EXPECT_EQ(
            sqlite_rows(path, "SELECT rootpage FROM sqlite_master WHERE name = 'records'").at(0),
            rebuilt_root)
            << "rebuilt a second time";
        EXPECT_FALSE(check(*db, key(1), prevote(2, 11)).allowed);
        EXPECT_EQ(sqlite_rows(path, all_records).size(), records.size());  // round 11 in, 7 pruned
    }
    std::filesystem::remove_all(dir);
}

// A failure inside a batch (the database rejects one item's insert after
// earlier items of the same transaction wrote theirs): every caller of that
// batch gets the error, nothing of it is recorded.
TEST_P(DbTest, AFailureInsideABatchFailsEveryCallerAndRecordsNothing) {
    auto db = open();
    poison_major_666(backend(), options().sqlite_path);
    const Bytes pk = key(1);
    const Signable a = prevote(1, 1), b = babe(40, 1),
                   bad = grandpa(GrandpaMessageKind::prevote, 1, 1, 666), c = prevote(1, 2);
    EXPECT_THROW(db->check_and_record_batch({{pk, &a}, {pk, &b}, {pk, &bad}, {pk, &c}}),
                 signerd::ProtectionDbError);
    EXPECT_TRUE(db->history().empty()) << "a failed batch left records behind";
    // Concurrent callers: whoever shared the poisoned batch got the error and
    // has no record; whoever was allowed has one.
    constexpr int kThreads = 12;
    auto gate = std::make_unique<BatchGate>(backend(), options().sqlite_path, pk);
    std::vector<int> outcome(kThreads + 1, -1);  // 1 allowed, 0 refused, 2 error
    std::vector<std::thread> threads;
    auto call = [&](int i, const Signable& s) {
        try {
            outcome[static_cast<size_t>(i)] = check(*db, pk, s).allowed ? 1 : 0;
        } catch (const signerd::ProtectionDbError&) {
            outcome[static_cast<size_t>(i)] = 2;
        }
    };
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] { call(i, prevote(1, static_cast<uint64_t>(10 + i))); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    threads.emplace_back([&] { call(kThreads, bad); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate->open();
    for (auto& th : threads) th.join();
    EXPECT_EQ(outcome[kThreads], 2) << "the poisoned request";
    int failed = 0;
    for (int i = 0; i < kThreads; ++i) {
        ASSERT_NE(outcome[static_cast<size_t>(i)], 0) << i;
        failed += outcome[static_cast<size_t>(i)] == 2;
        // Recorded exactly when allowed: the conflicting vote tells.
        const bool recorded = !check(*db, pk, prevote(2, static_cast<uint64_t>(10 + i))).allowed;
        EXPECT_EQ(recorded, outcome[static_cast<size_t>(i)] == 1) << i;
    }
    EXPECT_GE(failed, 1) << "no caller shared the poisoned batch";
}

TEST_P(DbTest, AuditLogKeepsOutcomesAndNoMessageBytes) {
    auto db = open();
    signerd::AuditEntry e;
    e.client = "validator-1";
    e.method = "signer_signGrandpaVote";
    e.key_type = "gran";
    e.public_key = core::to_hex(key(1), false);
    e.rule = "grandpa";
    e.position = {5, 10};
    e.payload_hash = core::to_hex(prevote(1, 10).payload_hash, false);
    e.outcome = "signed";
    db->append_audit(e);
    e.outcome = "refused";
    e.code = "grandpa_prevote_equivocation";
    db->append_audit(e);
    auto rows = db->audit_tail(10);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].outcome, "signed");
    EXPECT_EQ(rows[1].outcome, "refused");
    EXPECT_EQ(rows[1].code, "grandpa_prevote_equivocation");
    EXPECT_EQ(rows[1].client, "validator-1");
    EXPECT_EQ(rows[1].instance, "test");
    EXPECT_EQ(rows[1].position, (Position{5, 10}));
    EXPECT_FALSE(rows[1].at.empty());
}

// signer_retireKeys asks the audit log when a key last signed: the newest
// "signed" row for that public key (refusals and other keys do not count).
TEST_P(DbTest, LastSignedAtIsTheNewestSignedRowOfTheKey) {
    auto db = open();
    const std::string pk = core::to_hex(key(7), false);
    EXPECT_FALSE(db->last_signed_at(pk).has_value());
    signerd::AuditEntry e;
    e.method = "keystore_sign";
    e.key_type = "audi";
    e.public_key = pk;
    e.rule = "none";
    e.outcome = "signed";
    e.at = "2025-01-31T10:00:00.000Z";
    db->append_audit(e);
    e.at = "2025-01-31T11:00:00.000Z";
    db->append_audit(e);
    e.at = "2025-01-31T12:00:00.000Z";
    e.outcome = "refused";
    db->append_audit(e);
    e.public_key = core::to_hex(key(8), false);
    e.outcome = "signed";
    db->append_audit(e);
    EXPECT_EQ(db->last_signed_at(pk), std::optional<std::string>("2025-01-31T11:00:00.000Z"));
    EXPECT_EQ(signerd::parse_iso_utc(*db->last_signed_at(pk)), 1738321200);
    EXPECT_FALSE(db->last_signed_at(core::to_hex(key(9), false)).has_value());
}

TEST_P(DbTest, RefusesPositionsTheDatabaseCannotOrder) {
    auto db = open();
    Signable s = prevote(1, uint64_t{1} << 63);
    EXPECT_THROW(check(*db, key(1), s), signerd::ProtectionDbError);
}

INSTANTIATE_TEST_SUITE_P(Backends, DbTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

// ---- Fail closed ---------------------------------------------------------------------------

TEST(ProtectionDbFailClosed, UnreachablePostgresThrows) {
    ProtectionDbOptions o;
    o.backend = "postgres";
    o.postgres_url = "postgresql:///nodb?host=/nonexistent-socket-dir&user=nobody";
    o.max_attempts = 2;
    EXPECT_THROW(signerd::open_protection_db(o), signerd::ProtectionDbError);
}

TEST(ProtectionDbFailClosed, RedactsPasswords) {
    EXPECT_EQ(signerd::redact_postgres_url("postgresql://u:secret@h:5432/db"),
              "postgresql://u:***@h:5432/db");
    EXPECT_EQ(signerd::redact_postgres_url("host=h password=secret user=u"),
              "host=h password=*** user=u");
    EXPECT_EQ(signerd::redact_postgres_url("postgresql:///db?password=secret&host=x"),
              "postgresql:///db?password=***&host=x");
}

// ---- Configuration ---------------------------------------------------------------------------

TEST(ProtectionConfig, FileEnvironmentAndFlags) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ts-db-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "c.toml").string();
    std::ofstream(file) << "data_dir = \"/srv/ts\"\n[protection]\ndatabase = \"postgres\"\n"
                           "postgres_url = \"postgresql://file@h/db\"\npostgres_pool = 2\n";
    ::unsetenv("TS_POSTGRES_URL");
    signerd::ServeFlags f;
    f.config_file = file;
    signerd::Config c = signerd::build_config(f);
    EXPECT_EQ(c.protection.database, "postgres");
    EXPECT_EQ(c.protection.postgres_url, "postgresql://file@h/db");
    EXPECT_EQ(c.protection.postgres_pool, 2u);
    EXPECT_EQ(c.protection.sqlite_path, "/srv/ts/protection.sqlite");
    ::setenv("TS_POSTGRES_URL", "postgresql://env@h/db", 1);
    EXPECT_EQ(signerd::build_config(f).protection.postgres_url, "postgresql://env@h/db");
    f.set_postgres_url = true;
    f.postgres_url = "postgresql://flag@h/db";
    EXPECT_EQ(signerd::build_config(f).protection.postgres_url, "postgresql://flag@h/db");
    ::unsetenv("TS_POSTGRES_URL");
    f.set_protection_db = true;
    f.protection_db = "none";
    EXPECT_EQ(signerd::build_config(f).protection.database, "none");

    // Defaults: SQLite under the data directory.
    signerd::ServeFlags plain;
    plain.set_data_dir = true;
    plain.data_dir = "/var/lib/x";
    c = signerd::build_config(plain);
    EXPECT_EQ(c.protection.database, "sqlite");
    EXPECT_EQ(c.protection.sqlite_path, "/var/lib/x/protection.sqlite");

    // Bad values name the option.
    std::ofstream(file) << "[protection]\ndatabase = \"mysql\"\n";
    f.set_protection_db = false;
    try {
        signerd::build_config(f);
        ADD_FAILURE() << "mysql accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("protection.database"), std::string::npos) << e.what();
    }
    std::ofstream(file) << "[protection]\ndatabase = \"postgres\"\n";
    f.set_postgres_url = false;
    EXPECT_THROW(signerd::build_config(f), std::runtime_error);  // no URL anywhere
    std::ofstream(file) << "[protection]\nunknown = 1\n";
    EXPECT_THROW(signerd::build_config(f), std::runtime_error);
    std::filesystem::remove_all(dir);

    // The shipped example parses and documents the default.
    signerd::Config example = signerd::default_config();
    signerd::apply_toml_file(example, std::string(TS_SOURCE_DIR) + "/signerd/example-config.toml");
    EXPECT_EQ(example.protection.database, "sqlite");
}

// ---- ProtectedKeyService over JSON-RPC -----------------------------------------------------

// Signs anything (typed payloads too) and counts what reached the "TEE"; its
// protection history is a core Protector that only import fills.
class CountingKeyService : public signerd::testing::FakeKeyService {
  public:
    signerd::ProtectionPage export_protection(uint64_t cursor, uint32_t max_bytes) override {
        auto page = tee.export_page(cursor, max_bytes == 0 ? 65536 : max_bytes);
        EXPECT_TRUE(page.ok());
        return {page->document, page->next};
    }
    signerd::ProtectionImport import_protection(core::ByteSpan document) override {
        auto r = tee.import(document);
        if (!r) throw signerd::ServiceError(signerd::rpc_error::kInvalidParams, "bad document");
        return {r->items, r->records_added, r->records_conflicting, r->watermarks_raised};
    }
    MemoryBlobStore tee_store;
    Protector tee{tee_store};
    signerd::SignedPayload sign_typed(signerd::TypedPayload, const signerd::KeyTypeId&,
                                      core::ByteSpan, core::ByteSpan payload) override {
        ++typed_calls;
        return {Bytes(64, 1), core::blake2b_256(payload)};
    }
    Bytes sign(const signerd::KeyTypeId& type, core::Scheme scheme, core::ByteSpan pk,
               core::ByteSpan message) override {
        ++sign_calls;
        return FakeKeyService::sign(type, scheme, pk, message);
    }
    // The non-blocking form: signs at once, answers when the test says so.
    bool sign_async(const signerd::KeyTypeId& type, core::Scheme scheme, core::ByteSpan pk,
                    core::ByteSpan message, signerd::Completion<Bytes> done) override {
        ++async_calls;
        signerd::Outcome<Bytes> outcome;
        try {
            outcome.value = sign(type, scheme, pk, message);
        } catch (...) {
            outcome.error = std::current_exception();
        }
        pending.push_back([done, outcome] { done(outcome); });
        return true;
    }
    std::vector<std::function<void()>> pending;
    std::atomic<int> typed_calls{0}, sign_calls{0}, async_calls{0};
};

class ProtectedServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("ts-pks-test-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        ProtectionDbOptions o;
        o.sqlite_path = (dir_ / "p.sqlite").string();
        db_ = signerd::open_protection_db(o);
        service_ = std::make_unique<signerd::ProtectedKeyService>(inner_, *db_, &metrics_);
        signerd::register_rpc_methods(dispatcher_, *service_, metrics_);
        gran_ = inner_.generate_new({'g', 'r', 'a', 'n'}, core::Scheme::ed25519, std::nullopt);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    nlohmann::json call(const std::string& method, nlohmann::json params) {
        signerd::set_audit_context("tester", method);
        nlohmann::json req = {
            {"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
        auto out = dispatcher_.handle(req.dump(), signerd::ClientContext{});
        EXPECT_TRUE(out.has_value());
        return nlohmann::json::parse(*out);
    }

    std::filesystem::path dir_;
    CountingKeyService inner_;
    signerd::Metrics metrics_;
    std::unique_ptr<ProtectionDb> db_;
    std::unique_ptr<signerd::ProtectedKeyService> service_;
    signerd::RpcDispatcher dispatcher_;
    Bytes gran_;
};

TEST_F(ProtectedServiceTest, KeystoreSignOfAConflictingVoteIsRefusedBeforeTheTee) {
    const std::string pk = core::to_hex(gran_);
    const Bytes first = prevote_bytes(1, 77);
    auto r = call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(first)});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    r = call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(first)});
    ASSERT_TRUE(r.contains("result")) << "identical re-sign: " << r.dump();
    EXPECT_EQ(inner_.sign_calls, 2);

    r = call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(prevote_bytes(2, 77))});
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["code"], -32010);
    EXPECT_EQ(r["error"]["data"]["code"], "grandpa_prevote_equivocation");
    EXPECT_EQ(r["error"]["data"]["rule"], "grandpa");
    EXPECT_EQ(r["error"]["data"]["earlier"]["payloadHash"], core::to_hex(core::blake2b_256(first)));
    EXPECT_EQ(inner_.sign_calls, 2) << "a refused vote must never reach the TEE";
    EXPECT_EQ(
        metrics_.value(signerd::Metrics::kRefusals, {{"rule", "grandpa_prevote_equivocation"}}), 1);
    // Each of the three votes spent time in the database's check, refusal included.
    const std::string text = metrics_.render();
    const std::string count = "\nteesigner_protection_db_check_seconds_count ";
    ASSERT_NE(text.find(count), std::string::npos) << text;
    EXPECT_EQ(std::stod(text.substr(text.find(count) + count.size())), 3);

    // Opaque bytes (not a vote) are the TEE's policy's business: passed through.
    r = call("keystore_sign", {"gran", "ed25519", pk, "0x0102"});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(inner_.sign_calls, 3);

    auto audit = db_->audit_tail(10);
    ASSERT_EQ(audit.size(), 4u);
    EXPECT_EQ(audit[2].outcome, "refused");
    EXPECT_EQ(audit[2].code, "grandpa_prevote_equivocation");
    EXPECT_EQ(audit[2].client, "tester");
    EXPECT_EQ(audit[2].method, "keystore_sign");
    EXPECT_EQ(audit[2].rule, "grandpa");
    EXPECT_EQ(audit[3].rule, "none");
}

TEST_F(ProtectedServiceTest, TypedSigningIsCheckedAndAGrandpaKeyUnderAnotherTypeToo) {
    const std::string pk = core::to_hex(gran_);
    auto r = call("signer_signGrandpaVote", {"gran", pk, core::to_hex(prevote_bytes(1, 5))});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    r = call("signer_signGrandpaVote", {"gran", pk, core::to_hex(prevote_bytes(9, 5))});
    ASSERT_TRUE(r.contains("error"));
    EXPECT_EQ(r["error"]["code"], -32010);
    EXPECT_EQ(inner_.typed_calls, 1);
    // The same key signing under the "test" key type: still a GRANDPA key.
    r = call("keystore_sign", {"test", "ed25519", pk, core::to_hex(prevote_bytes(9, 5))});
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["code"], -32010);
}

// A round the database cannot store (>= 2^63) is a bad request, answered as
// one (-32602), not as a database outage (-32603), and never signed.
TEST_F(ProtectedServiceTest, APositionTheDatabaseCannotHoldIsABadRequestNotAnOutage) {
    const std::string pk = core::to_hex(gran_);
    auto r = call("signer_signGrandpaVote",
                  {"gran", pk, core::to_hex(prevote_bytes(1, uint64_t{1} << 63))});
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["code"], -32602);
    EXPECT_NE(r["error"]["message"].get<std::string>().find("cannot record"), std::string::npos)
        << r.dump();
    EXPECT_EQ(inner_.typed_calls, 0);
    auto audit = db_->audit_tail(1);
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].code, "protection_request_unrecordable");
    // The database still works for everything else.
    r = call("signer_signGrandpaVote", {"gran", pk, core::to_hex(prevote_bytes(1, 6))});
    EXPECT_TRUE(r.contains("result")) << r.dump();
}

TEST_F(ProtectedServiceTest, AKeyAddedUnderGrandpaLaterIsProtectedFromThen) {
    const signerd::KeyTypeId test{'t', 'e', 's', 't'}, gran{'g', 'r', 'a', 'n'};
    const Bytes pk = service_->generate_new(test, core::Scheme::ed25519, std::string("//X"));
    // Not a GRANDPA key yet: vote-shaped bytes are opaque (the TEE's policy decides).
    EXPECT_NO_THROW(service_->sign(test, core::Scheme::ed25519, pk, prevote_bytes(1, 9)));
    EXPECT_NO_THROW(service_->sign(test, core::Scheme::ed25519, pk, prevote_bytes(2, 9)));
    // The same key under "gran" (dev seeds): from now on its votes are protected.
    ASSERT_EQ(service_->generate_new(gran, core::Scheme::ed25519, std::string("//X")), pk);
    EXPECT_NO_THROW(service_->sign(test, core::Scheme::ed25519, pk, prevote_bytes(1, 10)));
    EXPECT_THROW(service_->sign(test, core::Scheme::ed25519, pk, prevote_bytes(2, 10)),
                 signerd::ServiceError);
}

// What an RPC I/O thread may run without blocking: only calls the database has
// no say in, once the key types a key is held under are known. Votes, and
// anything before that, go to the blocking path, where the database decides
// first. The audit row names the caller of the call, not of the thread that
// completed it.
TEST_F(ProtectedServiceTest, TheNonBlockingPathTakesOnlyWhatTheDatabaseHasNoSayIn) {
    const std::string pk = core::to_hex(gran_);
    auto body = [&](const std::string& method, nlohmann::json params) {
        return nlohmann::json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}}
            .dump();
    };
    std::vector<std::optional<std::string>> answers;
    auto sink = [&](std::optional<std::string> out) { answers.push_back(std::move(out)); };
    signerd::set_audit_context("tester", "keystore_sign");

    // Whether the key is also a para key is not known yet: the blocking path asks.
    EXPECT_FALSE(dispatcher_.handle_without_blocking(
        body("keystore_sign", {"gran", "ed25519", pk, "0x0102"}), {}, sink));
    ASSERT_TRUE(call("keystore_sign", {"gran", "ed25519", pk, "0x0102"}).contains("result"));

    // Now opaque bytes go without blocking, answered when the inner call completes.
    signerd::set_audit_context("tester", "keystore_sign");
    ASSERT_TRUE(dispatcher_.handle_without_blocking(
        body("keystore_sign", {"gran", "ed25519", pk, "0x0304"}), {}, sink));
    EXPECT_TRUE(answers.empty());
    ASSERT_EQ(inner_.pending.size(), 1u);
    std::thread([&] {
        signerd::set_audit_context("someone-else", "other_method");
        inner_.pending[0]();
    }).join();
    ASSERT_EQ(answers.size(), 1u);
    ASSERT_TRUE(answers[0].has_value());
    EXPECT_TRUE(nlohmann::json::parse(*answers[0]).contains("result")) << *answers[0];
    auto audit = db_->audit_tail(1);
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].client, "tester");
    EXPECT_EQ(audit[0].method, "keystore_sign");
    EXPECT_EQ(audit[0].outcome, "signed");
    EXPECT_EQ(audit[0].rule, "none");

    // A vote, as raw bytes or typed: the database decides, on the blocking path.
    const Bytes vote = prevote_bytes(1, 88), other = prevote_bytes(2, 88);
    EXPECT_FALSE(dispatcher_.handle_without_blocking(
        body("keystore_sign", {"gran", "ed25519", pk, core::to_hex(vote)}), {}, sink));
    EXPECT_FALSE(dispatcher_.handle_without_blocking(
        body("signer_signGrandpaVote", {"gran", pk, core::to_hex(vote)}), {}, sink));
    ASSERT_TRUE(
        call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(vote)}).contains("result"));
    EXPECT_FALSE(dispatcher_.handle_without_blocking(
        body("keystore_sign", {"gran", "ed25519", pk, core::to_hex(other)}), {}, sink));
    auto r = call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(other)});
    EXPECT_EQ(r["error"]["code"], -32010) << r.dump();
    EXPECT_EQ(inner_.async_calls, 1);
    EXPECT_EQ(answers.size(), 1u);
}

TEST_F(ProtectedServiceTest, ExportMergesTeeAndDatabaseAndImportFillsBoth) {
    const std::string pk = core::to_hex(gran_);
    // Recorded by the database only (the fake TEE keeps no history of its own).
    auto r = call("keystore_sign", {"gran", "ed25519", pk, core::to_hex(prevote_bytes(1, 40))});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    // Known to the TEE only: a babe record for another key.
    ASSERT_TRUE(inner_.tee.authorize(key(77), babe(12, 1)).ok());

    r = call("signer_exportProtection", nlohmann::json::array());
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_TRUE(r["result"]["next"].is_null());
    auto doc = core::from_hex(r["result"]["document"].get<std::string>());
    ASSERT_TRUE(doc.ok());
    auto items = decode_document(*doc);
    ASSERT_TRUE(items.ok());
    ASSERT_EQ(items->size(), 2u);
    bool has_grandpa = false, has_babe = false;
    for (const History& it : *items) {
        has_grandpa = has_grandpa || (it.rule == Rule::grandpa && it.public_key == gran_);
        has_babe = has_babe || (it.rule == Rule::babe && it.public_key == key(77));
    }
    EXPECT_TRUE(has_grandpa);
    EXPECT_TRUE(has_babe);

    // Small pages: one item each, then the end.
    r = call("signer_exportProtection", {0, 60});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["next"], "1");

    // Import goes into both: the database now refuses the TEE-only conflict.
    r = call("signer_importProtection", {core::to_hex(*doc)});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_FALSE(db_->check_and_record(key(77), babe(12, 2)).allowed);
}

// ---- PostgreSQL: lost connections and outages ------------------------------------------------

// Runs one statement on the test server's maintenance connection.
void admin(const std::string& sql) {
    PGconn* c = PQconnectdb(postgres_url().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << sql << ": " << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
}

// The test server's URL with another database name, as key=value pairs.
std::string with_database(const std::string& dbname) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(postgres_url().c_str(), &err);
    if (opts == nullptr) {
        PQfreemem(err);
        return {};
    }
    std::string out = "dbname=" + dbname;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
        if (o->val != nullptr && *o->val != '\0' && std::string(o->keyword) != "dbname")
            out += std::string(" ") + o->keyword + "='" + o->val + "'";
    PQconninfoFree(opts);
    return out;
}

TEST(ProtectionDbPostgres, LostConnectionsReconnectAndAnOutageFailsClosed) {
    if (postgres_url().empty()) {
        if (postgres_skipped()) GTEST_SKIP() << "TS_TEST_POSTGRES_SKIP=1";
        FAIL() << "TS_TEST_POSTGRES_URL is not set (run through scripts/with-postgres.sh)";
    }
    admin("DROP DATABASE IF EXISTS tsfail WITH (FORCE)");
    admin("CREATE DATABASE tsfail");
    const std::string kill =
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'tsfail'";
    {
        ProtectionDbOptions o;
        o.backend = "postgres";
        o.postgres_url = with_database("tsfail");
        o.max_attempts = 3;
        auto db = signerd::open_protection_db(o);
        CountingKeyService inner;
        signerd::Metrics metrics;
        signerd::ProtectedKeyService service(inner, *db, &metrics);
        const signerd::KeyTypeId gran{'g', 'r', 'a', 'n'};
        const Bytes pk = inner.generate_new(gran, core::Scheme::ed25519, std::nullopt);
        auto sign = [&](uint8_t target, uint64_t round) {
            return service.sign(gran, core::Scheme::ed25519, pk, prevote_bytes(target, round));
        };
        EXPECT_NO_THROW(sign(1, 1));

        // The server drops every connection: the next request reconnects.
        admin(kill);
        EXPECT_NO_THROW(sign(1, 2));
        EXPECT_EQ(inner.sign_calls, 2);

        // An outage: no connection possible. Nothing is signed.
        admin("ALTER DATABASE tsfail ALLOW_CONNECTIONS false");
        admin(kill);
        try {
            sign(1, 3);
            ADD_FAILURE() << "signed without the database";
        } catch (const signerd::ServiceError& e) {
            EXPECT_EQ(e.code(), signerd::rpc_error::kInternalError);
            EXPECT_EQ(e.rule(), "protection_db_unavailable");
        }
        EXPECT_EQ(inner.sign_calls, 2) << "the TEE must not be asked while the database is down";
        EXPECT_FALSE(service.health().ok);

        // Back: the history survived, the refused request is signable now.
        admin("ALTER DATABASE tsfail ALLOW_CONNECTIONS true");
        EXPECT_NO_THROW(sign(1, 3));
        EXPECT_THROW(sign(2, 2), signerd::ServiceError);
        EXPECT_TRUE(service.health().ok);
    }
    admin("DROP DATABASE IF EXISTS tsfail WITH (FORCE)");
}

}  // namespace
