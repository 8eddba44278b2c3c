// STROBE-128/1600 (v1.0.2), only the operations Merlin uses: meta-AD, AD, PRF
// and KEY. The state is wiped on destruction because it absorbs secrets
// (witness bytes) when used as a transcript RNG.
#pragma once

#include <cstddef>
#include <cstdint>

#include "teesigner/core/bytes.hpp"

namespace teesigner::core {

class Strobe128 {
public:
    explicit Strobe128(ByteSpan protocol_label) noexcept;
    ~Strobe128();
    Strobe128(const Strobe128&) noexcept = default;
    Strobe128& operator=(const Strobe128&) noexcept = default;

    void meta_ad(ByteSpan data, bool more) noexcept;
    void ad(ByteSpan data, bool more) noexcept;
    void prf(MutableByteSpan out, bool more) noexcept;
    void key(ByteSpan data, bool more) noexcept;

private:
    static constexpr size_t kRate = 166;  // 200 - 128/4 - 2
    void run_f() noexcept;
    void absorb(ByteSpan data) noexcept;
    void overwrite(ByteSpan data) noexcept;
    void squeeze(MutableByteSpan out) noexcept;
    void begin_op(uint8_t flags, bool more) noexcept;

    uint8_t state_[200];
    uint8_t pos_ = 0;
    uint8_t pos_begin_ = 0;
    uint8_t cur_flags_ = 0;
};

}  // namespace teesigner::core
