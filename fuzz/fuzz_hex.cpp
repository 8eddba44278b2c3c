// Hex decoding: never crashes; whatever decodes re-encodes to the same digits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "teesigner/core/bytes.hpp"

using namespace teesigner::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto decoded = from_hex(text);
    if (decoded) {
        auto again = from_hex(to_hex(*decoded));
        if (!again || *again != *decoded) abort();
    }
    return 0;
}
