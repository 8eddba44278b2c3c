#include "teesigner/core/strobe.hpp"

#include <algorithm>
#include <cstring>

#include "teesigner/core/keccak.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core {
namespace {
// STROBE operation flags.
constexpr uint8_t kFlagI = 1;
constexpr uint8_t kFlagA = 1 << 1;
constexpr uint8_t kFlagC = 1 << 2;
constexpr uint8_t kFlagM = 1 << 4;
constexpr uint8_t kFlagK = 1 << 5;

// keccak_f1600 of the STROBE-128 initial block {1, rate + 2, 1, 0, 1, 96,
// "STROBEv1.0.2", zeros}. Every transcript starts from it, so it is a constant
// rather than a permutation per transcript. Merlin's published vectors
// (tests/unit/test_merlin.cpp) fail if it is wrong, and a byte-at-a-time
// reference there recomputes it from the definition.
constexpr uint8_t kInitialState[200] = {
    0x9c, 0x6d, 0x16, 0x8f, 0xf8, 0xfd, 0x55, 0xda, 0x2a, 0xa7, 0x3c, 0x23, 0x55, 0x65, 0x35, 0x63,
    0xdc, 0x0c, 0x47, 0x5c, 0x55, 0x15, 0x26, 0xf6, 0x73, 0x3b, 0xea, 0x22, 0xf1, 0x6c, 0xb5, 0x7c,
    0xd3, 0x1f, 0x68, 0x2e, 0x66, 0x0e, 0xe9, 0x12, 0x82, 0x4a, 0x77, 0x22, 0x01, 0xee, 0x13, 0x94,
    0x22, 0x6f, 0x4a, 0xfc, 0xb6, 0x2d, 0x33, 0x12, 0x93, 0xcc, 0x92, 0xe8, 0xa6, 0x24, 0xac, 0xf6,
    0xe1, 0xb6, 0x00, 0x95, 0xe3, 0x22, 0xbb, 0xfb, 0xc8, 0x45, 0xe5, 0xb2, 0x69, 0x95, 0xfe, 0x7d,
    0x7c, 0x84, 0x13, 0x74, 0xd1, 0xff, 0x58, 0x98, 0xc9, 0x2e, 0xe0, 0x63, 0x6b, 0x06, 0x72, 0x73,
    0x21, 0xc9, 0x2a, 0x60, 0x39, 0x07, 0x03, 0x53, 0x49, 0xcc, 0xbb, 0x1b, 0x92, 0xb7, 0xb0, 0x05,
    0x7e, 0x8f, 0xa8, 0x7f, 0xce, 0xbc, 0x7e, 0x88, 0x65, 0x6f, 0xcb, 0x45, 0xae, 0x04, 0xbc, 0x34,
    0xca, 0xbe, 0xae, 0xbe, 0x79, 0xd9, 0x17, 0x50, 0xc0, 0xe8, 0xbf, 0x13, 0xb9, 0x66, 0x50, 0x4d,
    0x13, 0x43, 0x59, 0x72, 0x65, 0xdd, 0x88, 0x65, 0xad, 0xf9, 0x14, 0x09, 0xcc, 0x9b, 0x20, 0xd5,
    0xf4, 0x74, 0x44, 0x04, 0x1f, 0x97, 0xb6, 0x99, 0xdd, 0xfb, 0xde, 0xe9, 0x1e, 0xa8, 0x7b, 0xd0,
    0x9b, 0xf8, 0xb0, 0x2d, 0xa7, 0x5a, 0x96, 0xe9, 0x47, 0xf0, 0x7f, 0x5b, 0x65, 0xbb, 0x4e, 0x6e,
    0xfe, 0xfa, 0xa1, 0x6a, 0xbf, 0xd9, 0xfb, 0xf6,
};
}  // namespace

Strobe128::Strobe128(ByteSpan protocol_label) noexcept {
    std::memcpy(state_, kInitialState, sizeof state_);
    meta_ad(protocol_label, false);
}

Strobe128::~Strobe128() {
    secure_wipe(state_, sizeof state_);
}

void Strobe128::run_f() noexcept {
    state_[pos_] ^= pos_begin_;
    state_[pos_ + 1] ^= 0x04;
    state_[kRate + 1] ^= 0x80;
    keccak_f1600(state_);
    pos_ = 0;
    pos_begin_ = 0;
}

// The three byte loops below work up to the end of the current block at a
// time, so the rate check runs once per block rather than once per byte.
void Strobe128::absorb(ByteSpan data) noexcept {
    size_t done = 0;
    while (done < data.size()) {
        const size_t n = std::min(kRate - pos_, data.size() - done);
        for (size_t i = 0; i < n; ++i) state_[pos_ + i] ^= data[done + i];
        pos_ = static_cast<uint8_t>(pos_ + n);
        done += n;
        if (pos_ == kRate) run_f();
    }
}

void Strobe128::overwrite(ByteSpan data) noexcept {
    size_t done = 0;
    while (done < data.size()) {
        const size_t n = std::min(kRate - pos_, data.size() - done);
        std::memcpy(state_ + pos_, data.data() + done, n);
        pos_ = static_cast<uint8_t>(pos_ + n);
        done += n;
        if (pos_ == kRate) run_f();
    }
}

void Strobe128::squeeze(MutableByteSpan out) noexcept {
    size_t done = 0;
    while (done < out.size()) {
        const size_t n = std::min(kRate - pos_, out.size() - done);
        std::memcpy(out.data() + done, state_ + pos_, n);
        std::memset(state_ + pos_, 0, n);
        pos_ = static_cast<uint8_t>(pos_ + n);
        done += n;
        if (pos_ == kRate) run_f();
    }
}

void Strobe128::begin_op(uint8_t flags, bool more) noexcept {
    // Continuing an operation must use the same flags; Merlin only ever does so.
    if (more) return;
    const uint8_t old_begin = pos_begin_;
    pos_begin_ = static_cast<uint8_t>(pos_ + 1);
    cur_flags_ = flags;
    const uint8_t op[2] = {old_begin, flags};
    absorb(op);
    // Cipher and key operations start on a fresh block.
    if ((flags & (kFlagC | kFlagK)) != 0 && pos_ != 0) run_f();
}

void Strobe128::meta_ad(ByteSpan data, bool more) noexcept {
    begin_op(kFlagM | kFlagA, more);
    absorb(data);
}

void Strobe128::ad(ByteSpan data, bool more) noexcept {
    begin_op(kFlagA, more);
    absorb(data);
}

void Strobe128::prf(MutableByteSpan out, bool more) noexcept {
    begin_op(kFlagI | kFlagA | kFlagC, more);
    squeeze(out);
}

void Strobe128::key(ByteSpan data, bool more) noexcept {
    begin_op(kFlagA | kFlagC, more);
    overwrite(data);
}

}  // namespace teesigner::core
