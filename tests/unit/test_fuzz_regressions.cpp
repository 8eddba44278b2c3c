// Replays the fuzz targets' inputs in the ordinary test suite (and so under
// scripts/test-asan.sh too): the seed corpora fuzz/corpus/<target>/ and the
// saved crash reproducers fuzz/regressions/<target>/, through the very checks
// the libFuzzer targets make (their sources are compiled in here, each behind
// its own namespace). A broken invariant aborts the test binary, which fails.
//
// Only the targets that need nothing but the core are replayed here; the TA,
// storage and frame targets need the soft TEE's internals and run under
// fuzz/run.sh (and scripts/fuzz-smoke.sh in CI).
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../fuzz/common.hpp"
#include "teesigner/core/base58.hpp"
#include "teesigner/core/bip39.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/ecdsa.hpp"
#include "teesigner/core/ed25519.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"
#include "teesigner/core/sr25519.hpp"
#include "teesigner/core/ss58.hpp"
#include "teesigner/core/suri.hpp"

// Each target's entry point, renamed (it has C linkage, so each needs a name of
// its own), and the rest of its file in a namespace of its own.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

namespace fuzz_hex {
#define LLVMFuzzerTestOneInput fuzz_hex_entry
#include "../../fuzz/fuzz_hex.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_hex
namespace fuzz_scale {
#define LLVMFuzzerTestOneInput fuzz_scale_entry
#include "../../fuzz/fuzz_scale.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_scale
namespace fuzz_base58 {
#define LLVMFuzzerTestOneInput fuzz_base58_entry
#include "../../fuzz/fuzz_base58.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_base58
namespace fuzz_ss58 {
#define LLVMFuzzerTestOneInput fuzz_ss58_entry
#include "../../fuzz/fuzz_ss58.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_ss58
namespace fuzz_bip39 {
#define LLVMFuzzerTestOneInput fuzz_bip39_entry
#include "../../fuzz/fuzz_bip39.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_bip39
namespace fuzz_suri {
#define LLVMFuzzerTestOneInput fuzz_suri_entry
#include "../../fuzz/fuzz_suri.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_suri
namespace fuzz_sr25519_verify {
#define LLVMFuzzerTestOneInput fuzz_sr25519_verify_entry
#include "../../fuzz/fuzz_sr25519_verify.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_sr25519_verify
namespace fuzz_vrf_verify {
#define LLVMFuzzerTestOneInput fuzz_vrf_verify_entry
#include "../../fuzz/fuzz_vrf_verify.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_vrf_verify
namespace fuzz_ecdsa_verify {
#define LLVMFuzzerTestOneInput fuzz_ecdsa_verify_entry
#include "../../fuzz/fuzz_ecdsa_verify.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_ecdsa_verify
namespace fuzz_ed25519_verify {
#define LLVMFuzzerTestOneInput fuzz_ed25519_verify_entry
#include "../../fuzz/fuzz_ed25519_verify.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_ed25519_verify
namespace fuzz_grandpa_vote {
#define LLVMFuzzerTestOneInput fuzz_grandpa_vote_entry
#include "../../fuzz/fuzz_grandpa_vote.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_grandpa_vote
namespace fuzz_babe_header {
#define LLVMFuzzerTestOneInput fuzz_babe_header_entry
#include "../../fuzz/fuzz_babe_header.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_babe_header
namespace fuzz_beefy_commitment {
#define LLVMFuzzerTestOneInput fuzz_beefy_commitment_entry
#include "../../fuzz/fuzz_beefy_commitment.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_beefy_commitment
namespace fuzz_para_statement {
#define LLVMFuzzerTestOneInput fuzz_para_statement_entry
#include "../../fuzz/fuzz_para_statement.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_para_statement
namespace fuzz_protection {
#define LLVMFuzzerTestOneInput fuzz_protection_entry
#include "../../fuzz/fuzz_protection.cpp"
#undef LLVMFuzzerTestOneInput
}  // namespace fuzz_protection

#pragma GCC diagnostic pop

namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const uint8_t*, size_t);

const fs::path kFuzzDir = fs::path(__FILE__).parent_path().parent_path().parent_path() / "fuzz";

// Every file of fuzz/corpus/<name>/ and fuzz/regressions/<name>/.
std::vector<fs::path> inputs_of(const std::string& name) {
    std::vector<fs::path> files;
    for (const char* kind : {"corpus", "regressions"}) {
        fs::path dir = kFuzzDir / kind / name;
        if (!fs::is_directory(dir)) continue;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<uint8_t> slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Target {
    const char* name;
    Entry entry;
};

const Target kTargets[] = {
    {"hex", fuzz_hex::fuzz_hex_entry},
    {"scale", fuzz_scale::fuzz_scale_entry},
    {"base58", fuzz_base58::fuzz_base58_entry},
    {"ss58", fuzz_ss58::fuzz_ss58_entry},
    {"bip39", fuzz_bip39::fuzz_bip39_entry},
    {"suri", fuzz_suri::fuzz_suri_entry},
    {"sr25519_verify", fuzz_sr25519_verify::fuzz_sr25519_verify_entry},
    {"vrf_verify", fuzz_vrf_verify::fuzz_vrf_verify_entry},
    {"ecdsa_verify", fuzz_ecdsa_verify::fuzz_ecdsa_verify_entry},
    {"ed25519_verify", fuzz_ed25519_verify::fuzz_ed25519_verify_entry},
    {"grandpa_vote", fuzz_grandpa_vote::fuzz_grandpa_vote_entry},
    {"babe_header", fuzz_babe_header::fuzz_babe_header_entry},
    {"beefy_commitment", fuzz_beefy_commitment::fuzz_beefy_commitment_entry},
    {"para_statement", fuzz_para_statement::fuzz_para_statement_entry},
    {"protection", fuzz_protection::fuzz_protection_entry},
};

void PrintTo(const Target& t, std::ostream* os) {
    *os << t.name;
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, SeedsAndRegressionsKeepTheirInvariants) {
    const Target& t = GetParam();
    auto files = inputs_of(t.name);
    ASSERT_FALSE(files.empty()) << "no inputs for fuzz target " << t.name << " under " << kFuzzDir;
    for (const auto& f : files) {
        SCOPED_TRACE(f.string());
        std::vector<uint8_t> data = slurp(f);
        EXPECT_EQ(t.entry(data.data(), data.size()), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(kTargets),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
