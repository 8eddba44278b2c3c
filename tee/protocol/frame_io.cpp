// Frame I/O shared by the host library and the TA process (see protocol.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol.hpp"

namespace teesigner::softtee {
namespace {

int64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        // send() with MSG_NOSIGNAL: a dead peer is an error return, not a signal.
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// `ready`: the bytes are probably there already (a frame's body after its
// header), so try a non-blocking read before polling.
IoStatus read_all(int fd, uint8_t* p, size_t n, int64_t deadline, bool ready) {
    while (n > 0) {
        if (deadline >= 0) {
            if (ready) {
                ssize_t got = recv(fd, p, n, MSG_DONTWAIT);
                if (got > 0) {
                    p += got;
                    n -= static_cast<size_t>(got);
                    continue;
                }
                if (got == 0) return IoStatus::closed;
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::closed;
            }
            int64_t left = deadline - now_ms();
            if (left <= 0) return IoStatus::timeout;
            pollfd pfd{fd, POLLIN, 0};
            int r = poll(&pfd, 1, static_cast<int>(left));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return IoStatus::closed;
            if (r == 0) return IoStatus::timeout;
        }
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return IoStatus::closed;
        p += got;
        n -= static_cast<size_t>(got);
    }
    return IoStatus::ok;
}

}  // namespace

bool write_frame(int fd, const std::vector<uint8_t>& body) {
    if (body.size() > kMaxFrame) return false;
    uint8_t header[4];
    auto len = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) header[i] = static_cast<uint8_t>(len >> (8 * i));
    // Header and body in one send when small (every signing request and answer):
    // one syscall, and the reader wakes once instead of twice.
    uint8_t small[4096];
    if (body.size() <= sizeof small - 4) {
        std::memcpy(small, header, 4);
        if (!body.empty()) std::memcpy(small + 4, body.data(), body.size());
        return write_all(fd, small, 4 + body.size());
    }
    return write_all(fd, header, 4) && write_all(fd, body.data(), body.size());
}

IoStatus read_frame(int fd, std::vector<uint8_t>& body, int timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    uint8_t header[4];
    IoStatus st = read_all(fd, header, 4, deadline, false);
    if (st != IoStatus::ok) return st;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(header[i]) << (8 * i);
    if (len > kMaxFrame) return IoStatus::too_large;
    body.assign(len, 0);
    return read_all(fd, body.data(), len, deadline, true);
}

}  // namespace teesigner::softtee
