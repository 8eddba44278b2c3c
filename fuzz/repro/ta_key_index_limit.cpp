// Reproducer (not a fuzz target): how many GENERATE_KEY calls until the signer
// TA stops working. Each key adds an entry to the sealed key index, and
// load_index() refuses an index above kMaxIndex (512 KiB, ta/src/keystore.cpp)
// as TEE_ERROR_CORRUPT_OBJECT. Measured at commit 4e237a7: key 13 789 fails,
// and from then on GENERATE_KEY, LIST_PUBLIC_KEYS and ATTEST fail for good.
// Fixed by the per-key-type and total key bounds (signer_ta.h): re-run on
// 2026-11-29, GENERATE_KEY #1024 (the 1025th) is refused with
// TA_SIGNER_ERROR_KEY_LIMIT (0x80005303) and LIST_PUBLIC_KEYS / ATTEST still succeed.
// Runs in-process on the fuzz harness (about 9 minutes under ASan):
//
//   cmake --preset fuzz && cmake --build --preset fuzz
//   B=build-fuzz
//   clang++ -std=c++20 -O1 -fsanitize=fuzzer,address,undefined -Ifuzz -Ita/include \
//       -Itee/softtee/include -Ita/src -Itee/softtee -Icore/include \
//       fuzz/repro/ta_key_index_limit.cpp fuzz/ta_runtime.cpp \
//       $B/fuzz/libts_fuzz_ta.a $B/fuzz/libts_fuzz_storage.a $B/core/libts_core.a \
//       -lsodium -lsecp256k1 -o /tmp/ta_key_index_limit
//   /tmp/ta_key_index_limit -runs=1
//
// Exits 0 when 20 000 keys could be generated, or when GENERATE_KEY refuses
// with a clear "too many keys" style error while the TA keeps working;
// aborts if the TA stops answering LIST_PUBLIC_KEYS / ATTEST.
#include <cstdio>
#include <cstdlib>

#include "signer_ta.h"
#include "ta_harness.hpp"
#include "teesigner/core/scale.hpp"

using namespace teesigner;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) {
    fuzz::ta::setup();
    core::scale::Encoder gen;
    gen.raw(std::array<uint8_t, 4>{'a', 'u', 'd', 'i'}).u8(0);
    for (int i = 1; i <= 20000; ++i) {
        auto o = fuzz::ta::invoke(TA_SIGNER_CMD_GENERATE_KEY, gen.bytes(), 32);
        if (o.rc != TEE_SUCCESS) {
            std::fprintf(stderr, "GENERATE_KEY #%d refused: 0x%08x\n", i, o.rc);
            auto list = fuzz::ta::invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, gen.bytes(), 1 << 20);
            core::scale::Encoder nonce;
            nonce.bytes(core::Bytes{1});
            auto attest = fuzz::ta::invoke(TA_SIGNER_CMD_ATTEST, nonce.bytes(), 1 << 20);
            std::fprintf(stderr, "then LIST_PUBLIC_KEYS 0x%08x, ATTEST 0x%08x\n", list.rc,
                         attest.rc);
            if (list.rc != TEE_SUCCESS || attest.rc != TEE_SUCCESS) std::abort();
            break;
        }
        if (i % 1000 == 0) std::fprintf(stderr, "%d keys\n", i);
    }
    std::_Exit(0);
}
