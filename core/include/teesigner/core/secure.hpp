// Containers for secret material: wiped on destruction and on move-from.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace teesigner::core {

/// Overwrite memory with zeros in a way the optimiser cannot elide.
void secure_wipe(void* data, size_t size) noexcept;

/// A fixed-size secret buffer. Copy is allowed only explicitly via clone()
/// so secrets are not duplicated by accident.
template <size_t N>
class SecretArray {
public:
    SecretArray() noexcept : data_{} {}
    explicit SecretArray(std::span<const uint8_t, N> src) noexcept {
        for (size_t i = 0; i < N; ++i) data_[i] = src[i];
    }
    ~SecretArray() { secure_wipe(data_.data(), N); }
    SecretArray(const SecretArray&) = delete;
    SecretArray& operator=(const SecretArray&) = delete;
    SecretArray(SecretArray&& other) noexcept : data_(other.data_) {
        secure_wipe(other.data_.data(), N);
    }
    SecretArray& operator=(SecretArray&& other) noexcept {
        if (this != &other) {
            data_ = other.data_;
            secure_wipe(other.data_.data(), N);
        }
        return *this;
    }
    SecretArray clone() const noexcept { return SecretArray(std::span<const uint8_t, N>(data_)); }

    uint8_t* data() noexcept { return data_.data(); }
    const uint8_t* data() const noexcept { return data_.data(); }
    static constexpr size_t size() noexcept { return N; }
    std::span<uint8_t, N> span() noexcept { return std::span<uint8_t, N>(data_); }
    std::span<const uint8_t, N> span() const noexcept { return std::span<const uint8_t, N>(data_); }
    uint8_t& operator[](size_t i) noexcept { return data_[i]; }
    const uint8_t& operator[](size_t i) const noexcept { return data_[i]; }

private:
    std::array<uint8_t, N> data_;
};

/// A variable-size secret buffer (phrases, passwords, URIs), wiped on destruction.
class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::span<const uint8_t> src) : data_(src.begin(), src.end()) {}
    ~SecretBytes() { wipe(); }
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }
    SecretBytes& operator=(SecretBytes&& other) noexcept {
        if (this != &other) {
            wipe();
            data_ = std::move(other.data_);
            other.data_.clear();
        }
        return *this;
    }

    /// Append bytes. Reserves first so no reallocation leaves an unwiped copy behind
    /// when the caller reserved enough; otherwise the old buffer is wiped.
    void append(std::span<const uint8_t> src);
    void reserve(size_t n);
    void resize(size_t n);

    uint8_t* data() noexcept { return data_.data(); }
    const uint8_t* data() const noexcept { return data_.data(); }
    size_t size() const noexcept { return data_.size(); }
    bool empty() const noexcept { return data_.empty(); }
    std::span<const uint8_t> span() const noexcept { return data_; }
    std::span<uint8_t> span() noexcept { return data_; }

private:
    void wipe() noexcept {
        if (!data_.empty()) secure_wipe(data_.data(), data_.size());
        data_.clear();
    }
    std::vector<uint8_t> data_;
};

}  // namespace teesigner::core
