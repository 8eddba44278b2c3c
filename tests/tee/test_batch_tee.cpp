// SIGN_BATCH (group commit) through the signer TA in the soft TEE: items are
// decided in order against each other's records, bad items fail alone, the
// records are durable before any signature is released (restart, kill -9 in
// the crash window), and nothing is recorded for a batch that cannot be answered.
#include <gtest/gtest.h>

#include <algorithm>

#include "softtee_harness.hpp"

namespace {

using namespace softtee_test;
using namespace teesigner::core::payloads;
using teesigner::core::blake2b_256;

constexpr uint8_t kConflict = 1;

Bytes vote(uint8_t target, uint64_t round) {
    return encode_grandpa_vote({GrandpaMessageKind::prevote, filled(target, 1), 99, round, 4});
}

struct Item {
    uint32_t command;
    Bytes request;
};

Bytes batch_request(const std::vector<Item>& items) {
    Encoder e;
    e.compact(items.size());
    for (const Item& i : items) e.u32(i.command).bytes(i.request);
    return e.take();
}

struct Answer {
    uint32_t result = 0;
    Bytes response;
};

std::vector<Answer> decode_batch(const Bytes& raw) {
    Decoder d(raw);
    auto answers = d.vec<Answer>(
        [](Decoder& dec) -> teesigner::core::Result<Answer> {
            auto result = dec.u32();
            if (!result) return result.error();
            auto response = dec.bytes();
            if (!response) return response.error();
            return Answer{*result, *response};
        },
        5);
    EXPECT_TRUE(answers.ok());
    EXPECT_EQ(d.finish(), teesigner::core::Error::ok);
    return answers.ok() ? *answers : std::vector<Answer>{};
}

Bytes gran_key(Tee& tee) {
    return tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519));
}

void expect_signed(const Answer& a, const Bytes& pk, const Bytes& payload) {
    ASSERT_EQ(a.result, TEEC_SUCCESS);
    Outcome o = decode_outcome(a.response);
    ASSERT_TRUE(o.ok && o.signed_);
    EXPECT_EQ(o.payload_hash, blake2b_256(payload));
    EXPECT_EQ(teesigner::core::verify(Scheme::ed25519, teesigner::core::SignatureBytes(o.signature),
                                      payload, teesigner::core::PublicKeyBytes(pk)),
              teesigner::core::Error::ok);
}

void expect_conflict(const Bytes& response, const Bytes& earlier) {
    Outcome o = decode_outcome(response);
    ASSERT_TRUE(o.ok);
    EXPECT_FALSE(o.signed_);
    EXPECT_EQ(o.reason, kConflict);
    EXPECT_EQ(o.earlier_payload_hash, blake2b_256(earlier));
}

TEST(BatchTee, ItemsAreDecidedInOrderAndFailAlone) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes gran = gran_key(tee);
    Bytes audi = tee.call_ok(TA_SIGNER_CMD_GENERATE_KEY, key_request("audi", Scheme::sr25519));
    const Bytes first = vote(1, 50), second = vote(2, 50), other_round = vote(3, 51);
    const Bytes record = {1, 2, 3, 4};
    Bytes out = tee.call_ok(
        TA_SIGNER_CMD_SIGN_BATCH,
        batch_request(
            {{TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, first)},
             {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, second)},
             {TA_SIGNER_CMD_SIGN_CHECKED, sign_request("audi", Scheme::sr25519, audi, record)},
             {TA_SIGNER_CMD_GENERATE_KEY, key_request("gran", Scheme::ed25519)},
             {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, Bytes{1, 2, 3}},
             {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, other_round)},
             {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, first)}}));
    std::vector<Answer> a = decode_batch(out);
    ASSERT_EQ(a.size(), 7u);
    expect_signed(a[0], gran, first);
    ASSERT_EQ(a[1].result, TEEC_SUCCESS);
    expect_conflict(a[1].response, first);  // refused against the same batch's record
    ASSERT_EQ(a[2].result, TEEC_SUCCESS);
    Outcome unprotected = decode_outcome(a[2].response);
    ASSERT_TRUE(unprotected.ok && unprotected.signed_);
    EXPECT_EQ(teesigner::core::verify(Scheme::sr25519,
                                      teesigner::core::SignatureBytes(unprotected.signature),
                                      record, teesigner::core::PublicKeyBytes(audi)),
              teesigner::core::Error::ok);
    EXPECT_EQ(a[3].result, static_cast<uint32_t>(TEEC_ERROR_NOT_SUPPORTED));  // not batchable
    EXPECT_EQ(a[4].result, static_cast<uint32_t>(TEEC_ERROR_BAD_FORMAT));
    EXPECT_TRUE(a[4].response.empty());
    expect_signed(a[5], gran, other_round);
    expect_signed(a[6], gran, first);  // the identical vote again

    // The batch's records are the key's history from now on, also after a restart.
    tee.finalize();
    tee.start();
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, second)), first);
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, vote(9, 51))),
        other_round);
}

