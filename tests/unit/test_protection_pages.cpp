// Paged GRANDPA/BABE/BEEFY histories (core/protection.cpp, PagedHistory).
//
// The Protector keeps these histories in pages so that a vote rewrites a small
// page, not the whole history. These tests hold it to the rules as they read
// over one whole history (a model in this file: every record in one sorted
// list, pruned to the newest `limit` positions): the same decisions, refusal
// details and watermarks, for random streams with out-of-order, repeated and
// conflicting votes, pages of one to several positions, main objects of the
// earlier format (the whole history inline), and stores cut short after any
// write, one at a time or a batch committed object by object in first-write
// order (how the TA commits a batch without storage transactions).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"

namespace {

using namespace teesigner::core;
using namespace teesigner::core::protection;

Hash256 hash_of(uint8_t a, uint8_t b) {
    Hash256 out{};
    out[0] = a;
    out[1] = b;
    out[31] = 0x77;
    return out;
}

Bytes key(uint8_t k) {
    return Bytes(32, static_cast<uint8_t>(0x30 + k));
}

// The rules over one whole sorted history per (rule, key).
class WholeHistoryModel {
  public:
    explicit WholeHistoryModel(Limits limits) : limits_(limits) {}

    Decision authorize(const Bytes& pk, const Signable& s) {
        Entry& e = entries_[{s.rule, pk}];
        if (s.position < e.watermark)
            return refused(below_watermark_refusal(s.rule, s.position, e.watermark));
        const Record r = protection::record_of(s);
        for (const Record& earlier : e.records)
            if (earlier.position == r.position &&
                (s.rule != Rule::grandpa || earlier.kind == r.kind)) {
                if (earlier.payload_hash == r.payload_hash) return allowed(false);
                return refused(conflict_refusal(s.rule, s.position, earlier));
            }
        Entry next = e;
        next.records.push_back(r);
        std::sort(next.records.begin(), next.records.end(),
                  [&](const Record& a, const Record& b) { return record_less(s.rule, a, b); });
        std::vector<Position> distinct;
        for (const Record& x : next.records)
            if (distinct.empty() || distinct.back() != x.position) distinct.push_back(x.position);
        const uint32_t limit = position_limit(limits_, s.rule);
        if (distinct.size() > limit) {
            Position cut = distinct[distinct.size() - limit];
            if (cut > next.watermark) next.watermark = cut;
        }
        std::erase_if(next.records, [&](const Record& x) { return x.position < next.watermark; });
        if (r.position < next.watermark)
            return refused(below_watermark_refusal(s.rule, s.position, next.watermark));
        e = std::move(next);
        return allowed(true);
    }

    struct Entry {
        Position watermark;
        std::vector<Record> records;
    };
    const Entry& entry(Rule rule, const Bytes& pk) { return entries_[{rule, pk}]; }

  private:
    Limits limits_;
    std::map<std::pair<Rule, Bytes>, Entry> entries_;
};

// A random stream of votes for a few keys: mostly new positions rising, some
// older ones, repeats of what was signed, conflicting payloads.
class Stream {
  public:
    // Votes of `keys` keys under the first `rules` of grandpa, babe, beefy.
    explicit Stream(uint32_t seed, uint8_t keys = 3, uint8_t rules = 3)
        : rng_(seed), keys_(keys), rules_(rules) {}

    std::pair<Bytes, Signable> next() {
        const uint8_t k = pick(keys_);
        const Rule rule = std::array{Rule::grandpa, Rule::babe, Rule::beefy}[pick(rules_)];
        uint64_t& top = top_[{k, rule}];
        Position p;
        const uint8_t how = pick(10);
        uint64_t step = how < 6 ? top + 1 : how < 9 ? (top > 12 ? top - pick(12) : top) : top;
        if (how < 6) top = step;
        switch (rule) {
            case Rule::grandpa:
                p = {step / 40, step % 40};  // new set ids now and then
                break;
            case Rule::babe:
                p = {step, 0};
                break;
            default:
                p = {step / 25, step % 25};
                break;
        }
        Signable s;
        s.rule = rule;
        s.position = p;
        if (rule == Rule::grandpa) {
            s.kind = pick(2);
            s.subject = hash_of(pick(3), 1);
            s.number = pick(2);
        }
        s.payload_hash = hash_of(pick(3), static_cast<uint8_t>(s.kind + 10 * s.number) +
                                              static_cast<uint8_t>(s.subject[0] << 4));
        return {key(k), s};
    }

