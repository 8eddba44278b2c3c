// SS58: any text decodes or fails with a documented error; a decoded address
// encodes back to the same text, unless sp-core's decoder accepted a
// non-canonical two-byte prefix for a value below 64 (then the re-encoding
// uses the one-byte form and decodes to the same key and prefix).
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/base58.hpp"
#include "teesigner/core/ss58.hpp"

using namespace teesigner::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto addr = ss58_decode(text);
    if (!addr) {
        Error e = addr.error();
        TS_FUZZ_CHECK(e == Error::invalid_encoding || e == Error::invalid_length ||
                      e == Error::invalid_checksum);
    } else {
        TS_FUZZ_CHECK(addr->key.size() == 32 || addr->key.size() == 33);
        TS_FUZZ_CHECK(addr->prefix <= kSs58MaxPrefix && !ss58_prefix_reserved(addr->prefix));
        auto again = ss58_encode(addr->key, addr->prefix);
        TS_FUZZ_CHECK(again.ok());
        if (*again != text) {
            auto raw = base58_decode(text);
            TS_FUZZ_CHECK(raw && (*raw)[0] >= 64 && addr->prefix < 64);
        }
        auto back = ss58_decode(*again);
        TS_FUZZ_CHECK(back && back->key == addr->key && back->prefix == addr->prefix);
        auto typed = ss58_decode(text, addr->key.size());
        TS_FUZZ_CHECK(typed.ok());
        auto wrong = ss58_decode(text, addr->key.size() == 32 ? 33 : 32);
        TS_FUZZ_CHECK(!wrong && wrong.error() == Error::invalid_length);
    }
    // Encoding side: any 32/33-byte key under any prefix round-trips.
    if (size >= 35) {
        uint16_t prefix = static_cast<uint16_t>((data[0] | (data[1] << 8)) & 0x3FFF);
        size_t key_size = (data[2] & 1) ? 33 : 32;
        if (size - 3 >= key_size) {
            ByteSpan key(data + 3, key_size);
            auto enc = ss58_encode(key, prefix);
            TS_FUZZ_CHECK(enc.ok());
            auto dec = ss58_decode(*enc);
            if (ss58_prefix_reserved(prefix)) {
                TS_FUZZ_CHECK(!dec && dec.error() == Error::invalid_encoding);
            } else {
                TS_FUZZ_CHECK(dec && dec->prefix == prefix &&
                              dec->key == Bytes(key.begin(), key.end()));
            }
        }
    }
    return 0;
}
