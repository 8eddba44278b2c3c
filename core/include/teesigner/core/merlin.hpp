// Merlin transcripts (merlin v1.0) over STROBE-128, bit-compatible with the
// Rust `merlin` crate used by schnorrkel.
#pragma once

#include <cstdint>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/strobe.hpp"

namespace teesigner::core {

class TranscriptRng;

class Transcript {
public:
    /// Transcript::new(label): STROBE "Merlin v1.0" then append_message("dom-sep", label).
    explicit Transcript(ByteSpan label) noexcept;
    explicit Transcript(std::string_view label) noexcept : Transcript(as_bytes(label)) {}

    void append_message(ByteSpan label, ByteSpan message) noexcept;
    void append_message(std::string_view label, ByteSpan message) noexcept {
        append_message(as_bytes(label), message);
    }
    /// append_u64(label, x) = append_message(label, x as 8 little-endian bytes).
    void append_u64(std::string_view label, uint64_t value) noexcept;
    void challenge_bytes(ByteSpan label, MutableByteSpan out) noexcept;
    void challenge_bytes(std::string_view label, MutableByteSpan out) noexcept {
        challenge_bytes(as_bytes(label), out);
    }

    /// Build a transcript RNG: a clone of this transcript, rekeyed with each
    /// (label, witness) pair and then with 32 bytes from `external_random`
    /// (merlin's TranscriptRngBuilder::finalize).
    class RngBuilder {
    public:
        explicit RngBuilder(const Strobe128& strobe) noexcept : strobe_(strobe) {}
        RngBuilder& rekey_with_witness_bytes(ByteSpan label, ByteSpan witness) noexcept;
        RngBuilder& rekey_with_witness_bytes(std::string_view label, ByteSpan witness) noexcept {
            return rekey_with_witness_bytes(as_bytes(label), witness);
        }
        TranscriptRng finalize(const ByteArray<32>& external_random) noexcept;

    private:
        Strobe128 strobe_;
    };
    RngBuilder build_rng() const noexcept { return RngBuilder(strobe_); }

private:
    Strobe128 strobe_;
};

class TranscriptRng {
public:
    explicit TranscriptRng(const Strobe128& strobe) noexcept : strobe_(strobe) {}
    /// fill_bytes: meta_ad(u32 LE length), then PRF.
    void fill_bytes(MutableByteSpan out) noexcept;

private:
    Strobe128 strobe_;
};

}  // namespace teesigner::core
