// Slashing protection: the rules that keep a validator's session keys from ever
// signing two conflicting payloads, as a pure state machine over an abstract
// blob store. The signer TA runs it over GP persistent objects; tests run it
// over memory; a host service can run it over a database, as long as every
// BlobStore::write is atomic and durable before it returns.
//
// Rules, per signing key (identified by its public key bytes, whatever key type
// label it is stored under):
//   grandpa  never two different prevotes, or two different precommits, for one
//            (set id, round)
//   babe     never two different headers (pre-hashes) for one slot
//   beefy    never two different commitments for one (validator set id, block number)
//   para     never both the valid and the invalid side for one (session, candidate):
//            backing (Seconded/Valid), approval and valid dispute votes take the
//            valid side, an invalid dispute vote the invalid side
// Signing the identical payload again is always allowed (the record says so).
//
// Each rule orders its history by a Position (grandpa: (set id, round); babe:
// (slot, 0); beefy: (set id, block); para: (session, 0)) and keeps only the
// newest positions (Limits). What is pruned moves the key's watermark up to the
// oldest kept position; a request below the watermark is refused, since its
// history is gone and it can no longer be proven safe.
//
// Protector::authorize() decides and, when it allows, has written the record
// through BlobStore::write before it returns: the caller signs only after that,
// so a crash between the write and the reply can never permit a conflicting
// signature later (the identical payload remains signable).
//
// Stored objects (names are bytes; every value is SCALE):
//   "prot/index"                        format u8 = 1, Vec<(rule u8, public Vec<u8>)>
//   "prot/policy"                       format u8 = 1, Vec<(KeyTypeId, allow_opaque bool)>
//   "prot/m" ++ rule u8 ++ public       format u8 = 2, rule u8, public Vec<u8>,
//                                       watermark (u64, u64), records Vec<Record>,
//                                       sessions Vec<u32> (para: sessions holding records),
//                                       pages Vec<(slot u32, from (u64, u64), positions u32)>
//                                       (format 1, still read, ends after sessions and
//                                       holds the whole grandpa/babe/beefy history in
//                                       records; format 2 adds no new position there)
//   "prot/p" ++ rule u8 ++ public ++ slot u32le
//                                       one page of a grandpa/babe/beefy history: the
//                                       positions from its `from` up to the next page's:
//                                       format u8 = 1, rule u8, public Vec<u8>, slot u32,
//                                       records Vec<Record> (sorted)
//   "prot/b" ++ public ++ session u32le ++ bucket u8
//                                       para records of one session whose candidate
//                                       hash starts with `bucket`: format u8 = 1,
//                                       public Vec<u8>, session u32, bucket u8,
//                                       records Vec<Record>
//   Record = (major u64, minor u64, kind u8, sides u8, subject [u8; 32],
//             number u32, payload_hash [u8; 32])
// Objects are written in an order that keeps the state safe after a crash at
// any point: the index before a key's main object, the main object before its
// pages, a para session in the main object before its bucket, a raised
// watermark before pruned buckets are removed. A vote rewrites the main object
// and one page of about a sixteenth of the history, not the whole of it;
// pruning drops whole pages from the table and reuses their slots.
//
// Binary interchange (export/import; docs/protection-interchange.md gives the
// JSON form operators use):
//   Document = (magic "TSPX" [u8; 4], version u8 = 1, items Vec<Item>)
//   Item     = (rule u8, public Vec<u8>, watermark (u64, u64), records Vec<Record>)
// Import merges conservatively: the union of records (a local record wins over
// a different imported one for the same vote; para sides are OR-ed) and the
// maximum of the watermarks. Documents hold protection state only, never keys.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/result.hpp"

namespace teesigner::core::scale {
class Encoder;
class Decoder;
}  // namespace teesigner::core::scale

