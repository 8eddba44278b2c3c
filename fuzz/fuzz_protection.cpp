// The slashing-protection state machine (core/protection.hpp) as a sequence of
// operations from the input, over an in-memory store, with small history limits
// so that pruning and watermarks come into play. The property checked after
// every decision: no two *allowed* signatures ever conflict, i.e.
//   grandpa  one target per (key, set id, round, prevote/precommit)
//   babe     one pre-hash per (key, slot)
//   beefy    one commitment prehash per (key, set id, block)
//   para     never both sides for one (key, session, candidate)
// whatever happens in between: failed (non-durable) writes, an export of the
// whole state imported into a fresh store (the signer moved to new hardware),
// arbitrary documents imported, the raw sp-keystore path for GRANDPA, and
// arbitrary bytes planted in the store. Storage errors must fail closed.
//
// Input: one byte of limits, then operations of one opcode byte and a few
// parameter bytes each (see the switch below).
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"

using namespace teesigner::core;
using namespace teesigner::core::payloads;
using namespace teesigner::core::protection;
using teesigner::fuzz::Input;

namespace {

using Key = std::vector<uint64_t>;

struct Tracker {
    std::map<Key, Hash256> one_value;  // grandpa/babe/beefy: the only allowed payload
    std::map<Key, uint8_t> sides;      // para: sides allowed so far

