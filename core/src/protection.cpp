// Slashing protection state machine (see protection.hpp).
#include "teesigner/core/protection.hpp"

#include <algorithm>

#include "teesigner/core/hash.hpp"
#include "teesigner/core/scale.hpp"

namespace teesigner::core::protection {
bool record_less(Rule rule, const Record& a, const Record& b) noexcept {
    if (a.position != b.position) return a.position < b.position;
    if (rule == Rule::grandpa) return a.kind < b.kind;
    if (rule == Rule::para) return a.subject < b.subject;
    return false;
}

Decision allowed(bool recorded) noexcept {
    Decision d;
    d.allowed = true;
    d.recorded = recorded;
    return d;
}

Decision refused(const Refusal& refusal) noexcept {
    Decision d;
    d.allowed = false;
    d.refusal = refusal;
    return d;
}

Refusal conflict_refusal(Rule rule, Position position, const Record& earlier) noexcept {
    Refusal r;
    r.reason = Reason::conflict;
    r.rule = rule;
    r.position = position;
    r.earlier_kind = earlier.kind;
    r.earlier_sides = earlier.sides;
    r.subject = earlier.subject;
    r.earlier_number = earlier.number;
    r.earlier_payload_hash = earlier.payload_hash;
    return r;
}

Refusal below_watermark_refusal(Rule rule, Position position, Position watermark) noexcept {
    Refusal r;
    r.reason = Reason::below_watermark;
    r.rule = rule;
    r.position = position;
    r.watermark = watermark;
    return r;
}

namespace {

using scale::Decoder;
using scale::Encoder;

constexpr uint8_t kFormat = 1;
// Main objects with a page table (format 1 mains are still read).
constexpr uint8_t kMainFormat = 2;
constexpr uint8_t kDocumentVersion = 1;
constexpr ByteArray<4> kDocumentMagic = {'T', 'S', 'P', 'X'};
constexpr size_t kRecordSize = 8 + 8 + 1 + 1 + 32 + 4 + 32;
// Object names must fit GP's 64-byte object id limit: "prot/b" + key + 5.
constexpr size_t kMaxPublicKey = 48;
constexpr uint64_t kMaxU32 = 0xffffffffu;

constexpr char kIndexName[] = "prot/index";
constexpr char kPolicyName[] = "prot/policy";

Bytes name_bytes(const char* s) {
    Bytes out;
    for (; *s != '\0'; ++s) out.push_back(static_cast<uint8_t>(*s));
    return out;
}

Bytes main_name(Rule rule, ByteSpan pk) {
    Bytes n = name_bytes("prot/m");
    n.push_back(static_cast<uint8_t>(rule));
    n.insert(n.end(), pk.begin(), pk.end());
    return n;
}

Bytes page_name(Rule rule, ByteSpan pk, uint32_t slot) {
    Bytes n = name_bytes("prot/p");
    n.push_back(static_cast<uint8_t>(rule));
    n.insert(n.end(), pk.begin(), pk.end());
    for (int i = 0; i < 4; ++i) n.push_back(static_cast<uint8_t>(slot >> (8 * i)));
    return n;
}

Bytes bucket_name(ByteSpan pk, uint32_t session, uint8_t bucket) {
    Bytes n = name_bytes("prot/b");
    n.insert(n.end(), pk.begin(), pk.end());
    for (int i = 0; i < 4; ++i) n.push_back(static_cast<uint8_t>(session >> (8 * i)));
    n.push_back(bucket);
    return n;
}

// A rule a stored history can be kept under (not Rule::none).
bool valid_rule(uint8_t r) {
    return r >= static_cast<uint8_t>(Rule::grandpa) && r <= static_cast<uint8_t>(kLastRule);
}

bool valid_public_key(ByteSpan pk) {
    return !pk.empty() && pk.size() <= kMaxPublicKey;
}

// What a stored or imported record may hold under `rule`.
bool valid_record(Rule rule, const Record& r) {
    switch (rule) {
        case Rule::grandpa:
            return r.kind <= 1 && r.sides == 0;
        case Rule::babe:
            return r.position.minor == 0 && r.kind == 0 && r.sides == 0 && r.number == 0;
        case Rule::beefy:
            return r.position.minor <= kMaxU32 && r.kind == 0 && r.sides == 0 && r.number == 0;
        case Rule::para:
            return r.position.major <= kMaxU32 && r.position.minor == 0 && r.sides >= 1 &&
                   r.sides <= 3 && r.kind >= 1 && r.kind <= 6 && r.number == 0;
        case Rule::none:
            break;
    }
    return false;
}

// Records with the same identity are about the same vote.
bool same_vote(Rule rule, const Record& a, const Record& b) {
    if (a.position != b.position) return false;
    if (rule == Rule::grandpa) return a.kind == b.kind;
    if (rule == Rule::para) return a.subject == b.subject;
    return true;
}

void encode_record(Encoder& e, const Record& r) {
    e.u64(r.position.major)
        .u64(r.position.minor)
        .u8(r.kind)
        .u8(r.sides)
        .raw(r.subject)
        .u32(r.number)
        .raw(r.payload_hash);
}

Result<Record> decode_record(Decoder& d) {
    Record r;
    auto major = d.u64();
    auto minor = d.u64();
    auto kind = d.u8();
    auto sides = d.u8();
    auto subject = d.array<32>();
    auto number = d.u32();
    auto payload = d.array<32>();
    if (!major || !minor || !kind || !sides || !subject || !number || !payload)
        return Error::invalid_encoding;
    r.position = {*major, *minor};
    r.kind = *kind;
    r.sides = *sides;
    r.subject = *subject;
    r.number = *number;
    r.payload_hash = *payload;
    return r;
}

Result<std::vector<Record>> decode_records(Decoder& d, Rule rule) {
    auto records = d.vec<Record>(decode_record, kRecordSize);
    if (!records) return records.error();
    for (const Record& r : *records)
        if (!valid_record(rule, r)) return Error::invalid_encoding;
    return records;
}

void encode_records(Encoder& e, const std::vector<Record>& records) {
    e.vec(records, encode_record);
}

void sort_records(Rule rule, std::vector<Record>& records) {
    std::sort(records.begin(), records.end(),
              [rule](const Record& a, const Record& b) { return record_less(rule, a, b); });
}

Record* find_vote(Rule rule, std::vector<Record>& records, const Record& probe) {
    for (Record& r : records)
        if (same_vote(rule, r, probe)) return &r;
    return nullptr;
}

// Keep the newest `limit` sessions; move what is dropped to `removed`.
Position prune_sessions(std::vector<uint32_t>& sessions, Position watermark, uint32_t limit,
                        std::vector<uint32_t>& removed) {
    std::sort(sessions.begin(), sessions.end());
    sessions.erase(std::unique(sessions.begin(), sessions.end()), sessions.end());
    if (limit > 0 && sessions.size() > limit) {
        Position cut{sessions[sessions.size() - limit], 0};
        if (cut > watermark) watermark = cut;
    }
    std::vector<uint32_t> kept;
    for (uint32_t s : sessions) (Position{s, 0} < watermark ? removed : kept).push_back(s);
    sessions = std::move(kept);
    return watermark;
}

// One page of a positional rule's history (see PagedHistory).
struct PageRef {
    uint32_t slot = 0;
    /// The page holds positions from here up to the next page's `from`; the
    /// oldest page also holds anything older that is still above the watermark.
    Position from;
    /// Distinct positions at or above the watermark in the page.
    uint32_t positions = 0;
};

struct MainState {
    Position watermark;
    /// Format 1: the key's whole grandpa/babe/beefy history. Format 2 keeps
    /// what is left of it (never a new position) until the watermark passes it.
    std::vector<Record> records;
    std::vector<uint32_t> sessions;  // para only, sorted
    std::vector<PageRef> pages;      // format 2, grandpa/babe/beefy: oldest first
};

struct IndexEntry {
    Rule rule = Rule::none;
    Bytes public_key;
};

// ---- Stored objects ------------------------------------------------------------------

class State {
  public:
    explicit State(BlobStore& store) : store_(store) {}

