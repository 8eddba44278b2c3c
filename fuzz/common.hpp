// Shared helpers for the libFuzzer targets: a bounds-checked input reader and a
// deterministic random source, so that a crashing input replays identically.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "teesigner/core/random.hpp"

namespace teesigner::fuzz {

/// Abort with a message: libFuzzer reports the abort and saves the input.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}
#define TS_FUZZ_CHECK(cond)                                                                      \
    do {                                                                                         \
        if (!(cond)) ::teesigner::fuzz::fail(#cond " (" __FILE__ ":" TS_FUZZ_STR(__LINE__) ")"); \
    } while (0)
#define TS_FUZZ_STR2(x) #x
#define TS_FUZZ_STR(x) TS_FUZZ_STR2(x)

/// Reads the fuzz input front to back; past the end it yields zeros / empty spans.
class Input {
  public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    size_t remaining() const { return size_ - pos_; }
    uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
    /// Exactly n bytes, zero-padded when the input runs out.
    template <size_t N>
    std::array<uint8_t, N> array() {
        std::array<uint8_t, N> out{};
        for (auto& b : out) b = u8();
        return out;
    }
    /// Up to n bytes (fewer at the end of the input).
    std::span<const uint8_t> take(size_t n) {
        if (n > remaining()) n = remaining();
        std::span<const uint8_t> out(data_ + pos_, n);
        pos_ += n;
        return out;
    }
    std::span<const uint8_t> rest() { return take(remaining()); }
    /// A length-prefixed (u8) chunk.
    std::span<const uint8_t> chunk() { return take(u8()); }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

inline std::string_view as_text(std::span<const uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// Deterministic "randomness" for the core (signing nonces, VRF witnesses):
/// a ChaCha20 stream under a fixed key, restarted by reset_random() at the
/// start of every input.
inline uint64_t& random_counter() {
    static uint64_t counter = 0;
    return counter;
}
inline void deterministic_random(uint8_t* out, size_t len) {
    static const uint8_t kKey[crypto_stream_chacha20_KEYBYTES] = {'t', 's', '-', 'f',
                                                                  'u', 'z', 'z'};
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
    uint64_t c = random_counter()++;
    std::memcpy(nonce, &c, sizeof c);
    crypto_stream_chacha20(out, len, nonce, kKey);
}
inline void reset_random() {
    random_counter() = 0;
}

/// Call once (LLVMFuzzerInitialize or first input): libsodium and the core's
/// random source.
inline void init_core() {
    static bool done = [] {
        if (sodium_init() < 0) fail("sodium_init");
        core::set_random_source(deterministic_random);
        return true;
    }();
    (void)done;
}

}  // namespace teesigner::fuzz
