// A small map from byte strings to values for the TA's in-memory caches: a
// sorted vector (header-only code, so an OP-TEE TA links no libstdc++ tree
// code). The TA is the only writer of its storage, so what it cached stays
// true until it writes again; callers keep the cache in step with their writes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "teesigner/core/bytes.hpp"

namespace teesigner::ta {

template <class V>
class ByteKeyCache {
  public:
    V* find(core::ByteSpan key) {
        auto it = lower(key);
        if (it == entries_.end() || !equal(it->key, key)) return nullptr;
        return &it->value;
    }

    /// Insert or replace; returns the stored value (its address changes when
    /// later entries are inserted, unless V is a pointer type).
    V& put(core::ByteSpan key, V value) {
        auto it = lower(key);
        if (it != entries_.end() && equal(it->key, key)) {
            it->value = std::move(value);
            return it->value;
        }
        it = entries_.insert(it, Entry{core::Bytes(key.begin(), key.end()), std::move(value)});
        return it->value;
    }

    void erase(core::ByteSpan key) {
        auto it = lower(key);
        if (it != entries_.end() && equal(it->key, key)) entries_.erase(it);
    }

    void clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        core::Bytes key;
        V value;
    };
    static bool less(const core::Bytes& a, core::ByteSpan b) {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
    }
    static bool equal(const core::Bytes& a, core::ByteSpan b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    }
    typename std::vector<Entry>::iterator lower(core::ByteSpan key) {
        return std::lower_bound(entries_.begin(), entries_.end(), key,
                                [](const Entry& e, core::ByteSpan k) { return less(e.key, k); });
    }
    std::vector<Entry> entries_;
};

}  // namespace teesigner::ta
