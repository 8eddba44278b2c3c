// Hex helpers of the core's unit tests: lower case without 0x, as the
// reference vectors (polkadot-js, subkey, the RFCs) print bytes.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::core::test {

inline std::string hex(ByteSpan bytes) {
    return to_hex(bytes, false);
}

/// Bytes of a hex string the test itself wrote; a typo fails the test.
inline Bytes unhex(std::string_view text) {
    auto bytes = from_hex(text);
    EXPECT_TRUE(bytes.ok()) << text;
    return bytes.ok() ? *bytes : Bytes{};
}

/// A secret's bytes as text (a phrase, a URI's password), to compare.
inline std::string str(const SecretBytes& secret) {
    return std::string(reinterpret_cast<const char*>(secret.data()), secret.size());
}

}  // namespace teesigner::core::test
