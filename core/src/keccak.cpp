#include "teesigner/core/keccak.hpp"

#include <cstring>

namespace teesigner::core {
namespace {

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// Rotation by a compile-time amount; well defined for n == 0.
inline uint64_t rotl(uint64_t x, unsigned n) {
    return (x << n) | (x >> ((64 - n) & 63));
}

inline uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

inline void store_le64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

void keccak_f1600(uint8_t state[200]) noexcept {
    // Straight-line rounds over 25 named lanes, so every lane lives in a register
    // at any optimisation level; this permutation dominates Merlin and so sr25519
    // signing time. Generated from the rho offsets and the pi lane mapping
    // (x, y) -> (y, 2x + 3y mod 5); the unit tests pin it to reference vectors.
    uint64_t a00 = load_le64(state + 0), a01 = load_le64(state + 8), a02 = load_le64(state + 16),
             a03 = load_le64(state + 24), a04 = load_le64(state + 32), a05 = load_le64(state + 40),
             a06 = load_le64(state + 48), a07 = load_le64(state + 56), a08 = load_le64(state + 64),
             a09 = load_le64(state + 72), a10 = load_le64(state + 80), a11 = load_le64(state + 88),
             a12 = load_le64(state + 96), a13 = load_le64(state + 104),
             a14 = load_le64(state + 112), a15 = load_le64(state + 120),
             a16 = load_le64(state + 128), a17 = load_le64(state + 136),
             a18 = load_le64(state + 144), a19 = load_le64(state + 152),
             a20 = load_le64(state + 160), a21 = load_le64(state + 168),
             a22 = load_le64(state + 176), a23 = load_le64(state + 184),
             a24 = load_le64(state + 192);
    for (uint64_t rc : kRoundConstants) {
        // theta
        const uint64_t c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        const uint64_t c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        const uint64_t c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        const uint64_t c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        const uint64_t c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        const uint64_t d0 = c4 ^ rotl(c1, 1);
        const uint64_t d1 = c0 ^ rotl(c2, 1);
        const uint64_t d2 = c1 ^ rotl(c3, 1);
        const uint64_t d3 = c2 ^ rotl(c4, 1);
        const uint64_t d4 = c3 ^ rotl(c0, 1);
        // rho and pi
        const uint64_t b00 = rotl(a00 ^ d0, 0);
        const uint64_t b10 = rotl(a01 ^ d1, 1);
        const uint64_t b20 = rotl(a02 ^ d2, 62);
        const uint64_t b05 = rotl(a03 ^ d3, 28);
        const uint64_t b15 = rotl(a04 ^ d4, 27);
        const uint64_t b16 = rotl(a05 ^ d0, 36);
        const uint64_t b01 = rotl(a06 ^ d1, 44);
        const uint64_t b11 = rotl(a07 ^ d2, 6);
        const uint64_t b21 = rotl(a08 ^ d3, 55);
        const uint64_t b06 = rotl(a09 ^ d4, 20);
        const uint64_t b07 = rotl(a10 ^ d0, 3);
        const uint64_t b17 = rotl(a11 ^ d1, 10);
        const uint64_t b02 = rotl(a12 ^ d2, 43);
        const uint64_t b12 = rotl(a13 ^ d3, 25);
        const uint64_t b22 = rotl(a14 ^ d4, 39);
        const uint64_t b23 = rotl(a15 ^ d0, 41);
        const uint64_t b08 = rotl(a16 ^ d1, 45);
        const uint64_t b18 = rotl(a17 ^ d2, 15);
        const uint64_t b03 = rotl(a18 ^ d3, 21);
        const uint64_t b13 = rotl(a19 ^ d4, 8);
        const uint64_t b14 = rotl(a20 ^ d0, 18);
        const uint64_t b24 = rotl(a21 ^ d1, 2);
        const uint64_t b09 = rotl(a22 ^ d2, 61);
        const uint64_t b19 = rotl(a23 ^ d3, 56);
        const uint64_t b04 = rotl(a24 ^ d4, 14);
        // chi and iota
        a00 = b00 ^ (~b01 & b02);
        a01 = b01 ^ (~b02 & b03);
        a02 = b02 ^ (~b03 & b04);
        a03 = b03 ^ (~b04 & b00);
        a04 = b04 ^ (~b00 & b01);
        a05 = b05 ^ (~b06 & b07);
        a06 = b06 ^ (~b07 & b08);
        a07 = b07 ^ (~b08 & b09);
        a08 = b08 ^ (~b09 & b05);
        a09 = b09 ^ (~b05 & b06);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        a00 ^= rc;
    }
    store_le64(state + 0, a00);
    store_le64(state + 8, a01);
    store_le64(state + 16, a02);
    store_le64(state + 24, a03);
    store_le64(state + 32, a04);
    store_le64(state + 40, a05);
    store_le64(state + 48, a06);
    store_le64(state + 56, a07);
    store_le64(state + 64, a08);
    store_le64(state + 72, a09);
    store_le64(state + 80, a10);
    store_le64(state + 88, a11);
    store_le64(state + 96, a12);
    store_le64(state + 104, a13);
    store_le64(state + 112, a14);
    store_le64(state + 120, a15);
    store_le64(state + 128, a16);
    store_le64(state + 136, a17);
    store_le64(state + 144, a18);
    store_le64(state + 152, a19);
    store_le64(state + 160, a20);
    store_le64(state + 168, a21);
    store_le64(state + 176, a22);
    store_le64(state + 184, a23);
    store_le64(state + 192, a24);
}

Hash256 keccak_256(ByteSpan data) noexcept {
    constexpr size_t kRate = 136;
    uint8_t state[200] = {};
    size_t offset = 0;
    while (data.size() - offset >= kRate) {
        for (size_t i = 0; i < kRate; ++i) state[i] ^= data[offset + i];
        keccak_f1600(state);
        offset += kRate;
    }
    size_t tail = data.size() - offset;
    for (size_t i = 0; i < tail; ++i) state[i] ^= data[offset + i];
    state[tail] ^= 0x01;  // original Keccak padding, not SHA-3's 0x06
    state[kRate - 1] ^= 0x80;
    keccak_f1600(state);
    Hash256 out;
    std::memcpy(out.data(), state, out.size());
    return out;
}

}  // namespace teesigner::core