namespace teesigner::core::protection {

using KeyTypeId = ByteArray<4>;

inline constexpr KeyTypeId kGrandpaKeyType = {'g', 'r', 'a', 'n'};
inline constexpr KeyTypeId kBabeKeyType = {'b', 'a', 'b', 'e'};
inline constexpr KeyTypeId kBeefyKeyType = {'b', 'e', 'e', 'f'};
inline constexpr KeyTypeId kParaKeyType = {'p', 'a', 'r', 'a'};
inline constexpr KeyTypeId kAssignmentKeyType = {'a', 's', 'g', 'n'};
inline constexpr KeyTypeId kAuthorityDiscoveryKeyType = {'a', 'u', 'd', 'i'};

enum class Rule : uint8_t { none = 0, grandpa = 1, babe = 2, beefy = 3, para = 4 };
/// The highest Rule: a decoded byte above it names no rule.
inline constexpr Rule kLastRule = Rule::para;

/// "grandpa", "babe", "beefy", "para" ("none" for Rule::none).
const char* rule_name(Rule rule) noexcept;

/// A place in a rule's history, ordered lexicographically.
struct Position {
    uint64_t major = 0;
    uint64_t minor = 0;
    friend auto operator<=>(const Position&, const Position&) = default;
};

/// Para sides (Record::sides bits).
inline constexpr uint8_t kValidSide = 1;
inline constexpr uint8_t kInvalidSide = 2;

/// One remembered signature (see the file comment for the stored layout).
struct Record {
    Position position;
    /// grandpa: payloads::GrandpaMessageKind (0 prevote, 1 precommit);
    /// para: payloads::ParaStatementKind of the statement that first took a side.
    uint8_t kind = 0;
    /// para: kValidSide | kInvalidSide taken so far; zero for the other rules.
    uint8_t sides = 0;
    /// grandpa: target hash; para: candidate hash; zero for babe and beefy.
    Hash256 subject{};
    /// grandpa: target number; zero otherwise.
    uint32_t number = 0;
    /// Identifies the signed payload: blake2_256 of the signed bytes (grandpa,
    /// para), the header pre-hash (babe), the keccak-256 prehash (beefy).
    Hash256 payload_hash{};
    friend bool operator==(const Record&, const Record&) = default;
};

/// A payload about to be signed, reduced to what the rules compare.
struct Signable {
    Rule rule = Rule::none;
    Position position;
    uint8_t kind = 0;
    Hash256 subject{};                // grandpa target hash
    uint32_t number = 0;              // grandpa target number
    std::vector<Hash256> candidates;  // para
    bool valid_side = true;           // para
    Hash256 payload_hash{};
};

/// A prevote or precommit (primary proposals are not slashable: unsupported).
Result<Signable> signable_grandpa(const payloads::GrandpaVote& vote);
/// The BABE seal of the decoded header (slot from its pre-digest).
Signable signable_babe(const payloads::BabeSealRequest& request);
/// A BEEFY vote; `prehash` = payloads::beefy_prehash of the commitment's encoding.
Signable signable_beefy(const payloads::BeefyCommitment& commitment, const Hash256& prehash);
/// A para statement; `payload` is its signed encoding (hashed into payload_hash).
Signable signable_para(const payloads::ParaStatement& statement, ByteSpan payload);
/// The record a GRANDPA, BABE or BEEFY signable leaves in its key's history
/// (a para statement leaves one per candidate, with the side it took).
Record record_of(const Signable& signable) noexcept;

// ---- Decisions -------------------------------------------------------------------------

enum class Reason : uint8_t {
    conflict = 1,         // a different payload was signed for the same vote
    below_watermark = 2,  // older than the pruned history
    opaque_refused = 3,   // opaque signing refused by the key-type policy
    malformed = 4,        // claims to be a protected payload but does not decode
    capacity = 5,         // the history for this position is full (fail closed)
};
/// The lowest and highest Reason: a decoded byte outside them names no reason.
inline constexpr Reason kFirstReason = Reason::conflict;
inline constexpr Reason kLastReason = Reason::capacity;

/// "conflict", "below_watermark", "opaque_refused", "malformed", "capacity".
const char* reason_name(Reason reason) noexcept;

struct Refusal {
    Reason reason = Reason::conflict;
    Rule rule = Rule::none;
    Position position;   // of the refused request
    Position watermark;  // below_watermark: the key's watermark for this rule
    /// conflict: the earlier record (kind, subject, number and payload hash as
    /// in Record; for para, subject is the candidate in dispute).
    uint8_t earlier_kind = 0;
    uint8_t earlier_sides = 0;
    Hash256 subject{};
    uint32_t earlier_number = 0;
    Hash256 earlier_payload_hash{};
    /// opaque_refused: the key type whose policy refused.
    KeyTypeId key_type{};
};

/// A short stable code naming the broken rule, e.g. "grandpa_prevote_equivocation",
/// "grandpa_precommit_equivocation", "babe_equivocation", "beefy_equivocation",
/// "para_valid_invalid", "below_watermark", "opaque_refused", "malformed_payload",
/// "capacity".
const char* refusal_code(const Refusal& refusal) noexcept;

/// A Refusal as the TA's SignOutcome carries it (ta/include/signer_ta.h):
/// (reason u8, rule u8, position (u64, u64), watermark (u64, u64),
/// earlier_kind u8, earlier_sides u8, subject [u8; 32], earlier_number u32,
/// earlier_payload_hash [u8; 32], key_type [u8; 4]).
void encode_refusal(scale::Encoder& e, const Refusal& refusal);
/// The inverse of encode_refusal, reading from `d` (which may hold more after
/// it). Error::invalid_encoding when the bytes do not decode or name no Reason
/// or Rule.
Result<Refusal> decode_refusal(scale::Decoder& d);

struct Decision {
    bool allowed = false;
    /// allowed and a new record was written (false for an identical re-sign
    /// or an unprotected payload).
    bool recorded = false;
    Refusal refusal;  // meaningful when !allowed
};

/// Decisions and refusals as every store applying these rules builds them
/// (the Protector here, signerd's protection database).
Decision allowed(bool recorded) noexcept;
Decision refused(const Refusal& refusal) noexcept;
/// A conflict with `earlier`, the record of the same vote signed before.
Refusal conflict_refusal(Rule rule, Position position, const Record& earlier) noexcept;
Refusal below_watermark_refusal(Rule rule, Position position, Position watermark) noexcept;
/// The order of one key's records under `rule`: by position, then GRANDPA vote
/// kind or para candidate.
bool record_less(Rule rule, const Record& a, const Record& b) noexcept;

// ---- Opaque-payload policy ---------------------------------------------------------------

/// Whether keys of a type may sign bytes the signer cannot decode (sp-keystore
/// raw signing of a prehash, ecdsa_sign_prehashed). Defaults: refused for
/// "gran", "babe" and "beef" (their slashable payloads have typed methods),
/// allowed for every other type (audi, asgn, para's non-statement payloads
/// such as availability bitfields, ...). Explicit entries override defaults.
struct OpaquePolicy {
    std::vector<std::pair<KeyTypeId, bool>> entries;

