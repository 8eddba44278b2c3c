// Base58: decoding never crashes; what decodes re-encodes to the same text
// (Base58 without a checksum is a bijection), and any bytes round-trip.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/base58.hpp"

using namespace teesigner::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto decoded = base58_decode(text);
    if (decoded) TS_FUZZ_CHECK(base58_encode(*decoded) == text);
    if (!decoded) TS_FUZZ_CHECK(decoded.error() == Error::invalid_encoding);
    if (size <= 256) {
        ByteSpan bytes(data, size);
        std::string enc = base58_encode(bytes);
        auto back = base58_decode(enc);
        TS_FUZZ_CHECK(back && *back == Bytes(bytes.begin(), bytes.end()));
    }
    return 0;
}
