#include "teesigner/core/merlin.hpp"

namespace teesigner::core {
namespace {

ByteArray<4> u32_le(size_t n) noexcept {
    const auto v = static_cast<uint32_t>(n);
    return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 24)};
}

}  // namespace

Transcript::Transcript(ByteSpan label) noexcept : strobe_(as_bytes("Merlin v1.0")) {
    append_message(as_bytes("dom-sep"), label);
}

void Transcript::append_message(ByteSpan label, ByteSpan message) noexcept {
    strobe_.meta_ad(label, false);
    strobe_.meta_ad(u32_le(message.size()), true);
    strobe_.ad(message, false);
}

void Transcript::append_u64(std::string_view label, uint64_t value) noexcept {
    ByteArray<8> le;
    for (size_t i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(value >> (8 * i));
    append_message(as_bytes(label), le);
}

void Transcript::challenge_bytes(ByteSpan label, MutableByteSpan out) noexcept {
    strobe_.meta_ad(label, false);
    strobe_.meta_ad(u32_le(out.size()), true);
    strobe_.prf(out, false);
}

Transcript::RngBuilder& Transcript::RngBuilder::rekey_with_witness_bytes(ByteSpan label,
                                                                         ByteSpan witness) noexcept {
    strobe_.meta_ad(label, false);
    strobe_.meta_ad(u32_le(witness.size()), true);
    strobe_.key(witness, false);
    return *this;
}

TranscriptRng Transcript::RngBuilder::finalize(const ByteArray<32>& external_random) noexcept {
    strobe_.meta_ad(as_bytes("rng"), false);
    strobe_.key(external_random, false);
    return TranscriptRng(strobe_);
}

void TranscriptRng::fill_bytes(MutableByteSpan out) noexcept {
    strobe_.meta_ad(u32_le(out.size()), false);
    strobe_.prf(out, false);
}

}  // namespace teesigner::core