    static bool default_allows(const KeyTypeId& key_type) noexcept;
    bool allows(const KeyTypeId& key_type) const noexcept;
    /// Set (or replace) the entry for `key_type`.
    void set(const KeyTypeId& key_type, bool allow);
};

/// How raw bytes given to a sp-keystore-style sign call are treated, given
/// every key type under which the signing key is stored.
enum class MessageClass : uint8_t {
    protected_payload,  // decoded; `signable` carries the rule
    unprotected,        // decoded, not slashable (GRANDPA primary proposal)
    opaque,             // not a payload the signer understands: the opaque policy decides
    malformed,          // carries a para magic but does not decode: refused
};

struct Classified {
    MessageClass cls = MessageClass::opaque;
    Signable signable;
};

/// "gran" keys: the bytes must be a GRANDPA localized payload (else opaque).
/// "para" keys: bytes starting with "BKNG", "APPR" or "DISP" must decode as a
/// statement (else malformed); other bytes are opaque. Other key types: opaque.
/// For every key type, a proof-of-possession statement
/// (payloads::is_proof_of_possession_statement) is unprotected: signed, not recorded.
Classified classify_message(std::span<const KeyTypeId> key_types, ByteSpan message);

// ---- Storage ---------------------------------------------------------------------------

/// Named byte blobs. Implementations must make write() atomic (old or new
/// content after a crash, never a mix) and durable before it returns. Every
/// method returns Error::storage_failure (or another error) on failure; the
/// Protector then fails closed. (No out-of-line virtual function, so that
/// implementations built with RTTI get the typeinfo they need; see below.)
class BlobStore {
  public:
    virtual ~BlobStore() = default;
    /// Read `name` into `out`; `found` is false (and Error::ok returned) when absent.
    virtual Error read(ByteSpan name, Bytes& out, bool& found) = 0;
    /// Create or replace `name` atomically and durably.
    virtual Error write(ByteSpan name, ByteSpan data) = 0;
    /// Remove `name`; absent is not an error.
    virtual Error remove(ByteSpan name) = 0;
};

namespace detail {

/// An ordered map kept as a sorted vector. It is all inline header code:
/// std::map would pull libstdc++'s compiled red-black tree (std::_Rb_tree_*),
/// which the TA must not depend on (scripts/check-ta-symbols.sh). Iterates in
/// key order like std::map, but inserting invalidates references to values.
template <class K, class V>
class SortedMap {
  public:
    using value_type = std::pair<K, V>;
    using const_iterator = typename std::vector<value_type>::const_iterator;