    Result<MainState> load_main(Rule rule, ByteSpan pk) {
        Bytes raw;
        bool found = false;
        TS_TRY(store_.read(main_name(rule, pk), raw, found));
        MainState m;
        if (!found) return m;
        Decoder d(raw);
        auto format = d.u8();
        auto stored_rule = d.u8();
        auto stored_pk = d.bytes_view();
        auto wm_major = d.u64();
        auto wm_minor = d.u64();
        if (!format || (*format != kFormat && *format != kMainFormat) || !stored_rule ||
            *stored_rule != uint8_t(rule) || !stored_pk ||
            !std::equal(stored_pk->begin(), stored_pk->end(), pk.begin(), pk.end()) || !wm_major ||
            !wm_minor)
            return Error::invalid_encoding;
        auto records = decode_records(d, rule);
        if (!records) return records.error();
        auto sessions = d.vec<uint32_t>([](Decoder& dec) { return dec.u32(); }, 4);
        if (!sessions) return sessions.error();
        if (*format == kMainFormat) {
            auto pages = d.vec<PageRef>(
                [](Decoder& dec) -> Result<PageRef> {
                    auto slot = dec.u32();
                    auto major = dec.u64();
                    auto minor = dec.u64();
                    auto positions = dec.u32();
                    if (!slot || !major || !minor || !positions) return Error::invalid_encoding;
                    return PageRef{*slot, {*major, *minor}, *positions};
                },
                4 + 16 + 4);
            if (!pages) return pages.error();
            m.pages = std::move(pages).value();
        }
        TS_TRY(d.finish());
        if (rule == Rule::para && !m.pages.empty()) return Error::invalid_encoding;
        for (size_t i = 0; i < m.pages.size(); ++i) {
            for (size_t j = 0; j < i; ++j)
                if (m.pages[j].slot == m.pages[i].slot) return Error::invalid_encoding;
            if (i > 0 && !(m.pages[i - 1].from < m.pages[i].from)) return Error::invalid_encoding;
        }
        m.watermark = {*wm_major, *wm_minor};
        m.records = std::move(records).value();
        m.sessions = std::move(sessions).value();
        return m;
    }

    Error write_main(Rule rule, ByteSpan pk, const MainState& m) {
        Encoder e;
        e.u8(kMainFormat).u8(static_cast<uint8_t>(rule)).bytes(pk);
        e.u64(m.watermark.major).u64(m.watermark.minor);
        encode_records(e, m.records);
        e.vec(m.sessions, [](Encoder& enc, uint32_t s) { enc.u32(s); });
        e.vec(m.pages, [](Encoder& enc, const PageRef& page) {
            enc.u32(page.slot).u64(page.from.major).u64(page.from.minor).u32(page.positions);
        });
        return store_.write(main_name(rule, pk), e.bytes());
    }

    // A page's records, sorted (empty when the object is absent: a page the
    // main object lists before a crash let its first write land).
    Result<std::vector<Record>> load_page(Rule rule, ByteSpan pk, uint32_t slot) {
        Bytes raw;
        bool found = false;
        TS_TRY(store_.read(page_name(rule, pk, slot), raw, found));
        if (!found) return std::vector<Record>{};
        Decoder d(raw);
        auto format = d.u8();
        auto stored_rule = d.u8();
        auto stored_pk = d.bytes_view();
        auto stored_slot = d.u32();
        if (!format || *format != kFormat || !stored_rule || *stored_rule != uint8_t(rule) ||
            !stored_pk || !std::equal(stored_pk->begin(), stored_pk->end(), pk.begin(), pk.end()) ||
            !stored_slot || *stored_slot != slot)
            return Error::invalid_encoding;
        auto records = decode_records(d, rule);
        if (!records) return records.error();
        TS_TRY(d.finish());
        for (size_t i = 1; i < records->size(); ++i)
            if (!record_less(rule, (*records)[i - 1], (*records)[i]))
                return Error::invalid_encoding;
        return records;
    }

