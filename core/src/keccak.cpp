#include "teesigner/core/keccak.hpp"

#include <cstring>

#include "teesigner/core/secure.hpp"

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

// Rotation offsets and lane permutation of the combined rho+pi step, in the
// order the lanes are visited starting from lane 1.
constexpr unsigned kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                               27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr unsigned kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                              15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

inline uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

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
    uint64_t a[25];
    for (int i = 0; i < 25; ++i) a[i] = load_le64(state + 8 * i);

    for (uint64_t rc : kRoundConstants) {
        uint64_t c[5];
        for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; ++x) {
            uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
        }
        uint64_t current = a[1];
        for (int i = 0; i < 24; ++i) {
            unsigned j = kPi[i];
            uint64_t next = a[j];
            a[j] = rotl(current, kRho[i]);
            current = next;
        }
        for (int y = 0; y < 25; y += 5) {
            uint64_t row[5];
            for (int x = 0; x < 5; ++x) row[x] = a[y + x];
            for (int x = 0; x < 5; ++x) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
        }
        a[0] ^= rc;
    }

    for (int i = 0; i < 25; ++i) store_le64(state + 8 * i, a[i]);
    secure_wipe(a, sizeof a);
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