    V* find(const K& key) noexcept {
        auto it = lower(items_, key);
        return it != items_.end() && it->first == key ? &it->second : nullptr;
    }
    const V* find(const K& key) const noexcept {
        auto it = lower(items_, key);
        return it != items_.end() && it->first == key ? &it->second : nullptr;
    }
    bool contains(const K& key) const noexcept { return find(key) != nullptr; }
    /// The value for `key`, inserted value-initialized when absent.
    V& operator[](const K& key) {
        auto it = lower(items_, key);
        if (it == items_.end() || !(it->first == key)) it = items_.insert(it, value_type(key, V{}));
        return it->second;
    }
    void erase(const K& key) {
        auto it = lower(items_, key);
        if (it != items_.end() && it->first == key) items_.erase(it);
    }
    size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    const_iterator begin() const noexcept { return items_.begin(); }
    const_iterator end() const noexcept { return items_.end(); }

  private:
    template <class Items>
    static auto lower(Items& items, const K& key) noexcept {
        return std::lower_bound(items.begin(), items.end(), key,
                                [](const value_type& item, const K& k) { return item.first < k; });
    }
    std::vector<value_type> items_;
};

}  // namespace detail

/// An in-memory BlobStore (tests, tools). snapshot()/restore() serialize the
/// whole store, to test that state survives a reload. Its virtual functions
/// are inline on purpose: the core is built without RTTI, so a polymorphic
/// class whose key function lived in the core would lack the typeinfo that
/// RTTI-enabled callers (and UBSan's vptr check) expect.
class MemoryBlobStore final : public BlobStore {
  public:
    Error read(ByteSpan name, Bytes& out, bool& found) override {
        const Bytes* blob = blobs_.find(Bytes(name.begin(), name.end()));
        found = blob != nullptr;
        if (found) out = *blob;
        return Error::ok;
    }
    Error write(ByteSpan name, ByteSpan data) override {
        if (failing_writes_ > 0) {
            --failing_writes_;
            return Error::storage_failure;
        }
        blobs_[Bytes(name.begin(), name.end())] = Bytes(data.begin(), data.end());
        return Error::ok;
    }
    Error remove(ByteSpan name) override {
        blobs_.erase(Bytes(name.begin(), name.end()));
        return Error::ok;
    }