    Error write_page(Rule rule, ByteSpan pk, uint32_t slot, const std::vector<Record>& records) {
        Encoder e;
        e.u8(kFormat).u8(static_cast<uint8_t>(rule)).bytes(pk).u32(slot);
        encode_records(e, records);
        return store_.write(page_name(rule, pk, slot), e.bytes());
    }

    Result<std::vector<Record>> load_bucket(ByteSpan pk, uint32_t session, uint8_t bucket) {
        Bytes raw;
        bool found = false;
        TS_TRY(store_.read(bucket_name(pk, session, bucket), raw, found));
        if (!found) return std::vector<Record>{};
        Decoder d(raw);
        auto format = d.u8();
        auto stored_pk = d.bytes_view();
        auto stored_session = d.u32();
        auto stored_bucket = d.u8();
        if (!format || *format != kFormat || !stored_pk ||
            !std::equal(stored_pk->begin(), stored_pk->end(), pk.begin(), pk.end()) ||
            !stored_session || *stored_session != session || !stored_bucket ||
            *stored_bucket != bucket)
            return Error::invalid_encoding;
        auto records = decode_records(d, Rule::para);
        if (!records) return records.error();
        TS_TRY(d.finish());
        for (const Record& r : *records)
            if (r.position.major != session || r.subject[0] != bucket)
                return Error::invalid_encoding;
        return records;
    }

    Error write_bucket(ByteSpan pk, uint32_t session, uint8_t bucket,
                       const std::vector<Record>& records) {
        Encoder e;
        e.u8(kFormat).bytes(pk).u32(session).u8(bucket);
        encode_records(e, records);
        return store_.write(bucket_name(pk, session, bucket), e.bytes());
    }

    // Buckets of pruned sessions: below the watermark, never read again.
    Error remove_session(ByteSpan pk, uint32_t session) {
        for (unsigned b = 0; b < 256; ++b)
            TS_TRY(store_.remove(bucket_name(pk, session, static_cast<uint8_t>(b))));
        return Error::ok;
    }

    Result<std::vector<IndexEntry>> load_index() {
        Bytes raw;
        bool found = false;
        TS_TRY(store_.read(name_bytes(kIndexName), raw, found));
        if (!found) return std::vector<IndexEntry>{};
        Decoder d(raw);
        auto format = d.u8();
        if (!format || *format != kFormat) return Error::invalid_encoding;
        auto entries = d.vec<IndexEntry>(
            [](Decoder& dec) -> Result<IndexEntry> {
                auto rule = dec.u8();
                auto pk = dec.bytes();
                if (!rule || !valid_rule(*rule) || !pk || !valid_public_key(*pk))
                    return Error::invalid_encoding;
                return IndexEntry{static_cast<Rule>(*rule), std::move(pk).value()};
            },
            2);
        if (!entries) return entries.error();
        TS_TRY(d.finish());
        return entries;
    }

    // List (rule, pk) in the index before its first object is written, so an
    // export never misses a key.
    Error ensure_indexed(Rule rule, ByteSpan pk) {
        auto index = load_index();
        if (!index) return index.error();
        for (const IndexEntry& e : *index)
            if (e.rule == rule &&
                std::equal(e.public_key.begin(), e.public_key.end(), pk.begin(), pk.end()))
                return Error::ok;
        index->push_back({rule, Bytes(pk.begin(), pk.end())});
        Encoder e;
        e.u8(kFormat);
        e.vec(*index, [](Encoder& enc, const IndexEntry& entry) {
            enc.u8(static_cast<uint8_t>(entry.rule)).bytes(entry.public_key);
        });
        return store_.write(name_bytes(kIndexName), e.bytes());
    }

  private:
    BlobStore& store_;
};

// Positions per page under `rule` (never 0).
uint32_t positions_per_page(const Limits& l, Rule rule) {
    if (l.positions_per_page != 0) return l.positions_per_page;
    return std::max<uint32_t>(4, (position_limit(l, rule) + 15) / 16);
}

// Distinct positions at or above `watermark` of sorted `records`.
std::vector<Position> live_positions(const std::vector<Record>& records, Position watermark) {
    std::vector<Position> out;
    for (const Record& r : records)
        if (!(r.position < watermark) && (out.empty() || out.back() != r.position))
            out.push_back(r.position);
    return out;
}

// A grandpa, babe or beefy history of one key, as pages: the main object holds
// the watermark and the page table (slot, first position, live positions), and
// each page object ("prot/p" ++ rule ++ public ++ slot u32le) a run of
// consecutive positions. A new record rewrites the main object and one page of
// positions_per_page() positions, not the whole history; pruning only drops
// whole pages from the table (their slots are reused later), so a page object
// is never rewritten with fewer records than it had. What a page keeps below the
// watermark is ignored and goes when its slot is reused.
//
// write() puts the main object first, then the pages. Stored one by one (the
// TA's storage without transactions commits a batch in first-write order, and
// every write here writes the main object before its pages), any prefix is
// safe: a main object ahead of its pages lists a page whose new records are
// missing (those signatures were never released), and counts that disagree
// with a page are recounted when it is read. Dropping a page raises the
// watermark in the same main object write.
class PagedHistory {
  public:
    PagedHistory(State& state, Rule rule, ByteSpan pk, MainState& main, const Limits& limits)
        : state_(state),
          rule_(rule),
          pk_(pk),
          m_(main),
          per_page_(positions_per_page(limits, rule)),
          limit_(position_limit(limits, rule)) {}

    Position watermark() const { return m_.watermark; }

    // The record of the same vote as `probe` (at or above the watermark), if any.
    Result<std::optional<Record>> find(const Record& probe) {
        if (Record* r = find_vote(rule_, m_.records, probe)) return std::optional<Record>(*r);
        if (m_.pages.empty()) return std::optional<Record>();
        auto at = load(m_.pages[covering(probe.position)].slot);
        if (!at) return at.error();
        if (Record* r = find_vote(rule_, loaded_[*at].records, probe))
            return std::optional<Record>(*r);
        return std::optional<Record>();
    }

