// In-process harness for the signer TA: the TA's GP entry points run directly in
// the fuzzer process on the soft TEE's real sealed storage (tee/softtee/storage.cpp)
// in a scratch directory, with a deterministic GP runtime (ta_runtime.cpp):
// fixed device key, seeded TEE_GenerateRandom and libsodium randombytes, and a
// storage snapshot restored before every input. TEE_Panic aborts (a finding:
// no client input may panic the TA).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage_snapshot.hpp"
#include "tee_internal_api.h"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/keys.hpp"

namespace teesigner::fuzz::ta {

struct StoredKey {
    std::array<uint8_t, 4> key_type{};
    core::Scheme scheme = core::Scheme::sr25519;
    core::Bytes public_key;
};

/// Once per process: storage, TA_CreateEntryPoint and the standard key set
/// (//Alice imported as gran/ed25519, babe/sr25519 and beef/ecdsa, one
/// generated SessionKeys set, the attestation key), then the snapshot.
void setup();

/// Before every input: storage back to the snapshot, random streams restarted.
void reset();

/// The stored keys (in the order they were created).
const std::vector<StoredKey>& keys();

/// Every 32-byte secret the TA holds (seeds of all keys, attestation seed):
/// no response may contain one.
const std::vector<std::array<uint8_t, 32>>& secrets();

/// Turn the no-secret-in-output check off (for inputs that themselves plant
/// arbitrary bytes in storage, which the TA may legitimately echo) or on. On
/// after every reset().
void check_secrets(bool on);

/// The storage directory and its files after each setup step (the last one is
/// the snapshot every input starts from).
const std::string& dir();
const std::vector<FileMap>& history();
/// The journal before each checkpointed snapshot (authentic records).
const std::vector<std::vector<uint8_t>>& journals();

/// Where TA_InvokeCommandEntryPoint's output landed.
struct Outcome {
    TEE_Result rc = 0;
    core::Bytes out;  // params[1] bytes up to the reported size, on success
    size_t reported_size = 0;
};

/// Call TA_InvokeCommandEntryPoint with the request in params[0] (an exact-size
/// heap copy, so over-reads trip ASan) and an `out_cap`-byte output buffer in
/// params[1]. `param_types` other than the canonical ones are passed as given
/// (memref params get buffers, value params get `value_seed`). Checks the GP
/// output contract and that no secret appears in the output; aborts otherwise.
Outcome invoke(uint32_t command, core::ByteSpan request, size_t out_cap,
               uint32_t param_types = TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT,
                                                      TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                                      TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE),
               uint32_t value_seed = 0);

/// When $TS_FUZZ_WRITE_SEEDS names a directory, write `data` there as file
/// `name` (how the binary seeds of the TA targets are regenerated).
void write_seed(const std::string& name, core::ByteSpan data);

}  // namespace teesigner::fuzz::ta