    Bytes snapshot() const;
    Error restore(ByteSpan snapshot);
    size_t object_count() const noexcept { return blobs_.size(); }
    /// Test hook: make the next `n` writes fail with Error::storage_failure.
    void fail_next_writes(int n) noexcept { failing_writes_ = n; }

  private:
    detail::SortedMap<Bytes, Bytes> blobs_;
    int failing_writes_ = 0;
};

/// How much history each rule keeps per key.
struct Limits {
    uint32_t grandpa_positions = 128;     // (set id, round) pairs
    uint32_t babe_positions = 1024;       // slots
    uint32_t beefy_positions = 256;       // (set id, block) pairs
    uint32_t para_sessions = 8;           // sessions (disputes reach 6 sessions back)
    uint32_t para_bucket_records = 1024;  // records per (session, first hash byte)
    /// Positions per stored page of a grandpa/babe/beefy history; 0: a
    /// sixteenth of the rule's limit, at least 4 (tests set small pages).
    uint32_t positions_per_page = 0;
};

/// How many positions a key's history keeps under `rule` (`para`: sessions);
/// 0 for `Rule::none`.
uint32_t position_limit(const Limits& limits, Rule rule) noexcept;

/// A key's history under one rule, as export/import and tests see it.
struct History {
    Rule rule = Rule::none;
    Bytes public_key;
    Position watermark;
    std::vector<Record> records;  // sorted by position (para: then by candidate)
};

struct ExportPage {
    Bytes document;                // a complete interchange Document
    std::optional<uint64_t> next;  // cursor of the next page, if any
};

struct ImportReport {
    uint32_t items = 0;
    uint32_t records_added = 0;
    /// Imported records that differ from a local one for the same vote (the
    /// local one is kept) or that give a para candidate both sides.
    uint32_t records_conflicting = 0;
    uint32_t watermarks_raised = 0;
};

/// Decode and validate an interchange Document.
Result<std::vector<History>> decode_document(ByteSpan document);
Bytes encode_document(const std::vector<History>& items);

class Protector {
  public:
    explicit Protector(BlobStore& store, Limits limits = {}) : store_(store), limits_(limits) {}

    /// Decide whether `public_key` may sign `s`. When allowed and new, the
    /// record is on the store (written and durable) when this returns.
    /// Rule::none is allowed without a record. Errors (storage, corrupt state)
    /// mean "do not sign".
    Result<Decision> authorize(ByteSpan public_key, const Signable& s);

    /// The sp-keystore raw-bytes path: classify_message, then the rule or the
    /// opaque policy of every key type in `key_types`.
    Result<Decision> authorize_message(ByteSpan public_key, std::span<const KeyTypeId> key_types,
                                       ByteSpan message);

    /// A caller-given prehash (or other opaque bytes): the opaque policy of
    /// every key type in `key_types`.
    Result<Decision> authorize_opaque(std::span<const KeyTypeId> key_types);

    Result<OpaquePolicy> policy();
    Error set_policy(const OpaquePolicy& policy);

    /// The history of one key under one rule (empty when none).
    Result<History> history(Rule rule, ByteSpan public_key);

    /// Export, one page at a time: start at cursor 0, continue with `next`.
    /// A page holds whole items and stays under `max_bytes` unless a single
    /// item is larger (a full para bucket is about 90 KB). Pages are read live:
    /// stop signing while exporting for a consistent snapshot.
    Result<ExportPage> export_page(uint64_t cursor, size_t max_bytes);
    /// Every page merged into one Document.
    Result<Bytes> export_all();
    /// Merge a Document (see the file comment).
    Result<ImportReport> import(ByteSpan document);

  private:
    BlobStore& store_;
    Limits limits_;
};

}  // namespace teesigner::core::protection