    // Add `r` (no record of its vote yet, at or above the watermark).
    Error insert(const Record& r) {
        auto same_position = [&](const Record& x) { return x.position == r.position; };
        if (std::any_of(m_.records.begin(), m_.records.end(), same_position)) {
            m_.records.push_back(r);  // a position the format-1 records already hold
            sort_records(rule_, m_.records);
            main_changed_ = true;
            return Error::ok;
        }
        if (m_.pages.empty()) return open_page(r);
        const size_t index = covering(r.position);
        auto at = load(m_.pages[index].slot);
        if (!at) return at.error();
        std::vector<Record>& records = loaded_[*at].records;
        const bool new_position = std::none_of(records.begin(), records.end(), same_position);
        const bool newest = index + 1 == m_.pages.size() &&
                            (records.empty() || records.back().position < r.position) &&
                            (m_.records.empty() || m_.records.back().position < r.position);
        if (new_position && newest && m_.pages[index].positions >= per_page_) return open_page(r);
        records.push_back(r);
        sort_records(rule_, records);
        loaded_[*at].changed = true;
        if (new_position) ++m_.pages[index].positions;
        main_changed_ = true;
        return Error::ok;
    }

    // Keep the rule's newest positions (its limit; 0: no limit): the watermark
    // rises to the oldest position kept.
    Error prune() {
        if (limit_ == 0) return Error::ok;
        if (!m_.pages.empty()) {
            auto at = load(m_.pages[0].slot);  // counted afresh: it is the one pruned
            if (!at) return at.error();
        }
        uint64_t total = live_positions(m_.records, m_.watermark).size();
        for (const PageRef& page : m_.pages) total += page.positions;
        if (total <= limit_) return Error::ok;
        uint64_t skip = total - limit_;
        // Oldest first: the format-1 records and the first page, then each page.
        for (size_t index = 0; index < m_.pages.size() || (index == 0 && !m_.records.empty());
             ++index) {
            std::vector<Position> seg;
            if (index < m_.pages.size()) {
                auto at = load(m_.pages[index].slot);
                if (!at) return at.error();
                seg = live_positions(loaded_[*at].records, m_.watermark);
            }
            if (index == 0) {
                std::vector<Position> old = live_positions(m_.records, m_.watermark);
                seg.insert(seg.end(), old.begin(), old.end());
                std::sort(seg.begin(), seg.end());
                seg.erase(std::unique(seg.begin(), seg.end()), seg.end());
            }
            if (skip < seg.size()) return raise_watermark(seg[static_cast<size_t>(skip)]);
            skip -= seg.size();
        }
        return Error::ok;  // counts above what the pages hold (after a crash): keep them all
    }

    // Raise the watermark to `to` (if higher): older records are forgotten and
    // pages left with none are dropped from the table.
    Error raise_watermark(Position to) {
        if (!(m_.watermark < to)) return Error::ok;
        m_.watermark = to;
        main_changed_ = true;
        m_.records.erase(std::remove_if(m_.records.begin(), m_.records.end(),
                                        [&](const Record& r) { return r.position < to; }),
                         m_.records.end());
        while (!m_.pages.empty()) {
            auto at = load(m_.pages[0].slot);  // recounts under the new watermark
            if (!at) return at.error();
            if (m_.pages[0].positions > 0) break;  // later pages are newer still
            loaded_.erase(loaded_.begin() + static_cast<std::ptrdiff_t>(*at));
            m_.pages.erase(m_.pages.begin());
        }
        return Error::ok;
    }

    // Store what changed: the index entry, the main object, then the pages.
    Error write() {
        if (!main_changed_) return Error::ok;
        TS_TRY(state_.ensure_indexed(rule_, pk_));
        TS_TRY(state_.write_main(rule_, pk_, m_));
        for (const Loaded& page : loaded_)
            if (page.changed) TS_TRY(state_.write_page(rule_, pk_, page.slot, page.records));
        return Error::ok;
    }

    // Every record at or above the watermark, sorted.
    Result<std::vector<Record>> records() {
        std::vector<Record> out = m_.records;
        for (size_t i = 0; i < m_.pages.size(); ++i) {
            auto at = load(m_.pages[i].slot);
            if (!at) return at.error();
            for (const Record& r : loaded_[*at].records)
                if (!(r.position < m_.watermark)) out.push_back(r);
        }
        sort_records(rule_, out);
        return out;
    }

  private:
    struct Loaded {
        uint32_t slot = 0;
        std::vector<Record> records;
        bool changed = false;
    };

    // The page that holds (or would hold) position `p`; the table is not empty.
    size_t covering(Position p) const {
        size_t index = 0;
        while (index + 1 < m_.pages.size() && !(p < m_.pages[index + 1].from)) ++index;
        return index;
    }

    PageRef* ref(uint32_t slot) {
        for (PageRef& page : m_.pages)
            if (page.slot == slot) return &page;
        return nullptr;
    }

    // Index into loaded_ of the page in `slot`, read once; its count in the
    // table is set to what it really holds.
    Result<size_t> load(uint32_t slot) {
        for (size_t i = 0; i < loaded_.size(); ++i)
            if (loaded_[i].slot == slot) {
                recount(loaded_[i]);
                return i;
            }
        auto records = state_.load_page(rule_, pk_, slot);
        if (!records) return records.error();
        loaded_.push_back(Loaded{slot, std::move(records).value(), false});
        recount(loaded_.back());
        return loaded_.size() - 1;
    }

    void recount(const Loaded& page) {
        PageRef* r = ref(page.slot);
        if (r == nullptr) return;
        const auto live = static_cast<uint32_t>(live_positions(page.records, m_.watermark).size());
        if (r->positions != live) {
            r->positions = live;
            main_changed_ = true;
        }
    }