  private:
    uint8_t pick(uint32_t n) { return static_cast<uint8_t>(rng_() % n); }
    std::mt19937 rng_;
    uint8_t keys_, rules_;
    std::map<std::pair<uint8_t, Rule>, uint64_t> top_;
};

void expect_same(const Decision& got, const Decision& want, size_t step) {
    ASSERT_EQ(got.allowed, want.allowed) << "step " << step;
    ASSERT_EQ(got.recorded, want.recorded) << "step " << step;
    if (want.allowed) return;
    EXPECT_EQ(got.refusal.reason, want.refusal.reason) << "step " << step;
    EXPECT_EQ(got.refusal.watermark, want.refusal.watermark) << "step " << step;
    EXPECT_EQ(got.refusal.earlier_payload_hash, want.refusal.earlier_payload_hash)
        << "step " << step;
    EXPECT_EQ(got.refusal.earlier_kind, want.refusal.earlier_kind) << "step " << step;
}

void expect_same_histories(Protector& p, WholeHistoryModel& model, size_t step) {
    for (uint8_t k = 0; k < 3; ++k)
        for (Rule rule : {Rule::grandpa, Rule::babe, Rule::beefy}) {
            auto h = p.history(rule, key(k));
            ASSERT_TRUE(h.ok());
            const auto& want = model.entry(rule, key(k));
            EXPECT_EQ(h->watermark, want.watermark) << "step " << step;
            EXPECT_EQ(h->records, want.records) << "step " << step;
        }
}

Limits small_limits(uint32_t per_page) {
    Limits l;
    l.grandpa_positions = 7;
    l.babe_positions = 5;
    l.beefy_positions = 6;
    l.positions_per_page = per_page;
    return l;
}

class PagedHistory : public ::testing::TestWithParam<uint32_t> {};

TEST_P(PagedHistory, DecidesAsTheWholeHistoryModel) {
    const Limits limits = small_limits(GetParam());
    MemoryBlobStore store;
    Protector p(store, limits);
    WholeHistoryModel model(limits);
    Stream stream(100 + GetParam());
    int refused_below = 0, conflicts = 0;
    for (size_t step = 0; step < 4000; ++step) {
        auto [pk, s] = stream.next();
        auto got = p.authorize(pk, s);
        ASSERT_TRUE(got.ok()) << "step " << step;
        const Decision want = model.authorize(pk, s);
        expect_same(*got, want, step);
        refused_below += !want.allowed && want.refusal.reason == Reason::below_watermark;
        conflicts += !want.allowed && want.refusal.reason == Reason::conflict;
        if (step % 97 == 0) expect_same_histories(p, model, step);
        if (step % 500 == 0) {  // the stored bytes alone carry the state
            MemoryBlobStore copy;
            ASSERT_EQ(copy.restore(store.snapshot()), Error::ok);
            Protector reloaded(copy, limits);
            expect_same_histories(reloaded, model, step);
        }
    }
    EXPECT_GT(refused_below, 100);
    EXPECT_GT(conflicts, 100);
    // Pages bound what one vote rewrites: objects stay few, whatever the
    // number of votes (index, 9 main objects, pages of at most 7 positions).
    EXPECT_LE(store.object_count(), 1u + 9u * (1u + 8u));
}

// Export and import go through the pages too: a fresh store importing the
// export holds the same histories and decides alike afterwards.
TEST_P(PagedHistory, ExportImportCarriesThePages) {
    const Limits limits = small_limits(GetParam());
    MemoryBlobStore store;
    Protector p(store, limits);
    WholeHistoryModel model(limits);
    Stream stream(200 + GetParam());
    for (size_t step = 0; step < 600; ++step) {
        auto [pk, s] = stream.next();
        ASSERT_TRUE(p.authorize(pk, s).ok());
        model.authorize(pk, s);
    }
    auto doc = p.export_all();
    ASSERT_TRUE(doc.ok());
    MemoryBlobStore other;
    Protector imported(other, limits);
    auto report = imported.import(*doc);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->records_conflicting, 0u);
    expect_same_histories(imported, model, 600);
    // Importing again changes nothing.
    auto again = imported.import(*doc);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->records_added, 0u);
    EXPECT_EQ(again->watermarks_raised, 0u);
    for (size_t step = 600; step < 1200; ++step) {
        auto [pk, s] = stream.next();
        auto got = imported.authorize(pk, s);
        ASSERT_TRUE(got.ok());
        expect_same(*got, model.authorize(pk, s), step);
    }
    expect_same_histories(imported, model, 1200);
}

INSTANTIATE_TEST_SUITE_P(PositionsPerPage, PagedHistory, ::testing::Values(1u, 2u, 3u, 0u));

