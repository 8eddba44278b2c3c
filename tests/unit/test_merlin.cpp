// Keccak-256, STROBE-128 and Merlin against vectors from implementations we did
// not write: Keccak-256 and BLAKE2b from @polkadot/util-crypto (keccakAsHex,
// blake2AsHex); STROBE from the merlin crate's strobe conformance test
// ("Conformance Test Protocol"); Merlin from the merlin crate's transcript
// tests (equivalence_simple) and curve25519-voi's TestComplexTranscript.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "hex_helpers.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/strobe.hpp"

using namespace teesigner::core;
using namespace teesigner::core::test;

namespace {
Bytes filled(size_t n, uint8_t v) {
    return Bytes(n, v);
}
}  // namespace

TEST(Keccak256, MatchesPolkadotUtilCrypto) {
    EXPECT_EQ(hex(keccak_256({})),
              "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    EXPECT_EQ(hex(keccak_256(as_bytes("abc"))),
              "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    // Around the 136-byte rate boundary and across two blocks.
    EXPECT_EQ(hex(keccak_256(filled(135, 0x61))),
              "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    EXPECT_EQ(hex(keccak_256(filled(136, 0x61))),
              "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
    EXPECT_EQ(hex(keccak_256(filled(200, 0x61))),
              "96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
}

TEST(Blake2b, MatchesPolkadotUtilCrypto) {
    EXPECT_EQ(hex(blake2b_256(as_bytes("abc"))),
              "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    EXPECT_EQ(hex(blake2b_512(as_bytes("abc"))),
              "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
              "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(Strobe128, MerlinConformanceVector) {
    Strobe128 s(as_bytes("Conformance Test Protocol"));
    Bytes msg = filled(1024, 99);
    s.meta_ad(as_bytes("ms"), false);
    s.meta_ad(as_bytes("g"), true);
    s.ad(msg, false);

    ByteArray<32> prf{};
    s.meta_ad(as_bytes("prf"), false);
    s.prf(prf, false);
    EXPECT_EQ(hex(prf), "b48e645ca17c667fd5206ba57a6a228d72d8e1903814d3f17f622996d7cfefb0");

    s.meta_ad(as_bytes("key"), false);
    s.key(prf, false);
    s.meta_ad(as_bytes("prf"), false);
    s.prf(prf, false);
    EXPECT_EQ(hex(prf), "07e45cce8078cee259e3e375bb85d75610e2d1e1201c5f645045a194edd49ff8");
}

namespace {
// STROBE-128 written from the spec one byte at a time, independent of
// core/src/strobe.cpp (which starts from a precomputed state and works a block
// at a time): the two must agree on every operation sequence.
class ByteWiseStrobe {
  public:
    explicit ByteWiseStrobe(ByteSpan label) {
        const uint8_t header[6] = {1, kRate + 2, 1, 0, 1, 96};
        std::copy(header, header + 6, state_);
        std::copy_n("STROBEv1.0.2", 12, state_ + 6);
        keccak_f1600(state_);
        op(0x10 | 0x02, false);  // meta-AD
        for (uint8_t b : label) absorb_byte(b);
    }
    void meta_ad(ByteSpan d, bool more) {
        op(0x12, more);
        for (uint8_t b : d) absorb_byte(b);
    }
    void ad(ByteSpan d, bool more) {
        op(0x02, more);
        for (uint8_t b : d) absorb_byte(b);
    }
    void key(ByteSpan d, bool more) {
        op(0x06, more);
        for (uint8_t b : d) {
            state_[pos_++] = b;
            if (pos_ == kRate) run_f();
        }
    }
    void prf(MutableByteSpan out, bool more) {
        op(0x07, more);
        for (uint8_t& b : out) {
            b = state_[pos_];
            state_[pos_++] = 0;
            if (pos_ == kRate) run_f();
        }
    }

  private:
    static constexpr uint8_t kRate = 166;
    void absorb_byte(uint8_t b) {
        state_[pos_++] ^= b;
        if (pos_ == kRate) run_f();
    }
    void run_f() {
        state_[pos_] ^= pos_begin_;
        state_[pos_ + 1] ^= 0x04;
        state_[kRate + 1] ^= 0x80;
        keccak_f1600(state_);
        pos_ = 0;
        pos_begin_ = 0;
    }
    void op(uint8_t flags, bool more) {
        if (more) return;
        const uint8_t old_begin = pos_begin_;
        pos_begin_ = static_cast<uint8_t>(pos_ + 1);
        absorb_byte(old_begin);
        absorb_byte(flags);
        if ((flags & 0x24) != 0 && pos_ != 0) run_f();  // C or K: fresh block
    }
    uint8_t state_[200] = {};
    uint8_t pos_ = 0;
    uint8_t pos_begin_ = 0;
};
}  // namespace

TEST(Strobe128, AgreesWithByteWiseReferenceOnRandomSequences) {
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    auto next = [&rng] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
    };
    for (int trial = 0; trial < 200; ++trial) {
        Bytes label(next() % 40, static_cast<uint8_t>(trial));
        Strobe128 fast(label);
        ByteWiseStrobe slow(label);
        for (int step = 0; step < 12; ++step) {
            // Lengths up to 3 blocks, so operations start and end anywhere in a block.
            Bytes data(next() % 500);
            for (auto& b : data) b = static_cast<uint8_t>(next());
            const bool more = step > 0 && next() % 4 == 0;
            switch (next() % 4) {
                case 0:
                    fast.meta_ad(data, more);
                    slow.meta_ad(data, more);
                    break;
                case 1:
                    fast.ad(data, more);
                    slow.ad(data, more);
                    break;
                case 2:
                    fast.key(data, more);
                    slow.key(data, more);
                    break;
                default: {
                    Bytes a(data.size()), b(data.size());
                    fast.prf(a, more);
                    slow.prf(b, more);
                    ASSERT_EQ(hex(a), hex(b)) << "trial " << trial << " step " << step;
                }
            }
        }
        Bytes a(64), b(64);
        fast.prf(a, false);
        slow.prf(b, false);
        ASSERT_EQ(hex(a), hex(b)) << "trial " << trial;
    }
}

TEST(Merlin, SimpleTranscript) {
    Transcript t("test protocol");
    t.append_message("some label", as_bytes("some data"));
    ByteArray<32> challenge{};
    t.challenge_bytes("challenge", challenge);
    EXPECT_EQ(hex(challenge), "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615");
}

TEST(Merlin, ComplexTranscript) {
    Transcript t("test protocol");
    t.append_message("step1", as_bytes("some data"));
    Bytes data = filled(1024, 99);
    ByteArray<32> challenge{};
    for (int i = 0; i < 32; ++i) {
        t.challenge_bytes("challenge", challenge);
        t.append_message("bigdata", data);
        t.append_message("challengedata", challenge);
    }
    EXPECT_EQ(hex(challenge), "a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c");
}

TEST(Merlin, DifferentLabelsOrMessagesGiveDifferentChallenges) {
    auto challenge = [](std::string_view label, std::string_view msg) {
        Transcript t("proto");
        t.append_message(label, as_bytes(msg));
        ByteArray<32> c{};
        t.challenge_bytes("c", c);
        return c;
    };
    EXPECT_NE(challenge("a", "x"), challenge("b", "x"));
    EXPECT_NE(challenge("a", "x"), challenge("a", "y"));
    // Length framing: moving a byte between label and message changes the result.
    EXPECT_NE(challenge("ab", "c"), challenge("a", "bc"));
}

TEST(Merlin, RngDependsOnWitnessAndRandomness) {
    Transcript t("proto");
    t.append_message("m", as_bytes("msg"));
    ByteArray<32> zero{};
    ByteArray<32> one{};
    one[0] = 1;
    auto draw = [&](std::string_view witness, const ByteArray<32>& rnd) {
        TranscriptRng rng =
            t.build_rng().rekey_with_witness_bytes("w", as_bytes(witness)).finalize(rnd);
        ByteArray<64> out{};
        rng.fill_bytes(out);
        return out;
    };
    EXPECT_EQ(draw("secret", zero), draw("secret", zero));
    EXPECT_NE(draw("secret", zero), draw("secret2", zero));
    EXPECT_NE(draw("secret", zero), draw("secret", one));
}
