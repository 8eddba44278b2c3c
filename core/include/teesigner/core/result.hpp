// Error values for the trusted core. The core is built without exceptions, so
// every fallible function returns an Error or a Result<T>.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace teesigner::core {

enum class Error : uint8_t {
    ok = 0,
    invalid_length,      // an input had the wrong number of bytes
    invalid_encoding,    // malformed hex, base58, SCALE, point or scalar encoding
    invalid_checksum,    // SS58 or mnemonic checksum mismatch
    invalid_mnemonic,    // unknown word or unsupported word count
    invalid_uri,         // secret URI does not parse
    invalid_signature,   // signature failed to verify or is malformed
    unsupported,         // operation not defined for this scheme (e.g. ed25519 soft derivation)
    crypto_failure,      // underlying library refused (e.g. zero scalar)
    out_of_memory,
    storage_failure,     // persistent state could not be read or written (fail closed)
};

/// Short, stable, human-readable description of an error.
const char* error_message(Error e) noexcept;

/// Either a value or an Error. Deliberately minimal (no exceptions, no RTTI).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)), error_(Error::ok) {}  // NOLINT(implicit)
    Result(Error e) : error_(e) {}                                    // NOLINT(implicit)

    bool ok() const noexcept { return error_ == Error::ok; }
    explicit operator bool() const noexcept { return ok(); }
    Error error() const noexcept { return error_; }

    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T& operator*() & { return *value_; }
    const T& operator*() const& { return *value_; }

private:
    std::optional<T> value_;
    Error error_;
};

}  // namespace teesigner::core

/// Propagate an Error from an expression returning Error or Result<T>.
#define TS_TRY(expr)                                                       \
    do {                                                                   \
        if (auto ts_try_error_ = ::teesigner::core::detail::to_error(expr); \
            ts_try_error_ != ::teesigner::core::Error::ok)                 \
            return ts_try_error_;                                          \
    } while (0)

namespace teesigner::core::detail {
inline Error to_error(Error e) noexcept { return e; }
template <class T>
Error to_error(const Result<T>& r) noexcept {
    return r.error();
}
}  // namespace teesigner::core::detail