// A record as the stored formats encode it (written here independently of
// the core's encoder).
void put_record(scale::Encoder& x, const Record& r) {
    x.u64(r.position.major)
        .u64(r.position.minor)
        .u8(r.kind)
        .u8(r.sides)
        .raw(r.subject)
        .u32(r.number)
        .raw(r.payload_hash);
}

// A main object as the earlier format wrote it: the whole history inline.
Bytes format_one_main(Rule rule, const Bytes& pk, const WholeHistoryModel::Entry& e) {
    scale::Encoder enc;
    enc.u8(1).u8(static_cast<uint8_t>(rule)).bytes(pk);
    enc.u64(e.watermark.major).u64(e.watermark.minor);
    enc.vec(e.records, put_record);
    enc.vec(std::vector<uint32_t>{}, [](scale::Encoder& x, uint32_t s) { x.u32(s); });
    return enc.take();
}

Bytes main_name(Rule rule, const Bytes& pk) {
    Bytes n{'p', 'r', 'o', 't', '/', 'm', static_cast<uint8_t>(rule)};
    n.insert(n.end(), pk.begin(), pk.end());
    return n;
}

TEST(PagedHistoryFormats, MainObjectsOfTheFirstFormatAreReadAndCarriedOn) {
    const Limits limits = small_limits(2);
    WholeHistoryModel model(limits);
    Stream stream(300);
    for (size_t step = 0; step < 300; ++step) {
        auto [pk, s] = stream.next();
        model.authorize(pk, s);
    }
    // The store a signer of the earlier format left (no index needed to decide).
    MemoryBlobStore store;
    for (uint8_t k = 0; k < 3; ++k)
        for (Rule rule : {Rule::grandpa, Rule::babe, Rule::beefy})
            ASSERT_EQ(store.write(main_name(rule, key(k)),
                                  format_one_main(rule, key(k), model.entry(rule, key(k)))),
                      Error::ok);
    Protector p(store, limits);
    expect_same_histories(p, model, 300);
    for (size_t step = 300; step < 1500; ++step) {
        auto [pk, s] = stream.next();
        auto got = p.authorize(pk, s);
        ASSERT_TRUE(got.ok()) << "step " << step;
        expect_same(*got, model.authorize(pk, s), step);
        if (step % 50 == 0) expect_same_histories(p, model, step);
    }
}

Bytes page_name(Rule rule, const Bytes& pk, uint32_t slot) {
    Bytes n{'p', 'r', 'o', 't', '/', 'p', static_cast<uint8_t>(rule)};
    n.insert(n.end(), pk.begin(), pk.end());
    for (int i = 0; i < 4; ++i) n.push_back(static_cast<uint8_t>(slot >> (8 * i)));
    return n;
}

Bytes page_object(Rule rule, const Bytes& pk, uint32_t slot, const std::vector<Record>& records) {
    scale::Encoder x;
    x.u8(1).u8(static_cast<uint8_t>(rule)).bytes(pk).u32(slot);
    x.vec(records, put_record);
    return x.take();
}

struct TableEntry {
    uint32_t slot;
    Position from;
    uint32_t positions;
};

Bytes paged_main(Rule rule, const Bytes& pk, Position watermark,
                 const std::vector<TableEntry>& pages) {
    scale::Encoder x;
    x.u8(2).u8(static_cast<uint8_t>(rule)).bytes(pk).u64(watermark.major).u64(watermark.minor);
    x.vec(std::vector<Record>{}, put_record);
    x.vec(std::vector<uint32_t>{}, [](scale::Encoder& e, uint32_t v) { e.u32(v); });
    x.vec(pages, [](scale::Encoder& e, const TableEntry& t) {
        e.u32(t.slot).u64(t.from.major).u64(t.from.minor).u32(t.positions);
    });
    return x.take();
}

Record prevote_record(uint64_t round, uint8_t target) {
    Record r;
    r.position = {3, round};
    r.subject = hash_of(target, 1);
    r.payload_hash = hash_of(target, 2);
    return r;
}

Signable prevote_signable(uint64_t round, uint8_t target) {
    const Record r = prevote_record(round, target);
    Signable s;
    s.rule = Rule::grandpa;
    s.position = r.position;
    s.subject = r.subject;
    s.payload_hash = r.payload_hash;
    return s;
}

