// Benchmarks for the crypto core. The reference point is libsodium's
// crypto_scalarmult_ristretto255_base: one fixed-base scalar multiplication is the
// unavoidable cost of a Schnorr signature (R = r*B), so sr25519 signing is judged
// by its ratio to that figure measured in the same run (target <= 1.3x, issue 2).
//
// Messages: every signing and hashing benchmark uses the same 64-byte message
// (bytes 0..63), the same inputs bench/node/bench.mjs uses for the JavaScript
// implementations.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/sr25519.hpp"

namespace {

namespace core = teesigner::core;
namespace sr = teesigner::core::sr25519;

core::ByteArray<64> message() {
    core::ByteArray<64> m{};
    for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(i);
    return m;
}

// Fixed, arbitrary 32-byte seed (0x01..0x20); the figures do not depend on it.
core::ByteArray<32> seed() {
    core::ByteArray<32> s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i + 1);
    return s;
}

template <class T>
T must(core::Result<T> r, const char* what) {
    if (!r) {
        std::fprintf(stderr, "bench setup failed: %s: %s\n", what, core::error_message(r.error()));
        std::exit(2);
    }
    return std::move(r).value();
}

sr::KeyPair sr_keypair() {
    auto s = seed();
    return must(sr::keypair_from_mini_secret(s), "sr25519 keypair");
}

constexpr std::string_view kVrfContext = "substrate-bench-vrf";

// With --benchmark_repetitions, also report the fastest repetition: on a shared or
// loaded machine the minimum is the steadiest estimate of the uncontended cost.
double min_of(const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}
#define TS_BENCHMARK(fn) BENCHMARK(fn)->ComputeStatistics("min", min_of)

// --- baseline --------------------------------------------------------------

void BM_ristretto255_scalarmult_base(benchmark::State& state) {
    unsigned char scalar[crypto_core_ristretto255_SCALARBYTES];
    crypto_core_ristretto255_scalar_random(scalar);
    unsigned char point[crypto_core_ristretto255_BYTES];
    for (auto _ : state) {
        if (crypto_scalarmult_ristretto255_base(point, scalar) != 0) state.SkipWithError("fail");
        benchmark::DoNotOptimize(point);
        benchmark::ClobberMemory();
    }
}
TS_BENCHMARK(BM_ristretto255_scalarmult_base);

void BM_ristretto255_scalarmult(benchmark::State& state) {
    unsigned char scalar[crypto_core_ristretto255_SCALARBYTES];
    unsigned char base[crypto_core_ristretto255_BYTES];
    crypto_core_ristretto255_random(base);
    crypto_core_ristretto255_scalar_random(scalar);
    unsigned char point[crypto_core_ristretto255_BYTES];
    for (auto _ : state) {
        if (crypto_scalarmult_ristretto255(point, scalar, base) != 0) state.SkipWithError("fail");
        benchmark::DoNotOptimize(point);
        benchmark::ClobberMemory();
    }
}
TS_BENCHMARK(BM_ristretto255_scalarmult);

// --- sr25519 ---------------------------------------------------------------

void BM_merlin_signing_context(benchmark::State& state) {
    auto m = message();
    for (auto _ : state) {
        core::Transcript t = sr::signing_transcript(core::as_bytes(sr::kSubstrateContext), m);
        benchmark::DoNotOptimize(t);
    }
}
TS_BENCHMARK(BM_merlin_signing_context);

