// The operator-side verifier of signer_attest's answer (client/src/attestation.cpp,
// `tee-signer verify-attestation`), fed with arbitrary JSON as a hostile or
// broken signer could send it: it must never crash or throw, and its verdict
// must agree with its own lines (ok exactly when no check FAILed). The seeds
// are real answers (soft TEE and OP-TEE's attestation PTA in QEMU) for the
// nonce below, so mutations reach the RSA-PSS and ed25519 checks.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "teesigner/client/attestation.hpp"

namespace attestation = teesigner::client::attestation;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const json result = json::parse(data + 1, data + size, nullptr, false);
    if (result.is_discarded()) return 0;
    attestation::Expectations expect;
    expect.nonce = {0xdf, 0xcc, 0x06, 0x11, 0x8b, 0x88, 0x45, 0xf3,
                    0xca, 0xcf, 0xeb, 0x23, 0x9d, 0xc3, 0x24, 0x6a};
    expect.allow_self_attested = (data[0] & 1) != 0;
    if ((data[0] & 2) != 0) expect.ta_memory_digest = attestation::Digest{};
    const attestation::Report report = attestation::verify(result, expect);
    bool failed = false;
    for (const std::string& line : report.lines) failed = failed || line.rfind("FAIL", 0) == 0;
    TS_FUZZ_CHECK(report.ok == !failed);
    TS_FUZZ_CHECK(!report.lines.empty());
    return 0;
}