// Hand-made page tables and pages: the well-formed store decides from them;
// every damaged variant makes a decision that reads it fail (nothing signed).
TEST(PagedHistoryFormats, DamagedPagesAndTablesFailClosed) {
    const Bytes pk = key(0);
    const Rule g = Rule::grandpa;
    const std::vector<Record> page0 = {prevote_record(1, 1), prevote_record(2, 1)};
    const std::vector<Record> page1 = {prevote_record(5, 1), prevote_record(6, 1)};
    struct Variant {
        const char* what;
        Bytes main;
        Bytes page0, page1;
    };
    const Bytes good_main = paged_main(g, pk, {3, 1}, {{0, {3, 1}, 2}, {1, {3, 5}, 2}});
    const Bytes good0 = page_object(g, pk, 0, page0), good1 = page_object(g, pk, 1, page1);
    const std::vector<Variant> variants = {
        {"unsorted page", good_main, page_object(g, pk, 0, {page0[1], page0[0]}), good1},
        {"repeated record", good_main, page_object(g, pk, 0, {page0[0], page0[0]}), good1},
        {"page of another slot", good_main, page_object(g, pk, 1, page0), good1},
        {"page of another rule", good_main, page_object(Rule::beefy, pk, 0, page0), good1},
        {"slot listed twice", paged_main(g, pk, {3, 1}, {{0, {3, 1}, 2}, {0, {3, 5}, 2}}), good0,
         good1},
        {"pages out of order", paged_main(g, pk, {3, 1}, {{0, {3, 5}, 2}, {1, {3, 1}, 2}}), good0,
         good1},
        {"truncated table", Bytes(good_main.begin(), good_main.end() - 1), good0, good1},
    };
    auto store_with = [&](const Bytes& main, const Bytes& p0, const Bytes& p1) {
        auto store = std::make_unique<MemoryBlobStore>();
        EXPECT_EQ(store->write(main_name(g, pk), main), Error::ok);
        EXPECT_EQ(store->write(page_name(g, pk, 0), p0), Error::ok);
        EXPECT_EQ(store->write(page_name(g, pk, 1), p1), Error::ok);
        return store;
    };
    {  // The control: read as written.
        auto store = store_with(good_main, good0, good1);
        Protector p(*store);
        auto conflict = p.authorize(pk, prevote_signable(2, 9));
        ASSERT_TRUE(conflict.ok());
        EXPECT_FALSE(conflict->allowed);
        EXPECT_EQ(conflict->refusal.reason, Reason::conflict);
        auto again = p.authorize(pk, prevote_signable(6, 1));
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE(again->allowed && !again->recorded);
        auto below = p.authorize(pk, Signable(prevote_signable(0, 1)));
        ASSERT_TRUE(below.ok());
        EXPECT_EQ(below->refusal.reason, Reason::below_watermark);
        auto h = p.history(g, pk);
        ASSERT_TRUE(h.ok());
        EXPECT_EQ(h->records.size(), 4u);
    }
    for (const Variant& v : variants) {
        auto store = store_with(v.main, v.page0, v.page1);
        Protector p(*store);
        EXPECT_FALSE(p.authorize(pk, prevote_signable(2, 9)).ok()) << v.what;
        EXPECT_FALSE(p.history(g, pk).ok()) << v.what;
    }
}

// Released votes (allowed and stored in full) must bind every later decision:
// a different payload for the same vote is never allowed again.
class ReleasedVotes {
  public:
    void released(const Bytes& pk, const Signable& s) { signed_[id(pk, s)] = s.payload_hash; }
    bool contradicts(const Bytes& pk, const Signable& s, const Decision& d) const {
        if (!d.allowed) return false;
        auto it = signed_.find(id(pk, s));
        return it != signed_.end() && it->second != s.payload_hash;
    }

    // Every released vote is still in the stored history, or below its
    // watermark (refused from now on).
    void expect_remembered(Protector& p) const {
        std::map<std::pair<Bytes, Rule>, History> histories;
        for (const auto& [vote, payload] : signed_) {
            const auto& [pk, rule, major, minor, kind] = vote;
            auto [it, fresh] = histories.try_emplace({pk, rule});
            if (fresh) {
                auto read = p.history(rule, pk);
                ASSERT_TRUE(read.ok());
                it->second = std::move(read).value();
            }
            const History* h = &it->second;
            const Position at{major, minor};
            if (at < h->watermark) continue;
            const bool kept =
                std::any_of(h->records.begin(), h->records.end(), [&](const Record& r) {
                    return r.position == at && r.kind == kind && r.payload_hash == payload;
                });
            ASSERT_TRUE(kept) << "a released vote at (" << major << ", " << minor
                              << ") is forgotten";
        }
    }

