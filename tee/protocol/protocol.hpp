// Wire format between the soft TEE host library and the TA process.
//
// Every message is a frame: u32 little-endian body length, then the body.
// Hello (TA process -> host, once, after start-up): u32 status | u32 n | n bytes
//   of diagnostic text (status TEE_SUCCESS means ready for requests).
// Request body:  u8 op | u32 session | u32 command | u32 param_types
//                | 16-byte TA UUID (open_session only) | 4 params
//   value param:  u32 a | u32 b
//   memref param: u32 size | size bytes (input/inout only; output sends no bytes)
// Response body: u32 result | u32 origin | u32 session | 4 params
//   value param:  u32 a | u32 b (output/inout only)
//   memref param: u32 size | bytes (output/inout only, present iff size <= the
//                 request's size; a larger size reports TEE_ERROR_SHORT_BUFFER's
//                 required length)
// Both sides enforce kMaxMemref per memory reference and kMaxFrame per frame,
// and treat anything malformed as a broken channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace teesigner::softtee {

enum class Op : uint8_t { open_session = 1, invoke = 2, close_session = 3 };

inline constexpr uint32_t kMaxMemref = 1024u * 1024u;
inline constexpr uint32_t kMaxFrame = 4u * kMaxMemref + 256u;
inline constexpr int kChildSocketFd = 3;

// GP parameter type nibbles shared by both APIs (TEE_PARAM_TYPE_* == TEEC_*).
inline constexpr uint32_t kNone = 0, kValueIn = 1, kValueOut = 2, kValueInout = 3, kMemrefIn = 5,
                          kMemrefOut = 6, kMemrefInout = 7;

inline uint32_t param_type(uint32_t types, int i) {
    return (types >> (4 * i)) & 0xF;
}
inline bool is_value(uint32_t t) {
    return t >= kValueIn && t <= kValueInout;
}
inline bool is_memref(uint32_t t) {
    return t >= kMemrefIn && t <= kMemrefInout;
}
inline bool has_input(uint32_t t) {
    return t == kValueIn || t == kValueInout || t == kMemrefIn || t == kMemrefInout;
}
inline bool has_output(uint32_t t) {
    return t == kValueOut || t == kValueInout || t == kMemrefOut || t == kMemrefInout;
}
// Valid wire types: NONE, the three value and the three memref types.
inline bool valid_types(uint32_t types) {
    if (types >> 16) return false;
    for (int i = 0; i < 4; ++i) {
        uint32_t t = param_type(types, i);
        if (t != kNone && !is_value(t) && !is_memref(t)) return false;
    }
    return true;
}

// Append-only little-endian writer.
class Writer {
  public:
    void u8(uint8_t v) { buf_.push_back(v); }
    void u32(uint32_t v) {
        for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void bytes(const void* data, size_t n) {
        const auto* p = static_cast<const uint8_t*>(data);
        buf_.insert(buf_.end(), p, p + n);
    }
    std::vector<uint8_t>& buffer() { return buf_; }

  private:
    std::vector<uint8_t> buf_;
};

// Bounds-checked reader; any overrun sets failed() and yields zeros.
class Reader {
  public:
    Reader(const uint8_t* data, size_t size) : p_(data), left_(size) {}
    uint8_t u8() {
        if (left_ < 1) return fail(), 0;
        --left_;
        return *p_++;
    }
    uint32_t u32() {
        if (left_ < 4) return fail(), 0;
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p_[i]) << (8 * i);
        p_ += 4;
        left_ -= 4;
        return v;
    }
    const uint8_t* bytes(size_t n) {
        if (left_ < n) return fail(), nullptr;
        const uint8_t* r = p_;
        p_ += n;
        left_ -= n;
        return r;
    }
    bool failed() const { return failed_; }
    bool at_end() const { return left_ == 0; }

  private:
    void fail() {
        failed_ = true;
        left_ = 0;
    }
    const uint8_t* p_;
    size_t left_;
    bool failed_ = false;
};

}  // namespace teesigner::softtee

namespace teesigner::softtee {

enum class IoStatus { ok, closed, timeout, too_large };

/// Write one frame (length prefix + body), retrying on EINTR and short writes.
/// Never raises SIGPIPE. False if the peer is gone.
bool write_frame(int fd, const std::vector<uint8_t>& body);

/// Read one frame of at most kMaxFrame bytes. timeout_ms < 0 blocks; otherwise
/// the whole frame must arrive within timeout_ms.
IoStatus read_frame(int fd, std::vector<uint8_t>& body, int timeout_ms);

}  // namespace teesigner::softtee
