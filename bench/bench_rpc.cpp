// The JSON-RPC layer alone (docs/PERFORMANCE.md, time breakdown): the
// dispatcher with the real method handlers in front of a KeyService that
// answers at once with fixed bytes, so what is timed is parsing the request,
// validating and hex-decoding the params, building and serializing the reply,
// and the per-call metrics.
//
//   build/bench/bench_rpc
#include <benchmark/benchmark.h>

#include <string>

#include "jsonrpc.hpp"
#include "key_service.hpp"
#include "metrics.hpp"
#include "rpc_methods.hpp"
#include "teesigner/core/bytes.hpp"

namespace {

using namespace teesigner::signerd;
using teesigner::core::Bytes;

// Answers every call with fixed bytes of the right size.
class InstantKeyService final : public KeyService {
  public:
    Bytes rotate_session_keys() override { return Bytes(193, 1); }
    std::vector<std::pair<Bytes, KeyTypeId>> decode_session_keys(ByteSpan blob) override {
        return split_session_keys(blob);
    }
    bool has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>&) override { return true; }
    std::vector<Bytes> public_keys(const KeyTypeId&, Scheme) override { return {Bytes(32, 2)}; }
    Bytes generate_new(const KeyTypeId&, Scheme, const std::optional<std::string>&) override {
        return Bytes(32, 3);
    }
    Bytes sign(const KeyTypeId&, Scheme scheme, ByteSpan, ByteSpan) override {
        return Bytes(scheme == Scheme::ecdsa ? 65 : 64, 4);
    }
    VrfSignature sr25519_vrf_sign(const KeyTypeId&, ByteSpan, const VrfSignData&) override {
        return {};
    }
    Bytes ecdsa_sign_prehashed(const KeyTypeId&, ByteSpan, const ByteArray<32>&) override {
        return Bytes(65, 5);
    }
    Attestation attest(ByteSpan) override { return {}; }
    KeyServiceHealth health() override { return {}; }
    SignedPayload sign_typed(TypedPayload, const KeyTypeId&, ByteSpan, ByteSpan) override {
        return SignedPayload{Bytes(64, 6), {}};
    }
};

struct Fixture {
    InstantKeyService keys;
    Metrics metrics;
    RpcDispatcher dispatcher;
    ClientContext client{"local", "unix+ws", "unix"};
    Fixture() { register_rpc_methods(dispatcher, keys, metrics); }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

void run(benchmark::State& state, const std::string& body) {
    Fixture& f = fixture();
    for (auto _ : state) {
        auto out = f.dispatcher.handle(body, f.client);
        if (!out || out->find("\"result\"") == std::string::npos) {
            state.SkipWithError("no result");
            break;
        }
        benchmark::DoNotOptimize(out);
    }
}

const std::string kPublic = "0x" + std::string(64, 'a');

void BM_rpc_keystore_sign(benchmark::State& state) {
    run(state, R"({"jsonrpc":"2.0","id":7,"method":"keystore_sign","params":["audi","sr25519",")" +
                   kPublic + R"(","0x)" + std::string(192, '5') + R"("]})");
}
BENCHMARK(BM_rpc_keystore_sign);

void BM_rpc_signGrandpaVote(benchmark::State& state) {
    // A prevote: tag, target hash, target number, round, set id (hex of 53 bytes).
    run(state, R"({"jsonrpc":"2.0","id":7,"method":"signer_signGrandpaVote","params":["gran",")" +
                   kPublic + R"(","0x00)" + std::string(64, 'b') + std::string(40, '1') + R"("]})");
}
BENCHMARK(BM_rpc_signGrandpaVote);

}  // namespace

BENCHMARK_MAIN();