    // A new newest page holding `r`, in the lowest slot the table does not use
    // (whatever that object held is below the watermark: it is overwritten).
    Error open_page(const Record& r) {
        uint32_t slot = 0;
        while (ref(slot) != nullptr) ++slot;
        loaded_.erase(std::remove_if(loaded_.begin(), loaded_.end(),
                                     [&](const Loaded& page) { return page.slot == slot; }),
                      loaded_.end());
        loaded_.push_back(Loaded{slot, {r}, true});
        m_.pages.push_back(PageRef{slot, r.position, 1});
        main_changed_ = true;
        return Error::ok;
    }

    State& state_;
    Rule rule_;
    ByteSpan pk_;
    MainState& m_;
    uint32_t per_page_;
    uint32_t limit_;
    std::vector<Loaded> loaded_;
    bool main_changed_ = false;
};

void encode_item(Encoder& e, const History& h) {
    e.u8(static_cast<uint8_t>(h.rule)).bytes(h.public_key);
    e.u64(h.watermark.major).u64(h.watermark.minor);
    encode_records(e, h.records);
}

size_t item_size(const History& h) {
    return 1 + scale::compact_size(h.public_key.size()) + h.public_key.size() + 16 +
           scale::compact_size(h.records.size()) + h.records.size() * kRecordSize;
}

}  // namespace

// ---- Names -----------------------------------------------------------------------------

const char* rule_name(Rule rule) noexcept {
    switch (rule) {
        case Rule::grandpa:
            return "grandpa";
        case Rule::babe:
            return "babe";
        case Rule::beefy:
            return "beefy";
        case Rule::para:
            return "para";
        case Rule::none:
            break;
    }
    return "none";
}

uint32_t position_limit(const Limits& l, Rule rule) noexcept {
    switch (rule) {
        case Rule::grandpa:
            return l.grandpa_positions;
        case Rule::babe:
            return l.babe_positions;
        case Rule::beefy:
            return l.beefy_positions;
        case Rule::para:
            return l.para_sessions;
        case Rule::none:
            break;
    }
    return 0;
}

const char* reason_name(Reason reason) noexcept {
    switch (reason) {
        case Reason::conflict:
            return "conflict";
        case Reason::below_watermark:
            return "below_watermark";
        case Reason::opaque_refused:
            return "opaque_refused";
        case Reason::malformed:
            return "malformed";
        case Reason::capacity:
            return "capacity";
    }
    return "unknown";
}

void encode_refusal(scale::Encoder& e, const Refusal& r) {
    e.u8(static_cast<uint8_t>(r.reason)).u8(static_cast<uint8_t>(r.rule));
    e.u64(r.position.major).u64(r.position.minor);
    e.u64(r.watermark.major).u64(r.watermark.minor);
    e.u8(r.earlier_kind).u8(r.earlier_sides).raw(r.subject).u32(r.earlier_number);
    e.raw(r.earlier_payload_hash).raw(r.key_type);
}

Result<Refusal> decode_refusal(scale::Decoder& d) {
    auto reason = d.u8();
    auto rule = d.u8();
    auto p1 = d.u64(), p2 = d.u64(), w1 = d.u64(), w2 = d.u64();
    auto kind = d.u8(), sides = d.u8();
    auto subject = d.array<32>();
    auto number = d.u32();
    auto earlier = d.array<32>();
    auto key_type = d.array<4>();
    if (!reason || !rule || !p1 || !p2 || !w1 || !w2 || !kind || !sides || !subject || !number ||
        !earlier || !key_type || *reason < static_cast<uint8_t>(kFirstReason) ||
        *reason > static_cast<uint8_t>(kLastReason) || *rule > static_cast<uint8_t>(kLastRule))
        return Error::invalid_encoding;
    Refusal r;
    r.reason = static_cast<Reason>(*reason);
    r.rule = static_cast<Rule>(*rule);
    r.position = {*p1, *p2};
    r.watermark = {*w1, *w2};
    r.earlier_kind = *kind;
    r.earlier_sides = *sides;
    r.subject = *subject;
    r.earlier_number = *number;
    r.earlier_payload_hash = *earlier;
    r.key_type = *key_type;
    return r;
}

const char* refusal_code(const Refusal& r) noexcept {
    switch (r.reason) {
        case Reason::conflict:
            switch (r.rule) {
                case Rule::grandpa:
                    return r.earlier_kind == 0 ? "grandpa_prevote_equivocation"
                                               : "grandpa_precommit_equivocation";
                case Rule::babe:
                    return "babe_equivocation";
                case Rule::beefy:
                    return "beefy_equivocation";
                case Rule::para:
                    return "para_valid_invalid";
                case Rule::none:
                    break;
            }
            return "conflict";
        case Reason::below_watermark:
            return "below_watermark";
        case Reason::opaque_refused:
            return "opaque_refused";
        case Reason::malformed:
            return "malformed_payload";
        case Reason::capacity:
            return "capacity";
    }
    return "unknown";
}

// ---- Signables ---------------------------------------------------------------------------

Result<Signable> signable_grandpa(const payloads::GrandpaVote& vote) {
    if (vote.kind == payloads::GrandpaMessageKind::primary_propose) return Error::unsupported;
    Signable s;
    s.rule = Rule::grandpa;
    s.position = {vote.set_id, vote.round};
    s.kind = static_cast<uint8_t>(vote.kind);
    s.subject = vote.target_hash;
    s.number = vote.target_number;
    s.payload_hash = blake2b_256(payloads::encode_grandpa_vote(vote));
    return s;
}

Signable signable_babe(const payloads::BabeSealRequest& request) {
    Signable s;
    s.rule = Rule::babe;
    s.position = {request.pre_digest.slot, 0};
    s.payload_hash = request.pre_hash;
    return s;
}

Signable signable_beefy(const payloads::BeefyCommitment& commitment, const Hash256& prehash) {
    Signable s;
    s.rule = Rule::beefy;
    s.position = {commitment.validator_set_id, commitment.block_number};
    s.payload_hash = prehash;
    return s;
}

Record record_of(const Signable& s) noexcept {
    Record r;
    r.position = s.position;
    r.kind = s.kind;
    r.subject = s.subject;
    r.number = s.number;
    r.payload_hash = s.payload_hash;
    return r;
}

Signable signable_para(const payloads::ParaStatement& statement, ByteSpan payload) {
    Signable s;
    s.rule = Rule::para;
    s.position = {statement.session, 0};
    s.kind = static_cast<uint8_t>(statement.kind);
    s.candidates = statement.candidates;
    s.valid_side = statement.valid_side();
    s.payload_hash = blake2b_256(payload);
    return s;
}

// ---- Policy and classification -------------------------------------------------------------

bool OpaquePolicy::default_allows(const KeyTypeId& key_type) noexcept {
    return key_type != kGrandpaKeyType && key_type != kBabeKeyType && key_type != kBeefyKeyType;
}

bool OpaquePolicy::allows(const KeyTypeId& key_type) const noexcept {
    for (const auto& [kt, allow] : entries)
        if (kt == key_type) return allow;
    return default_allows(key_type);
}

void OpaquePolicy::set(const KeyTypeId& key_type, bool allow) {
    for (auto& entry : entries)
        if (entry.first == key_type) {
            entry.second = allow;
            return;
        }
    entries.emplace_back(key_type, allow);
}

Classified classify_message(std::span<const KeyTypeId> key_types, ByteSpan message) {
    auto has = [&](const KeyTypeId& kt) {
        return std::find(key_types.begin(), key_types.end(), kt) != key_types.end();
    };
    Classified c;
    if (has(kGrandpaKeyType)) {
        if (auto vote = payloads::decode_grandpa_vote(message); vote.ok()) {
            auto s = signable_grandpa(*vote);
            if (!s.ok()) {
                c.cls = MessageClass::unprotected;  // primary proposal
                return c;
            }
            c.cls = MessageClass::protected_payload;
            c.signable = std::move(s).value();
            return c;
        }
    }
    if (has(kParaKeyType) && payloads::has_para_magic(message)) {
        auto statement = payloads::decode_para_statement(message);
        if (!statement) {
            c.cls = MessageClass::malformed;
            c.signable.rule = Rule::para;
            return c;
        }
        c.cls = MessageClass::protected_payload;
        c.signable = signable_para(*statement, message);
        return c;
    }
    // Checked after the votes and statements, which it can never be.
    if (payloads::is_proof_of_possession_statement(message)) {
        c.cls = MessageClass::unprotected;
        return c;
    }
    c.cls = MessageClass::opaque;
    return c;
}

// ---- MemoryBlobStore -------------------------------------------------------------------------

Bytes MemoryBlobStore::snapshot() const {
    Encoder e;
    e.vec(blobs_, [](Encoder& enc, const std::pair<Bytes, Bytes>& kv) {
        enc.bytes(kv.first).bytes(kv.second);
    });
    return e.take();
}

Error MemoryBlobStore::restore(ByteSpan snapshot) {
    Decoder d(snapshot);
    auto n = d.length_prefix(2);
    if (!n) return n.error();
    detail::SortedMap<Bytes, Bytes> blobs;
    for (size_t i = 0; i < *n; ++i) {
        auto name = d.bytes();
        auto data = d.bytes();
        if (!name || !data) return Error::invalid_encoding;
        blobs[std::move(name).value()] = std::move(data).value();
    }
    TS_TRY(d.finish());
    blobs_ = std::move(blobs);
    return Error::ok;
}

// ---- Interchange documents ---------------------------------------------------------------------

Bytes encode_document(const std::vector<History>& items) {
    Encoder e;
    e.raw(kDocumentMagic).u8(kDocumentVersion);
    e.vec(items, encode_item);
    return e.take();
}

Result<std::vector<History>> decode_document(ByteSpan document) {
    Decoder d(document);
    auto magic = d.array<4>();
    auto version = d.u8();
    if (!magic || *magic != kDocumentMagic || !version || *version != kDocumentVersion)
        return Error::invalid_encoding;
    auto items = d.vec<History>(
        [](Decoder& dec) -> Result<History> {
            History h;
            auto rule = dec.u8();
            auto pk = dec.bytes();
            auto major = dec.u64();
            auto minor = dec.u64();
            if (!rule || !valid_rule(*rule) || !pk || !valid_public_key(*pk) || !major || !minor)
                return Error::invalid_encoding;
            h.rule = static_cast<Rule>(*rule);
            h.public_key = std::move(pk).value();
            h.watermark = {*major, *minor};
            auto records = decode_records(dec, h.rule);
            if (!records) return records.error();
            h.records = std::move(records).value();
            return h;
        },
        1 + 1 + 1 + 16 + 1);
    if (!items) return items.error();
    TS_TRY(d.finish());
    return items;
}

// ---- Protector -----------------------------------------------------------------------------

Result<Decision> Protector::authorize(ByteSpan pk, const Signable& s) {
    if (s.rule == Rule::none) return allowed(false);
    if (!valid_public_key(pk)) return Error::invalid_length;
    State state(store_);
    auto main = state.load_main(s.rule, pk);
    if (!main) return main.error();
    if (s.position < main->watermark)
        return refused(below_watermark_refusal(s.rule, s.position, main->watermark));

    if (s.rule != Rule::para) {
        const Record r = record_of(s);
        if (!valid_record(s.rule, r)) return Error::invalid_encoding;
        PagedHistory h(state, s.rule, pk, *main, limits_);
        auto earlier = h.find(r);
        if (!earlier) return earlier.error();
        if (*earlier) {
            if ((*earlier)->payload_hash == r.payload_hash) return allowed(false);  // identical
            return refused(conflict_refusal(s.rule, s.position, **earlier));
        }
        TS_TRY(h.insert(r));
        TS_TRY(h.prune());
        // Older than everything the limit keeps: it could not be remembered.
        if (r.position < h.watermark())
            return refused(below_watermark_refusal(s.rule, s.position, h.watermark()));
        TS_TRY(h.write());
        return allowed(true);
    }

    // Para: one record per (session, candidate), in buckets by the hash's first byte.
    if (s.position.major > kMaxU32 || s.position.minor != 0 || s.candidates.empty() || s.kind < 1 ||
        s.kind > 6)
        return Error::invalid_encoding;
    const uint32_t session = static_cast<uint32_t>(s.position.major);
    bool new_session =
        std::find(main->sessions.begin(), main->sessions.end(), session) == main->sessions.end();
    std::vector<uint32_t> removed;
    Position wm = main->watermark;
    if (new_session) {
        main->sessions.push_back(session);
        wm = prune_sessions(main->sessions, wm, limits_.para_sessions, removed);
        if (s.position < wm) return refused(below_watermark_refusal(s.rule, s.position, wm));
    }
    detail::SortedMap<uint8_t, std::vector<Record>> buckets;
    for (const Hash256& c : s.candidates) {
        if (buckets.contains(c[0])) continue;
        auto bucket = state.load_bucket(pk, session, c[0]);
        if (!bucket) return bucket.error();
        buckets[c[0]] = std::move(bucket).value();
    }
    const uint8_t side = s.valid_side ? kValidSide : kInvalidSide;
    const uint8_t opposite = s.valid_side ? kInvalidSide : kValidSide;
    Record probe;
    probe.position = s.position;
    for (const Hash256& c : s.candidates) {
        probe.subject = c;
        Record* earlier = find_vote(Rule::para, buckets[c[0]], probe);
        if (earlier != nullptr && (earlier->sides & opposite) != 0)
            return refused(conflict_refusal(Rule::para, s.position, *earlier));
    }
    detail::SortedMap<uint8_t, bool> changed;
    for (const Hash256& c : s.candidates) {
        probe.subject = c;
        std::vector<Record>& bucket = buckets[c[0]];
        if (Record* earlier = find_vote(Rule::para, bucket, probe)) {
            if ((earlier->sides & side) == 0) {
                earlier->sides = static_cast<uint8_t>(earlier->sides | side);
                changed[c[0]] = true;
            }
            continue;
        }
        Record r = probe;
        r.kind = s.kind;
        r.sides = side;
        r.payload_hash = s.payload_hash;
        bucket.push_back(r);
        changed[c[0]] = true;
    }
    for (const auto& [b, _] : changed)
        if (buckets[b].size() > limits_.para_bucket_records) {
            Refusal r;
            r.reason = Reason::capacity;
            r.rule = Rule::para;
            r.position = s.position;
            return refused(r);
        }
    if (changed.empty() && !new_session) return allowed(false);  // identical side re-signed
    TS_TRY(state.ensure_indexed(Rule::para, pk));
    if (new_session) {
        main->watermark = wm;
        TS_TRY(state.write_main(Rule::para, pk, *main));
        for (uint32_t old : removed) TS_TRY(state.remove_session(pk, old));
    }
    for (const auto& [b, _] : changed) {
        sort_records(Rule::para, buckets[b]);
        TS_TRY(state.write_bucket(pk, session, b, buckets[b]));
    }
    return allowed(!changed.empty());
}

Result<Decision> Protector::authorize_message(ByteSpan public_key,
                                              std::span<const KeyTypeId> key_types,
                                              ByteSpan message) {
    Classified c = classify_message(key_types, message);
    switch (c.cls) {
        case MessageClass::protected_payload:
            return authorize(public_key, c.signable);
        case MessageClass::unprotected:
            return allowed(false);
        case MessageClass::malformed: {
            Refusal r;
            r.reason = Reason::malformed;
            r.rule = c.signable.rule;
            return refused(r);
        }
        case MessageClass::opaque:
            break;
    }
    return authorize_opaque(key_types);
}

Result<Decision> Protector::authorize_opaque(std::span<const KeyTypeId> key_types) {
    auto p = policy();
    if (!p) return p.error();
    Refusal r;
    r.reason = Reason::opaque_refused;
    if (key_types.empty()) return refused(r);  // a key the caller could not place
    for (const KeyTypeId& kt : key_types)
        if (!p->allows(kt)) {
            r.key_type = kt;
            return refused(r);
        }
    return allowed(false);
}

Result<OpaquePolicy> Protector::policy() {
    Bytes raw;
    bool found = false;
    TS_TRY(store_.read(name_bytes(kPolicyName), raw, found));
    OpaquePolicy p;
    if (!found) return p;
    Decoder d(raw);
    auto format = d.u8();
    if (!format || *format != kFormat) return Error::invalid_encoding;
    using Entry = std::pair<KeyTypeId, bool>;
    auto entries = d.vec<Entry>(
        [](Decoder& dec) -> Result<Entry> {
            auto kt = dec.array<4>();
            auto allow = dec.boolean();
            if (!kt || !allow) return Error::invalid_encoding;
            return Entry{*kt, *allow};
        },
        5);
    if (!entries) return entries.error();
    TS_TRY(d.finish());
    p.entries = std::move(entries).value();
    return p;
}

Error Protector::set_policy(const OpaquePolicy& policy) {
    Encoder e;
    e.u8(kFormat);
    e.vec(policy.entries, [](Encoder& enc, const std::pair<KeyTypeId, bool>& entry) {
        enc.raw(entry.first).boolean(entry.second);
    });
    return store_.write(name_bytes(kPolicyName), e.bytes());
}

Result<History> Protector::history(Rule rule, ByteSpan pk) {
    if (!valid_rule(static_cast<uint8_t>(rule))) return Error::invalid_encoding;
    if (!valid_public_key(pk)) return Error::invalid_length;
    State state(store_);
    auto main = state.load_main(rule, pk);
    if (!main) return main.error();
    History h;
    h.rule = rule;
    h.public_key.assign(pk.begin(), pk.end());
    h.watermark = main->watermark;
    if (rule != Rule::para) {
        PagedHistory paged(state, rule, pk, *main, limits_);
        auto records = paged.records();
        if (!records) return records.error();
        h.records = std::move(records).value();
        return h;
    }
    h.records = main->records;
    for (uint32_t session : main->sessions)
        for (unsigned b = 0; b < 256; ++b) {
            auto bucket = state.load_bucket(pk, session, static_cast<uint8_t>(b));
            if (!bucket) return bucket.error();
            h.records.insert(h.records.end(), bucket->begin(), bucket->end());
        }
    sort_records(rule, h.records);
    return h;
}

Result<ExportPage> Protector::export_page(uint64_t cursor, size_t max_bytes) {
    State state(store_);
    auto index = state.load_index();
    if (!index) return index.error();
    std::vector<History> items;
    size_t size = 4 + 1 + 5;
    uint64_t key = cursor >> 32;
    uint64_t part = cursor & 0xffffffffu;
    while (key < index->size()) {
        const IndexEntry& entry = (*index)[key];
        auto main = state.load_main(entry.rule, entry.public_key);
        if (!main) return main.error();
        History h;
        h.rule = entry.rule;
        h.public_key = entry.public_key;
        h.watermark = main->watermark;
        uint64_t next_key = key, next_part = part + 1;
        bool emit = true;
        if (part == 0 && entry.rule != Rule::para) {
            PagedHistory paged(state, entry.rule, entry.public_key, *main, limits_);
            auto records = paged.records();
            if (!records) return records.error();
            h.records = std::move(records).value();
            next_key = key + 1;
            next_part = 0;
        } else if (part == 0) {
            h.records = main->records;
        } else {
            uint64_t i = part - 1;
            if (i / 256 >= main->sessions.size()) {
                key += 1;
                part = 0;
                continue;
            }
            auto bucket =
                state.load_bucket(entry.public_key, main->sessions[static_cast<size_t>(i / 256)],
                                  static_cast<uint8_t>(i % 256));
            if (!bucket) return bucket.error();
            h.records = std::move(bucket).value();
            emit = !h.records.empty();
        }
        if (emit) {
            size_t n = item_size(h);
            if (!items.empty() && size + n > max_bytes)
                return ExportPage{encode_document(items), (key << 32) | part};
            size += n;
            items.push_back(std::move(h));
        }
        key = next_key;
        part = next_part;
    }
    return ExportPage{encode_document(items), std::nullopt};
}

Result<Bytes> Protector::export_all() {
    std::vector<History> all;
    uint64_t cursor = 0;
    for (;;) {
        auto page = export_page(cursor, 1 << 20);
        if (!page) return page.error();
        auto items = decode_document(page->document);
        if (!items) return items.error();
        all.insert(all.end(), items->begin(), items->end());
        if (!page->next) break;
        cursor = *page->next;
    }
    return encode_document(all);
}

Result<ImportReport> Protector::import(ByteSpan document) {
    auto items = decode_document(document);
    if (!items) return items.error();
    ImportReport report;
    State state(store_);
    for (History& item : *items) {
        ++report.items;
        const Rule rule = item.rule;
        ByteSpan pk = item.public_key;
        auto main = state.load_main(rule, pk);
        if (!main) return main.error();
        if (rule != Rule::para) {
            PagedHistory h(state, rule, pk, *main, limits_);
            if (item.watermark > h.watermark()) {
                TS_TRY(h.raise_watermark(item.watermark));
                ++report.watermarks_raised;
            }
            sort_records(rule, item.records);
            for (const Record& r : item.records) {
                if (r.position < h.watermark()) continue;
                auto local = h.find(r);
                if (!local) return local.error();
                if (*local) {
                    if (!(**local == r)) ++report.records_conflicting;  // keep ours
                    continue;
                }
                TS_TRY(h.insert(r));
                ++report.records_added;
            }
            TS_TRY(h.prune());
            TS_TRY(h.write());
            continue;
        }
        Position wm = main->watermark;
        bool main_changed = false;
        if (item.watermark > wm) {
            wm = item.watermark;
            ++report.watermarks_raised;
            main_changed = true;
        }
        // Para: sessions first (main object), then the buckets.
        std::vector<uint32_t> sessions = main->sessions;
        for (const Record& r : item.records)
            if (!(r.position < wm)) sessions.push_back(static_cast<uint32_t>(r.position.major));
        std::vector<uint32_t> removed;
        wm = prune_sessions(sessions, wm, limits_.para_sessions, removed);
        std::vector<uint32_t> before = main->sessions;
        std::sort(before.begin(), before.end());
        if (sessions != before || wm != main->watermark) main_changed = true;
        main->sessions = sessions;
        main->watermark = wm;
        if (main_changed) {
            TS_TRY(state.ensure_indexed(rule, pk));
            TS_TRY(state.write_main(rule, pk, *main));
            for (uint32_t old : removed)
                if (std::find(before.begin(), before.end(), old) != before.end())
                    TS_TRY(state.remove_session(pk, old));
        }
        detail::SortedMap<std::pair<uint32_t, uint8_t>, std::vector<Record>> buckets;
        detail::SortedMap<std::pair<uint32_t, uint8_t>, bool> changed;
        for (const Record& r : item.records) {
            if (r.position < wm) continue;
            auto key = std::make_pair(static_cast<uint32_t>(r.position.major), r.subject[0]);
            if (!buckets.contains(key)) {
                auto bucket = state.load_bucket(pk, key.first, key.second);
                if (!bucket) return bucket.error();
                buckets[key] = std::move(bucket).value();
            }
            std::vector<Record>& bucket = buckets[key];
            if (Record* local = find_vote(Rule::para, bucket, r)) {
                uint8_t sides = static_cast<uint8_t>(local->sides | r.sides);
                if (sides != local->sides) {
                    if (sides == (kValidSide | kInvalidSide)) ++report.records_conflicting;
                    local->sides = sides;
                    changed[key] = true;
                }
                continue;
            }
            bucket.push_back(r);
            ++report.records_added;
            changed[key] = true;
        }
        for (const auto& [key, _] : changed) {
            sort_records(Rule::para, buckets[key]);
            TS_TRY(state.write_bucket(pk, key.first, key.second, buckets[key]));
        }
    }
    return report;
}

}  // namespace teesigner::core::protection
