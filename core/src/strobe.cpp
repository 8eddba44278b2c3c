#include "teesigner/core/strobe.hpp"

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
}  // namespace

Strobe128::Strobe128(ByteSpan protocol_label) noexcept {
    std::memset(state_, 0, sizeof state_);
    const uint8_t header[6] = {1, kRate + 2, 1, 0, 1, 96};
    std::memcpy(state_, header, sizeof header);
    std::memcpy(state_ + 6, "STROBEv1.0.2", 12);
    keccak_f1600(state_);
    meta_ad(protocol_label, false);
}

Strobe128::~Strobe128() { secure_wipe(state_, sizeof state_); }

void Strobe128::run_f() noexcept {
    state_[pos_] ^= pos_begin_;
    state_[pos_ + 1] ^= 0x04;
    state_[kRate + 1] ^= 0x80;
    keccak_f1600(state_);
    pos_ = 0;
    pos_begin_ = 0;
}

void Strobe128::absorb(ByteSpan data) noexcept {
    for (uint8_t byte : data) {
        state_[pos_++] ^= byte;
        if (pos_ == kRate) run_f();
    }
}

void Strobe128::overwrite(ByteSpan data) noexcept {
    for (uint8_t byte : data) {
        state_[pos_++] = byte;
        if (pos_ == kRate) run_f();
    }
}

void Strobe128::squeeze(MutableByteSpan out) noexcept {
    for (uint8_t& byte : out) {
        byte = state_[pos_];
        state_[pos_++] = 0;
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
