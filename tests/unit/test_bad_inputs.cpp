// Bad inputs to the in-memory protection store (docs/SECURITY.md, "Bad inputs
// and their outcomes"): a damaged snapshot is refused as a whole and leaves the
// store as it was. Also pins down the store's order and overwrite semantics,
// which the sorted-vector map (protection::detail::SortedMap, replacing
// std::map for the TA build) must keep.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"

namespace {

using teesigner::core::Bytes;
using teesigner::core::ByteSpan;
using teesigner::core::Error;
using teesigner::core::protection::MemoryBlobStore;
using teesigner::core::protection::detail::SortedMap;

Bytes b(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// The snapshot's (name, data) pairs, decoded independently of the store.
std::vector<std::pair<Bytes, Bytes>> entries(ByteSpan snapshot) {
    teesigner::core::scale::Decoder d(snapshot);
    std::vector<std::pair<Bytes, Bytes>> out;
    auto n = d.compact_u32();
    EXPECT_TRUE(n.ok());
    for (uint32_t i = 0; n.ok() && i < *n; ++i) {
        auto name = d.bytes();
        auto data = d.bytes();
        EXPECT_TRUE(name.ok() && data.ok());
        if (!name.ok() || !data.ok()) break;
        out.emplace_back(*name, *data);
    }
    EXPECT_EQ(d.finish(), Error::ok);
    return out;
}

TEST(MemoryBlobStore, SnapshotIsSortedByNameAndRoundTrips) {
    MemoryBlobStore store;
    // Written out of order, one name overwritten, one removed.
    for (const char* name : {"prot/m\x04", "prot/b", "index", "prot/m\x01", "zz", "a"})
        ASSERT_EQ(store.write(b(name), b(std::string("v-") + name)), Error::ok);
    ASSERT_EQ(store.write(b("index"), b("v2")), Error::ok);
    ASSERT_EQ(store.remove(b("zz")), Error::ok);
    ASSERT_EQ(store.remove(b("never-written")), Error::ok);  // absent: not an error
    EXPECT_EQ(store.object_count(), 5u);

    const Bytes snap = store.snapshot();
    auto got = entries(snap);
    ASSERT_EQ(got.size(), 5u);
    for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1].first, got[i].first) << i;
    EXPECT_EQ(got[0].first, b("a"));
    EXPECT_EQ(got[1].first, b("index"));
    EXPECT_EQ(got[1].second, b("v2"));

    MemoryBlobStore copy;
    ASSERT_EQ(copy.restore(snap), Error::ok);
    EXPECT_EQ(copy.snapshot(), snap);
    Bytes data;
    bool found = false;
    ASSERT_EQ(copy.read(b("prot/b"), data, found), Error::ok);
    EXPECT_TRUE(found);
    EXPECT_EQ(data, b("v-prot/b"));
    ASSERT_EQ(copy.read(b("zz"), data, found), Error::ok);
    EXPECT_FALSE(found);
}

TEST(MemoryBlobStore, DamagedSnapshotIsRefusedAndChangesNothing) {
    MemoryBlobStore source;
    ASSERT_EQ(source.write(b("index"), b("0123456789")), Error::ok);
    ASSERT_EQ(source.write(b("prot/m\x01"), Bytes(40, 7)), Error::ok);
    const Bytes snap = source.snapshot();

    MemoryBlobStore target;
    ASSERT_EQ(target.write(b("keep"), b("me")), Error::ok);
    const Bytes before = target.snapshot();
    // Every truncation, and trailing bytes, are refused; the store is untouched.
    for (size_t n = 0; n < snap.size(); ++n) {
        EXPECT_EQ(target.restore(ByteSpan(snap.data(), n)), Error::invalid_encoding) << n;
        EXPECT_EQ(target.snapshot(), before) << n;
    }
    Bytes trailing = snap;
    trailing.push_back(0);
    EXPECT_EQ(target.restore(trailing), Error::invalid_encoding);
    // A count far beyond the input fails before allocating anything.
    Bytes huge = teesigner::core::scale::encode_compact(1ull << 30);
    EXPECT_NE(target.restore(huge), Error::ok);
    EXPECT_EQ(target.snapshot(), before);
}

TEST(SortedMap, BehavesLikeAnOrderedMap) {
    SortedMap<std::pair<uint32_t, uint8_t>, int> m;
    EXPECT_TRUE(m.empty());
    EXPECT_EQ(m.find({1, 1}), nullptr);
    m[{3, 0}] = 30;
    m[{1, 9}] = 19;
    m[{1, 2}] = 12;
    m[{3, 0}] += 1;  // existing key: no second entry
    EXPECT_EQ(m.size(), 3u);
    ASSERT_NE(m.find({3, 0}), nullptr);
    EXPECT_EQ(*m.find({3, 0}), 31);
    EXPECT_TRUE(m.contains({1, 9}));
    EXPECT_FALSE(m.contains({1, 3}));
    std::vector<int> order;
    for (const auto& [key, value] : m) order.push_back(value);
    EXPECT_EQ(order, (std::vector<int>{12, 19, 31}));
    m.erase({1, 9});
    m.erase({7, 7});  // absent: nothing happens
    EXPECT_EQ(m.size(), 2u);
    EXPECT_FALSE(m.contains({1, 9}));
    EXPECT_EQ(m[std::make_pair(0u, uint8_t{0})], 0);  // inserted value-initialised
    EXPECT_EQ(m.begin()->first, (std::pair<uint32_t, uint8_t>{0, 0}));
}

}  // namespace