void BM_sr25519_sign(benchmark::State& state) {
    sr::KeyPair kp = sr_keypair();
    auto m = message();
    for (auto _ : state) {
        sr::Signature sig = sr::sign_simple(kp, core::as_bytes(sr::kSubstrateContext), m);
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_sr25519_sign);

// The same signature with caller-given randomness: the difference to BM_sr25519_sign
// is the cost of the installed random source (here libsodium's randombytes_buf).
void BM_sr25519_sign_given_randomness(benchmark::State& state) {
    sr::KeyPair kp = sr_keypair();
    auto m = message();
    sr::Randomness rnd{};
    for (auto _ : state) {
        sr::Signature sig = sr::sign_with_randomness(
            kp, sr::signing_transcript(core::as_bytes(sr::kSubstrateContext), m), rnd);
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_sr25519_sign_given_randomness);

// 32 bytes from the installed random source (one per sr25519 signature or VRF proof).
void BM_random_source_32B(benchmark::State& state) {
    core::ByteArray<32> out{};
    for (auto _ : state) {
        core::random_bytes(out.data(), out.size());
        benchmark::DoNotOptimize(out);
    }
}
TS_BENCHMARK(BM_random_source_32B);

// Through the scheme-generic KeyPair (what the CLI and the TA call).
void BM_sr25519_sign_keypair_api(benchmark::State& state) {
    auto s = seed();
    core::KeyPair kp = must(core::KeyPair::from_seed(core::Scheme::sr25519, s), "KeyPair");
    auto m = message();
    for (auto _ : state) {
        auto sig = kp.sign(m);
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_sr25519_sign_keypair_api);

void BM_sr25519_verify(benchmark::State& state) {
    sr::KeyPair kp = sr_keypair();
    auto m = message();
    sr::Signature sig = sr::sign_simple(kp, core::as_bytes(sr::kSubstrateContext), m);
    for (auto _ : state) {
        core::Error e =
            sr::verify_simple(core::SignatureBytes(sig), core::as_bytes(sr::kSubstrateContext), m,
                              core::PublicKeyBytes(kp.public_key));
        if (e != core::Error::ok) state.SkipWithError("verify failed");
        benchmark::DoNotOptimize(e);
    }
}
TS_BENCHMARK(BM_sr25519_verify);

void BM_sr25519_vrf_sign(benchmark::State& state) {
    sr::KeyPair kp = sr_keypair();
    auto m = message();
    for (auto _ : state) {
        sr::VrfSignature sig =
            sr::vrf_sign(kp, sr::signing_transcript(core::as_bytes(kVrfContext), m),
                         sr::vrf_extra_from_bytes({}));
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_sr25519_vrf_sign);

void BM_sr25519_vrf_verify(benchmark::State& state) {
    sr::KeyPair kp = sr_keypair();
    auto m = message();
    sr::VrfSignature sig = sr::vrf_sign(kp, sr::signing_transcript(core::as_bytes(kVrfContext), m),
                                        sr::vrf_extra_from_bytes({}));
    for (auto _ : state) {
        auto io =
            sr::vrf_verify(kp.public_key, sr::signing_transcript(core::as_bytes(kVrfContext), m),
                           sig.pre_output, sig.proof, sr::vrf_extra_from_bytes({}));
        if (!io) state.SkipWithError("vrf verify failed");
        benchmark::DoNotOptimize(io);
    }
}
TS_BENCHMARK(BM_sr25519_vrf_verify);

// --- ed25519 / ecdsa ---------------------------------------------------------

void BM_ed25519_sign(benchmark::State& state) {
    auto s = seed();
    auto kp = must(core::ed25519::keypair_from_seed(s), "ed25519 keypair");
    auto m = message();
    for (auto _ : state) {
        auto sig = core::ed25519::sign(kp, m);
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_ed25519_sign);

void BM_ed25519_verify(benchmark::State& state) {
    auto s = seed();
    auto kp = must(core::ed25519::keypair_from_seed(s), "ed25519 keypair");
    auto m = message();
    auto sig = core::ed25519::sign(kp, m);
    for (auto _ : state) {
        core::Error e = core::ed25519::verify(core::SignatureBytes(sig), m,
                                              core::PublicKeyBytes(kp.public_key));
        if (e != core::Error::ok) state.SkipWithError("verify failed");
        benchmark::DoNotOptimize(e);
    }
}
TS_BENCHMARK(BM_ed25519_verify);

void BM_ecdsa_sign(benchmark::State& state) {
    auto s = seed();
    auto kp = must(core::ecdsa::keypair_from_secret(s), "ecdsa keypair");
    auto m = message();
    for (auto _ : state) {
        auto sig = core::ecdsa::sign(kp, m);
        if (!sig) state.SkipWithError("sign failed");
        benchmark::DoNotOptimize(sig);
    }
}
TS_BENCHMARK(BM_ecdsa_sign);

void BM_ecdsa_verify(benchmark::State& state) {
    auto s = seed();
    auto kp = must(core::ecdsa::keypair_from_secret(s), "ecdsa keypair");
    auto m = message();
    auto sig = must(core::ecdsa::sign(kp, m), "ecdsa sign");
    for (auto _ : state) {
        core::Error e =
            core::ecdsa::verify(core::SignatureBytes(sig), m, core::PublicKeyBytes(kp.public_key));
        if (e != core::Error::ok) state.SkipWithError("verify failed");
        benchmark::DoNotOptimize(e);
    }
}
TS_BENCHMARK(BM_ecdsa_verify);

// --- hashes ------------------------------------------------------------------

void BM_blake2b_256_64B(benchmark::State& state) {
    auto m = message();
    for (auto _ : state) {
        auto h = core::blake2b_256(m);
        benchmark::DoNotOptimize(h);
    }
}
TS_BENCHMARK(BM_blake2b_256_64B);

void BM_keccak_256_64B(benchmark::State& state) {
    auto m = message();
    for (auto _ : state) {
        auto h = core::keccak_256(m);
        benchmark::DoNotOptimize(h);
    }
}
TS_BENCHMARK(BM_keccak_256_64B);

void libsodium_random(uint8_t* out, size_t len) {
    randombytes_buf(out, len);
}

}  // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 2;
    core::set_random_source(libsodium_random);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