TEST(BatchTee, RecordsAreDurableBeforeAnySignatureLeaves) {
    TempDir dir;
    Tee tee(dir, TS_SOFTTEE_TEST_TA);
    tee.start();
    Bytes gran = gran_key(tee);
    Bytes out;
    ASSERT_EQ(tee.call(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {}, out), TEEC_SUCCESS);
    std::vector<Item> items;
    for (uint64_t round = 10; round < 20; ++round)
        items.push_back(
            {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, vote(1, round))});
    // The TA dies after the commit, before replying: the caller sees no signature.
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BATCH, batch_request(items), out),
              TEEC_ERROR_TARGET_DEAD);
    tee.finalize();
    tee.start();
    for (uint64_t round = 10; round < 20; ++round)
        expect_conflict(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                                    typed_request("gran", gran, vote(2, round))),
                        vote(1, round));
}

TEST(BatchTee, NothingIsRecordedForABatchThatCannotBeAnswered) {
    TempDir dir;
    Tee tee(dir);
    tee.start();
    Bytes gran = gran_key(tee);
    const Bytes req = batch_request(
        {{TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, vote(1, 70))}});
    // Output too small: the size needed comes back, nothing is decided.
    Bytes small(8);
    TEEC_Operation op{};
    op.paramTypes =
        TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = const_cast<uint8_t*>(req.data());
    op.params[0].tmpref.size = req.size();
    op.params[1].tmpref.buffer = small.data();
    op.params[1].tmpref.size = small.size();
    uint32_t origin = 0;
    EXPECT_EQ(TEEC_InvokeCommand(tee.session(), TA_SIGNER_CMD_SIGN_BATCH, &op, &origin),
              TEEC_ERROR_SHORT_BUFFER);
    EXPECT_EQ(op.params[1].tmpref.size, static_cast<size_t>(TA_SIGNER_BATCH_OUT_MAX(1)));
    Bytes out;
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BATCH, batch_request({}), out),
              TEEC_ERROR_BAD_PARAMETERS);
    std::vector<Item> too_many(
        TA_SIGNER_BATCH_MAX + 1,
        Item{TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, vote(1, 70))});
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BATCH, batch_request(too_many), out),
              TEEC_ERROR_BAD_PARAMETERS);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_BATCH, Bytes{0xff}, out), TEEC_ERROR_BAD_FORMAT);
    // None of those recorded round 70: a different vote for it still signs.
    Outcome o = decode_outcome(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", gran, vote(2, 70))));
    EXPECT_TRUE(o.ok && o.signed_);
}

