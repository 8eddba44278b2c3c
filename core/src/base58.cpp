#include "teesigner/core/base58.hpp"

namespace teesigner::core {

namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int digit_value(char c) noexcept {
    for (int i = 0; i < 58; ++i)
        if (kAlphabet[i] == c) return i;
    return -1;
}

}  // namespace

std::string base58_encode(ByteSpan data) {
    size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0) ++zeros;

    // Base-58 digits, least significant first. log(256)/log(58) < 1.37.
    std::vector<uint8_t> digits;
    digits.reserve((data.size() - zeros) * 138 / 100 + 1);
    for (size_t i = zeros; i < data.size(); ++i) {
        uint32_t carry = data[i];
        for (uint8_t& d : digits) {
            carry += static_cast<uint32_t>(d) << 8;
            d = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            digits.push_back(static_cast<uint8_t>(carry % 58));
            carry /= 58;
        }
    }

    std::string out(zeros, '1');
    out.reserve(zeros + digits.size());
    for (size_t i = digits.size(); i-- > 0;) out += kAlphabet[digits[i]];
    return out;
}

Result<Bytes> base58_decode(std::string_view text) {
    if (text.size() > kBase58MaxDecodeLength) return Error::invalid_encoding;
    size_t ones = 0;
    while (ones < text.size() && text[ones] == '1') ++ones;

    // Bytes of the value, least significant first. log(58)/log(256) < 0.733.
    Bytes value;
    value.reserve((text.size() - ones) * 733 / 1000 + 1);
    for (size_t i = ones; i < text.size(); ++i) {
        const int digit = digit_value(text[i]);
        if (digit < 0) return Error::invalid_encoding;
        uint32_t carry = static_cast<uint32_t>(digit);
        for (uint8_t& b : value) {
            carry += static_cast<uint32_t>(b) * 58;
            b = static_cast<uint8_t>(carry);
            carry >>= 8;
        }
        while (carry != 0) {
            value.push_back(static_cast<uint8_t>(carry));
            carry >>= 8;
        }
    }

    Bytes out(ones, 0);
    out.insert(out.end(), value.rbegin(), value.rend());
    return out;
}

}  // namespace teesigner::core