  private:
    using Id = std::tuple<Bytes, Rule, uint64_t, uint64_t, uint8_t>;
    static Id id(const Bytes& pk, const Signable& s) {
        return {pk, s.rule, s.position.major, s.position.minor, s.kind};
    }
    std::map<Id, Hash256> signed_;
};

TEST(PagedHistoryCrashes, AWriteCutShortNeverLetsAReleasedVoteBeContradicted) {
    const Limits limits = small_limits(2);
    MemoryBlobStore store;
    Protector p(store, limits);
    ReleasedVotes released;
    Stream stream(400);
    std::mt19937 rng(401);
    int failed = 0;
    for (size_t step = 0; step < 6000; ++step) {
        auto [pk, s] = stream.next();
        const bool cut = rng() % 4 == 0;
        if (cut) store.fail_next_writes(1 + static_cast<int>(rng() % 2));
        auto d = p.authorize(pk, s);
        store.fail_next_writes(0);
        if (!d.ok()) {
            ++failed;
            continue;  // nothing released
        }
        ASSERT_FALSE(released.contradicts(pk, s, *d)) << "step " << step;
        if (d->allowed) released.released(pk, s);
        if (cut) released.expect_remembered(p);
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(failed, 500);
}

// The TA's group commit without storage transactions: the batch's writes are
// buffered (reads see them) and committed object by object, in the order each
// was first written, with the latest content; a crash can stop it after any
// object. Nothing of a batch is released unless all of it is committed.
class FirstWriteOrderStore final : public BlobStore {
  public:
    explicit FirstWriteOrderStore(MemoryBlobStore& durable) : durable_(durable) {}
    Error read(ByteSpan name, Bytes& out, bool& found) override {
        for (const auto& [n, data] : pending_)
            if (std::equal(n.begin(), n.end(), name.begin(), name.end())) {
                found = true;
                out = data;
                return Error::ok;
            }
        return durable_.read(name, out, found);
    }
    Error write(ByteSpan name, ByteSpan data) override {
        for (auto& [n, d] : pending_)
            if (std::equal(n.begin(), n.end(), name.begin(), name.end())) {
                d.assign(data.begin(), data.end());
                return Error::ok;
            }
        pending_.emplace_back(Bytes(name.begin(), name.end()), Bytes(data.begin(), data.end()));
        return Error::ok;
    }
    Error remove(ByteSpan) override { return Error::unsupported; }  // not used here
    size_t pending() const { return pending_.size(); }
    // Commit the first `n` objects; drop the rest (the crash).
    void commit(size_t n) {
        for (size_t i = 0; i < n && i < pending_.size(); ++i)
            EXPECT_EQ(durable_.write(pending_[i].first, pending_[i].second), Error::ok);
        pending_.clear();
    }

  private:
    MemoryBlobStore& durable_;
    std::vector<std::pair<Bytes, Bytes>> pending_;
};

TEST(PagedHistoryCrashes, ABatchCommittedInFirstWriteOrderIsSafeAtEveryPrefix) {
    for (uint32_t per_page : {1u, 2u, 3u}) {
        const Limits limits = small_limits(per_page);
        MemoryBlobStore durable;
        ReleasedVotes released;
        // One key and rule, batches of up to 24: pages fill, are dropped and
        // their slots reused inside one batch.
        Stream stream(500 + per_page, 1, 1);
        std::mt19937 rng(501);
        int crashes = 0, batches = 0;
        for (int batch = 0; batch < 800; ++batch) {
            FirstWriteOrderStore buffered(durable);
            Protector p(buffered, limits);
            std::vector<std::pair<Bytes, Signable>> allowed;
            const int items = 1 + static_cast<int>(rng() % 24);
            for (int i = 0; i < items; ++i) {
                auto [pk, s] = stream.next();
                auto d = p.authorize(pk, s);
                ASSERT_TRUE(d.ok());
                ASSERT_FALSE(released.contradicts(pk, s, *d))
                    << "batch " << batch << " item " << i << " pages of " << per_page;
                if (d->allowed) allowed.emplace_back(pk, s);
            }
            const size_t total = buffered.pending();
            const bool crash = total > 0 && rng() % 3 == 0;
            buffered.commit(crash ? rng() % total : total);
            crashes += crash;
            Protector after(durable, limits);
            released.expect_remembered(after);
            if (::testing::Test::HasFatalFailure()) return;
            if (crash) continue;
            ++batches;
            for (const auto& [pk, s] : allowed) released.released(pk, s);
        }
        EXPECT_GT(crashes, 100);
        EXPECT_GT(batches, 300);
    }
}

}  // namespace