// The soft TEE commits a batch by syncing one journal record and writes no
// object file: those wait in memory for the next checkpoint. A crash loses
// them: here, after kill -9, every object file is still as it was at the last
// checkpoint (any the commit had put in place would be put back, or removed if
// new). The next start restores them from the journal, so the records still
// refuse conflicts. The journal file is
// reserved once and reused in place: the records after an orderly stop's
// checkpoint overwrite older ones, which replay must skip. Then: a torn
// record after the last whole one is ignored, and an orderly stop leaves
// nothing to replay.
TEST(BatchTee, JournalRestoresRecordsWhoseFilesDidNotReachTheDisk) {
    TempDir dir;
    Tee tee(dir, TS_SOFTTEE_TEST_TA);
    tee.start();
    Bytes a = gran_key(tee);
    Bytes b = gran_key(tee);
    Bytes out;
    ASSERT_TRUE(decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                                           typed_request("gran", a, vote(1, 1))))
                    .signed_);
    const fs::path journal = dir.storage() / "journal";
    const auto reserved = fs::file_size(journal);
    ASSERT_GE(reserved, 256u * 1024u);  // the first zero-filled step; these records fit in it
    // Checkpoint (orderly stop) with round 1's record left in the file, then
    // write round 10's record over it.
    tee.finalize();
    EXPECT_EQ(fs::file_size(journal), reserved);
    tee.start();
    ASSERT_TRUE(decode_outcome(tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE,
                                           typed_request("gran", a, vote(1, 10))))
                    .signed_);
    std::vector<std::pair<fs::path, Bytes>> before;
    for (const auto& entry : fs::directory_iterator(dir.storage()))
        if (entry.path().filename().string()[0] == 'o')
            before.emplace_back(entry.path(), slurp(entry.path()));

    ASSERT_EQ(tee.call(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {}, out), TEEC_SUCCESS);
    EXPECT_EQ(
        tee.call(TA_SIGNER_CMD_SIGN_BATCH,
                 batch_request(
                     {{TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", a, vote(1, 2))},
                      {TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", b, vote(1, 2))}}),
                 out),
        TEEC_ERROR_TARGET_DEAD);
    size_t reverted = 0, removed = 0;
    for (const auto& entry : fs::directory_iterator(dir.storage())) {
        if (entry.path().filename().string()[0] != 'o') continue;
        auto old = std::find_if(before.begin(), before.end(),
                                [&](const auto& p) { return p.first == entry.path(); });
        if (old == before.end()) {
            fs::remove(entry.path());
            ++removed;
        } else if (slurp(entry.path()) != old->second) {
            spit(entry.path(), old->second);
            ++reverted;
        }
    }
    // Rounds 10 and 2 of key a, round 2 of key b: committed, in no object file.
    EXPECT_EQ(reverted, 0u);
    EXPECT_EQ(removed, 0u);
    tee.finalize();
    tee.start();
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", a, vote(2, 2))),
        vote(1, 2));
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", b, vote(2, 2))),
        vote(1, 2));
    std::string log(reinterpret_cast<const char*>(slurp(dir.log()).data()),
                    slurp(dir.log()).size());
    EXPECT_NE(log.find("object writes from the journal"), std::string::npos) << log;

    // A torn record (the first half of one) after the last whole one is ignored.
    ASSERT_EQ(tee.call(TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST, {}, out), TEEC_SUCCESS);
    EXPECT_EQ(tee.call(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", a, vote(1, 3)), out),
              TEEC_ERROR_TARGET_DEAD);
    Bytes bytes = slurp(journal);
    EXPECT_EQ(bytes.size(), reserved);
    // The record at offset 0: "TSJR", u32 format, u64 last version, u32 sealed
    // length, then a 24-byte nonce and the sealed list with its 16-byte tag.
    ASSERT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "TSJR");
    const size_t record =
        20 + 24 + 16 +
        (bytes[16] | bytes[17] << 8 | bytes[18] << 16 | static_cast<size_t>(bytes[19]) << 24);
    ASSERT_LT(2 * record, bytes.size());
    std::copy(bytes.begin(), bytes.begin() + static_cast<long>(record / 2),
              bytes.begin() + static_cast<long>(record));
    spit(journal, bytes);
    tee.finalize();
    tee.start();
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", a, vote(2, 3))),
        vote(1, 3));
    log.assign(reinterpret_cast<const char*>(slurp(dir.log()).data()), slurp(dir.log()).size());
    EXPECT_NE(log.find("ignoring a journal record cut short at byte " + std::to_string(record)),
              std::string::npos)
        << log;

    // An orderly stop checkpoints: nothing is left to replay, and nothing lost.
    auto count = [](const std::string& text, const std::string& what) {
        size_t n = 0;
        for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
            ++n;
        return n;
    };
    const size_t restores = count(log, "object writes from the journal");
    tee.finalize();
    EXPECT_EQ(fs::file_size(journal), reserved);
    tee.start();
    log.assign(reinterpret_cast<const char*>(slurp(dir.log()).data()), slurp(dir.log()).size());
    EXPECT_EQ(count(log, "object writes from the journal"), restores) << log;
    expect_conflict(
        tee.call_ok(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, typed_request("gran", b, vote(2, 2))),
        vote(1, 2));
}

}  // namespace
