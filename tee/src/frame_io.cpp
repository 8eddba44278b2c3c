// Frame I/O shared by the host library and the TA process (see protocol.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

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

IoStatus read_all(int fd, uint8_t* p, size_t n, int64_t deadline) {
    while (n > 0) {
        if (deadline >= 0) {
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
    return write_all(fd, header, 4) && write_all(fd, body.data(), body.size());
}

IoStatus read_frame(int fd, std::vector<uint8_t>& body, int timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    uint8_t header[4];
    IoStatus st = read_all(fd, header, 4, deadline);
    if (st != IoStatus::ok) return st;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(header[i]) << (8 * i);
    if (len > kMaxFrame) return IoStatus::too_large;
    body.assign(len, 0);
    return read_all(fd, body.data(), len, deadline);
}

}  // namespace teesigner::softtee