    void allowed_value(Key key, const Hash256& value) {
        auto [it, inserted] = one_value.emplace(std::move(key), value);
        TS_FUZZ_CHECK(inserted || it->second == value);  // else: two conflicting signatures
    }
    void allowed_side(Key key, bool valid) {
        uint8_t& s = sides[std::move(key)];
        s |= valid ? kValidSide : kInvalidSide;
        TS_FUZZ_CHECK(s != (kValidSide | kInvalidSide));
    }
};

Bytes public_key(uint8_t which) {
    return Bytes(32, static_cast<uint8_t>(0xA0 + which % 2));
}

Hash256 small_hash(uint8_t v) {
    Hash256 h{};
    h[0] = v;
    h[31] = 0x5A;
    return h;
}

// The pk as a number for the tracker keys.
uint64_t pk_id(const Bytes& pk) {
    return pk[0];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    Input in(data, size);
    uint8_t l = in.u8();
    Limits limits;
    limits.grandpa_positions = 1 + (l & 3);
    limits.babe_positions = 1 + ((l >> 2) & 3);
    limits.beefy_positions = 1 + ((l >> 4) & 3);
    limits.para_sessions = 1 + ((l >> 6) & 1);
    limits.para_bucket_records = 1 + ((l >> 7) & 1) * 3;
    limits.positions_per_page = 1 + ((l >> 1) & 1);  // histories over several pages

    auto store = std::make_unique<MemoryBlobStore>();
    auto prot = std::make_unique<Protector>(*store, limits);
    Tracker t;

    for (int step = 0; step < 64 && in.remaining() > 0; ++step) {
        uint8_t op = in.u8() % 9;
        switch (op) {
            case 0:
            case 7: {  // GRANDPA, typed (0) or through the raw "gran" path (7)
                GrandpaVote v;
                v.kind = static_cast<GrandpaMessageKind>(in.u8() % 3);
                v.set_id = in.u8() % 3;
                v.round = in.u8() % 4;
                v.target_hash = small_hash(in.u8() % 3);
                v.target_number = in.u8() % 2;
                Bytes pk = public_key(in.u8());
                Result<Decision> d = Error::unsupported;
                if (op == 0) {
                    auto s = signable_grandpa(v);
                    if (!s) {
                        TS_FUZZ_CHECK(v.kind == GrandpaMessageKind::primary_propose);
                        break;
                    }
                    d = prot->authorize(pk, *s);
                } else {
                    const KeyTypeId gran = kGrandpaKeyType;
                    d = prot->authorize_message(pk, std::span(&gran, 1), encode_grandpa_vote(v));
                }
                if (d && d->allowed && v.kind != GrandpaMessageKind::primary_propose) {
                    Hash256 value = blake2b_256(encode_grandpa_vote(v));
                    t.allowed_value({0, pk_id(pk), v.set_id, v.round, uint64_t(v.kind)}, value);
                }
                break;
            }
            case 1: {  // BABE seal
                BabeSealRequest r;
                r.pre_digest.slot = in.u8() % 8;
                r.pre_hash = small_hash(in.u8() % 3);
                Bytes pk = public_key(in.u8());
                auto d = prot->authorize(pk, signable_babe(r));
                if (d && d->allowed) t.allowed_value({1, pk_id(pk), r.pre_digest.slot}, r.pre_hash);
                break;
            }
            case 2: {  // BEEFY vote
                BeefyCommitment c;
                c.validator_set_id = in.u8() % 2;
                c.block_number = in.u8() % 8;
                Hash256 prehash = small_hash(in.u8() % 3);
                Bytes pk = public_key(in.u8());
                auto d = prot->authorize(pk, signable_beefy(c, prehash));
                if (d && d->allowed)
                    t.allowed_value({2, pk_id(pk), c.validator_set_id, c.block_number}, prehash);
                break;
            }
            case 3: {  // para statement
                ParaStatement st;
                st.kind = static_cast<ParaStatementKind>(1 + in.u8() % 6);
                st.session = in.u8() % 4;
                st.candidates.push_back(small_hash(in.u8() % 4));
                if (st.kind == ParaStatementKind::approval_multiple)
                    st.candidates.push_back(small_hash(in.u8() % 4));
                if (st.kind == ParaStatementKind::backing_seconded ||
                    st.kind == ParaStatementKind::backing_valid)
                    st.parent_hash = small_hash(in.u8());
                Bytes pk = public_key(in.u8());
                auto payload = encode_para_statement(st);
                TS_FUZZ_CHECK(payload.ok());
                auto d = prot->authorize(pk, signable_para(st, *payload));
                if (d && d->allowed)
                    for (const Hash256& c : st.candidates)
                        t.allowed_side({3, pk_id(pk), st.session, c[0]}, st.valid_side());
                break;
            }
            case 4:  // the next writes fail (not durable): decisions must fail closed
                store->fail_next_writes(1 + in.u8() % 3);
                break;
            case 5: {  // move to new hardware: export everything, import into a fresh store
                store->fail_next_writes(0);
                auto doc = prot->export_all();
                if (!doc) break;
                auto fresh = std::make_unique<MemoryBlobStore>();
                auto fresh_prot = std::make_unique<Protector>(*fresh, limits);
                auto report = fresh_prot->import(*doc);
                TS_FUZZ_CHECK(report.ok());
                // Importing the same state again changes nothing.
                auto again = fresh_prot->import(*doc);
                TS_FUZZ_CHECK(again && again->records_added == 0 && again->watermarks_raised == 0);
                store = std::move(fresh);
                prot = std::move(fresh_prot);
                break;
            }
            case 6: {  // an arbitrary document merged in
                auto doc = in.take(in.u16() % 512);
                auto items = decode_document(doc);
                auto report = prot->import(doc);
                if (!items) TS_FUZZ_CHECK(!report);
                break;
            }
            default: {  // arbitrary bytes planted under a protection object name
                static const char* kNames[] = {"prot/index", "prot/policy"};
                Bytes name;
                uint8_t which = in.u8();
                if (which % 4 < 2) {
                    const char* n = kNames[which % 4];
                    name.assign(n, n + std::strlen(n));
                } else {  // a main object, or a history page (slot 0-3)
                    const char* n = which % 4 == 2 ? "prot/m" : "prot/p";
                    name.assign(n, n + 6);
                    name.push_back(static_cast<uint8_t>(1 + in.u8() % 4));
                    Bytes pk = public_key(in.u8());
                    name.insert(name.end(), pk.begin(), pk.end());
                    if (which % 4 == 3) {
                        name.push_back(static_cast<uint8_t>(in.u8() % 4));
                        name.insert(name.end(), 3, 0);
                    }
                }
                auto blob = in.take(in.u8());
                // Planted state is outside the model: stop checking from here on,
                // only "no crash, errors as values" remains.
                store->write(name, blob);
                t = Tracker{};
                t.one_value.clear();
                for (int k = 0; k < 4 && in.remaining() > 0; ++k) {
                    GrandpaVote v;
                    v.set_id = in.u8() % 3;
                    v.round = in.u8() % 4;
                    auto s = signable_grandpa(v);
                    (void)prot->authorize(public_key(in.u8()), *s);
                }
                (void)prot->export_all();
                (void)prot->policy();
                (void)prot->history(Rule::para, public_key(0));
                return 0;
            }
        }
    }
    return 0;
}
