// Base58 with the Bitcoin alphabet (what SS58 addresses use), no checksum.
#pragma once

#include <string>
#include <string_view>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"

namespace teesigner::core {

/// Base58-encode `data`; each leading zero byte becomes a leading '1'.
/// Quadratic in the input length: meant for keys and addresses, not bulk data.
std::string base58_encode(ByteSpan data);

/// Decode Base58 (Bitcoin alphabet). Any character outside the alphabet,
/// including whitespace, is Error::invalid_encoding. Inputs longer than
/// kBase58MaxDecodeLength characters are refused the same way, bounding the
/// quadratic work on untrusted input.
Result<Bytes> base58_decode(std::string_view text);

/// Longest input base58_decode accepts (far above any SS58 address).
inline constexpr size_t kBase58MaxDecodeLength = 1024;

}  // namespace teesigner::core
