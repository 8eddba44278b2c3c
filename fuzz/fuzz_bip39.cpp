// BIP-39 mnemonic parsing: any bytes parse or fail with invalid_mnemonic /
// invalid_checksum. A phrase that parses is the canonical phrase of its
// entropy up to whitespace, and entropy -> phrase -> entropy round-trips.
#include <cstdint>
#include <string>

#include "common.hpp"
#include "teesigner/core/bip39.hpp"

using namespace teesigner::core;

namespace {

std::string letters_only(ByteSpan s) {
    std::string out;
    for (uint8_t c : s)
        if (c >= 'a' && c <= 'z') out.push_back(static_cast<char>(c));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    ByteSpan phrase(data, size);
    auto entropy = bip39::mnemonic_to_entropy(phrase);
    if (!entropy) {
        TS_FUZZ_CHECK(entropy.error() == Error::invalid_mnemonic ||
                      entropy.error() == Error::invalid_checksum);
    } else {
        size_t n = entropy->size();
        TS_FUZZ_CHECK(n >= 16 && n <= 32 && n % 4 == 0);
        auto canonical = bip39::entropy_to_mnemonic(entropy->span());
        TS_FUZZ_CHECK(canonical.ok());
        ByteSpan canon = canonical->span();
        // Same words in the same order; only the whitespace may differ.
        TS_FUZZ_CHECK(letters_only(canon) == letters_only(phrase));
        size_t spaces = 0;
        for (uint8_t c : canon) spaces += c == ' ';
        TS_FUZZ_CHECK(spaces + 1 == n * 3 / 4);
        auto again = bip39::mnemonic_to_entropy(canon);
        TS_FUZZ_CHECK(
            again && again->span().size() == n &&
            std::equal(again->span().begin(), again->span().end(), entropy->span().begin()));
    }
    // Entropy side: the first byte picks a length, the next bytes are entropy.
    if (size >= 1) {
        size_t n = 16 + 4 * (data[0] % 5);
        if (size - 1 >= n) {
            ByteSpan ent(data + 1, n);
            auto words = bip39::entropy_to_mnemonic(ent);
            TS_FUZZ_CHECK(words.ok());
            auto back = bip39::mnemonic_to_entropy(words->span());
            TS_FUZZ_CHECK(back && std::equal(back->span().begin(), back->span().end(), ent.begin(),
                                             ent.end()));
        } else {
            TS_FUZZ_CHECK(
                !bip39::entropy_to_mnemonic(ByteSpan(data + 1, size - 1 < 15 ? size - 1 : 15)));
        }
    }
    return 0;
}
