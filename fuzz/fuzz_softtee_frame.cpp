// The soft TEE's TA process request loop, fed with what a (compromised) host
// can send down the socket: the input is the raw byte stream of frames (u32
// length, body) that serve() reads from descriptor 3. The real child_main.cpp
// is compiled into this target (its main() renamed, its stderr diagnostics
// silenced unless TS_FUZZ_VERBOSE is set), with the TA and the sealed storage
// in a scratch directory holding //Alice's keys; the storage is restored
// before every input. serve() must answer or close the channel, never crash
// or panic (TEE_Panic exits the process, which libFuzzer reports), and every
// response frame it writes must be well formed.
//
// Host -> TA frame layout: tee/protocol/protocol.hpp.

// Everything child_main.cpp includes, first, so the macros below touch only its code.
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "storage_snapshot.hpp"

namespace {
ssize_t quiet_write(int fd, const void* buf, size_t n) {
    static const bool verbose = std::getenv("TS_FUZZ_VERBOSE") != nullptr;
    if (fd == 2 && !verbose) return static_cast<ssize_t>(n);
    return ::write(fd, buf, n);
}
}  // namespace

#define main ts_softtee_ta_main
#define write(fd, buf, n) quiet_write(fd, buf, n)
#include "../tee/softtee/child_main.cpp"
#undef write
#undef main

#include "signer_ta.h"
#include "teesigner/core/scale.hpp"

namespace {

using teesigner::fuzz::FileMap;

struct Harness {
    std::string dir;
    FileMap snapshot;
};

void must(bool ok, const char* what) {
    if (!ok) teesigner::fuzz::fail(what);
}

// Descriptor 3 is serve()'s socket; between inputs it points at /dev/null.
void park_socket_fd() {
    int n = open("/dev/null", O_RDWR | O_CLOEXEC);
    must(n >= 0, "open /dev/null");
    if (n != kChildSocketFd) {
        must(dup2(n, kChildSocketFd) == kChildSocketFd, "dup2 /dev/null");
        close(n);
    }
}

Harness& harness() {
    static Harness h = [] {
        Harness s;
        must(sodium_init() >= 0, "sodium_init");
        must(fcntl(kChildSocketFd, F_GETFD) == -1, "descriptor 3 is already in use");
        park_socket_fd();  // keep descriptor 3 taken: the storage must not get it
        s.dir = teesigner::fuzz::make_scratch_dir();
        must(storage_prepare(s.dir.c_str()) == TEE_SUCCESS, "storage_prepare");
        must(storage_load() == TEE_SUCCESS, "storage_load");
        must(TA_CreateEntryPoint() == TEE_SUCCESS, "TA_CreateEntryPoint");
        // //Alice under gran (ed25519), babe (sr25519) and beef (ecdsa).
        const struct {
            const char* type;
            uint8_t scheme;
        } kKeys[] = {{"gran", 1}, {"babe", 0}, {"beef", 2}};
        for (const auto& k : kKeys) {
            teesigner::core::scale::Encoder e;
            e.raw(teesigner::core::as_bytes(std::string_view(k.type, 4)))
                .u8(k.scheme)
                .str("//Alice");
            std::vector<uint8_t> req = e.take(), out(64);
            TEE_Param p[4]{};
            p[0].memref.buffer = req.data();
            p[0].memref.size = req.size();
            p[1].memref.buffer = out.data();
            p[1].memref.size = out.size();
            uint32_t types =
                TEE_PARAM_TYPES(TEE_PARAM_TYPE_MEMREF_INPUT, TEE_PARAM_TYPE_MEMREF_OUTPUT,
                                TEE_PARAM_TYPE_NONE, TEE_PARAM_TYPE_NONE);
            must(TA_InvokeCommandEntryPoint(nullptr, TA_SIGNER_CMD_IMPORT_SURI, types, p) ==
                     TEE_SUCCESS,
                 "import //Alice");
        }
        s.snapshot = teesigner::fuzz::take_snapshot(s.dir);
        return s;
    }();
    return h;
}

// Checks the TA's answers as they stream in: every frame is a u32 length and a
// body of at least result, origin and session.
class ResponseChecker {
  public:
    void feed(const uint8_t* p, size_t n) {
        while (n > 0) {
            if (have_header_ < 4) {
                header_ |= static_cast<uint32_t>(*p) << (8 * have_header_);
                ++p, --n;
                if (++have_header_ == 4) {
                    must(header_ >= 12 && header_ <= kMaxFrame, "bad response frame length");
                    body_left_ = header_;
                }
                continue;
            }
            size_t take = n < body_left_ ? n : body_left_;
            p += take, n -= take, body_left_ -= take;
            if (body_left_ == 0) have_header_ = 0, header_ = 0;
        }
    }
    void finish() const { must(have_header_ == 0, "truncated response frame"); }

  private:
    uint32_t header_ = 0;
    int have_header_ = 0;
    size_t body_left_ = 0;
};

// The host: send the whole stream while reading answers (a full-duplex loop, so
// neither side can block the other), until the TA side closes.
void play_host(int fd, const uint8_t* data, size_t size, ResponseChecker& checker) {
    bool sending = size > 0;
    if (!sending) shutdown(fd, SHUT_WR);
    uint8_t buf[16384];
    for (;;) {
        pollfd pfd{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (sending && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                data += w;
                size -= static_cast<size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || size == 0) {
                sending = false;  // all sent, or the TA side closed the channel
                shutdown(fd, SHUT_WR);
            }
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) {
                checker.feed(buf, static_cast<size_t>(r));
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) return;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Harness& h = harness();
    teesigner::fuzz::restore_snapshot(h.dir, h.snapshot);
    if (storage_load() != TEE_SUCCESS) {
        std::fprintf(stderr, "storage_load: %s\n", storage_failure_reason().c_str());
        must(false, "storage_load after restore");
    }

    int sv[2];
    must(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    must(dup2(sv[0], kChildSocketFd) == kChildSocketFd, "dup2");
    close(sv[0]);
    ResponseChecker checker;
    std::thread host([&] { play_host(sv[1], data, size, checker); });
    teesigner::softtee::serve();
    shutdown(kChildSocketFd, SHUT_RDWR);
    host.join();
    park_socket_fd();
    close(sv[1]);
    checker.finish();
    return 0;
}
