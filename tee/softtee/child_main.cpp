// The soft TEE's TA process: started by the host library (client.cpp) with the
// socket on descriptor 3 and --storage=DIR. It hardens itself, enters the
// seccomp sandbox, then serves open-session / invoke / close-session requests
// by calling the TA's GP entry points, one at a time.
//
// Order matters: dumping is disabled, descriptors closed, memory locked and the
// storage directory opened *before* the sandbox; the device key is read only
// after it.
#include <fcntl.h>
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
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "child.hpp"
#include "protocol.hpp"
#include "tee_internal_api.h"

// Provided by the TA's host build (ta/softtee/ta_uuid.cpp): the UUID clients must open.
extern "C" const TEE_UUID ts_softtee_ta_uuid;

namespace teesigner::softtee {

void child_log(const char* fmt, ...) {
    char line[512];
    int n = snprintf(line, sizeof line, "[soft-tee ta %d] ", static_cast<int>(getpid()));
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    size_t len = strlen(line);
    line[len++] = '\n';
    ssize_t ignored = write(2, line, len);
    (void)ignored;
}

namespace {

// Process-wide protections that need no storage access.
void harden_process() {
    // Not dumpable: no core dumps, no ptrace attach by same-uid processes, no
    // /proc/<pid>/mem reads by them.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rlimit zero{0, 0};
    setrlimit(RLIMIT_CORE, &zero);
    // stdin/stdout to /dev/null; keep stderr (diagnostics) and the socket; close
    // everything else the host might have leaked to us.
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        if (null_fd > 2) close(null_fd);
    }
    if (syscall(SYS_close_range, kChildSocketFd + 1, ~0u, 0) != 0) {
        for (int fd = kChildSocketFd + 1; fd < 65536; ++fd) close(fd);
    }
}

// Keep every page of this process out of swap when the memlock limit allows;
// otherwise secrets still live in libsodium's locked, non-dumpable buffers
// (LockedBuffer, TEE_Malloc).
void lock_memory() {
    rlimit lim{};
    getrlimit(RLIMIT_MEMLOCK, &lim);
    if (lim.rlim_cur != lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_MEMLOCK, &lim);
        getrlimit(RLIMIT_MEMLOCK, &lim);
    }
    constexpr rlim_t kEnough = 256u * 1024u * 1024u;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < kEnough) {
        child_log(
            "memlock limit %llu KiB: not locking all memory (secrets are still in locked "
            "buffers)",
            static_cast<unsigned long long>(lim.rlim_cur / 1024));
        return;
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0)
        child_log("mlockall failed: %s", strerror(errno));
}

void send_hello(uint32_t status, const std::string& msg) {
    Writer w;
    w.u32(status);
    w.u32(static_cast<uint32_t>(msg.size()));
    w.bytes(msg.data(), msg.size());
    write_frame(kChildSocketFd, w.buffer());
}

struct Request {
    Op op;
    uint32_t session;
    uint32_t command;
    uint32_t types;
    TEE_UUID uuid{};
    std::vector<uint8_t> buf[4];
    uint32_t cap[4]{};
    TEE_Param params[4]{};
};

bool parse_request(const std::vector<uint8_t>& body, Request& rq) {
    Reader r(body.data(), body.size());
    uint8_t op = r.u8();
    if (op < 1 || op > 3) return false;
    rq.op = static_cast<Op>(op);
    rq.session = r.u32();
    rq.command = r.u32();
    rq.types = r.u32();
    if (!valid_types(rq.types)) return false;
    if (rq.op == Op::open_session) {
        rq.uuid.timeLow = r.u32();
        rq.uuid.timeMid = static_cast<uint16_t>(r.u8() | (r.u8() << 8));
        rq.uuid.timeHiAndVersion = static_cast<uint16_t>(r.u8() | (r.u8() << 8));
        const uint8_t* node = r.bytes(8);
        if (node == nullptr) return false;
        memcpy(rq.uuid.clockSeqAndNode, node, 8);
    }
    for (int i = 0; i < 4; ++i) {
        uint32_t t = param_type(rq.types, i);
        if (is_value(t)) {
            rq.params[i].value.a = r.u32();
            rq.params[i].value.b = r.u32();
        } else if (is_memref(t)) {
            uint32_t size = r.u32();
            if (size > kMaxMemref) return false;
            rq.cap[i] = size;
            rq.buf[i].assign(size, 0);
            if (has_input(t) && size > 0) {
                const uint8_t* data = r.bytes(size);
                if (data == nullptr) return false;
                memcpy(rq.buf[i].data(), data, size);
            }
            rq.params[i].memref.buffer = size > 0 ? rq.buf[i].data() : nullptr;
            rq.params[i].memref.size = size;
        }
    }
    return !r.failed() && r.at_end();
}

std::vector<uint8_t> build_response(Request& rq, uint32_t result, uint32_t origin,
                                    uint32_t session) {
    Writer w;
    w.u32(result);
    w.u32(origin);
    w.u32(session);
    for (int i = 0; i < 4; ++i) {
        uint32_t t = param_type(rq.types, i);
        if (!has_output(t)) continue;
        if (is_value(t)) {
            w.u32(rq.params[i].value.a);
            w.u32(rq.params[i].value.b);
            continue;
        }
        size_t size = rq.params[i].memref.size;
        if (size > kMaxMemref) size = kMaxMemref + 1u;  // "more than can ever fit"
        w.u32(static_cast<uint32_t>(size));
        if (size <= rq.cap[i] && size > 0) w.bytes(rq.buf[i].data(), size);
    }
    // Request buffers may have carried sensitive input (e.g. a dev secret URI).
    for (auto& b : rq.buf)
        if (!b.empty()) sodium_memzero(b.data(), b.size());
    return std::move(w.buffer());
}

bool same_uuid(const TEE_UUID& a, const TEE_UUID& b) {
    return a.timeLow == b.timeLow && a.timeMid == b.timeMid &&
           a.timeHiAndVersion == b.timeHiAndVersion &&
           memcmp(a.clockSeqAndNode, b.clockSeqAndNode, 8) == 0;
}

// A request (or the host's close) is waiting on the channel.
bool input_waiting(int fd) {
    uint8_t byte = 0;
    const ssize_t got = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

int serve() {
    std::map<uint32_t, void*> sessions;
    uint32_t next_session = 1;
    std::vector<uint8_t> body;
    for (;;) {
        // Storage work that need not hold up a command runs while none waits.
        while (storage_idle_work_pending() && !input_waiting(kChildSocketFd)) storage_idle_step();
        IoStatus io = read_frame(kChildSocketFd, body, -1);
        if (io != IoStatus::ok) break;  // host closed the channel (or broke framing)
        Request rq;
        if (!parse_request(body, rq)) {
            child_log("malformed request, closing");
            break;
        }
        sodium_memzero(body.data(), body.size());
        uint32_t result = TEE_SUCCESS, origin = TEE_ORIGIN_TRUSTED_APP, sid = rq.session;
        switch (rq.op) {
            case Op::open_session: {
                if (!same_uuid(rq.uuid, ts_softtee_ta_uuid)) {
                    result = TEE_ERROR_ITEM_NOT_FOUND;
                    origin = TEE_ORIGIN_TEE;
                    break;
                }
                void* ctx = nullptr;
                result = TA_OpenSessionEntryPoint(rq.types, rq.params, &ctx);
                if (result == TEE_SUCCESS) {
                    sid = next_session++;
                    sessions[sid] = ctx;
                }
                break;
            }
            case Op::invoke: {
                auto it = sessions.find(rq.session);
                if (it == sessions.end()) {
                    result = TEE_ERROR_BAD_PARAMETERS;
                    origin = TEE_ORIGIN_TEE;
                    break;
                }
                result = TA_InvokeCommandEntryPoint(it->second, rq.command, rq.types, rq.params);
                break;
            }
            case Op::close_session: {
                auto it = sessions.find(rq.session);
                if (it != sessions.end()) {
                    TA_CloseSessionEntryPoint(it->second);
                    sessions.erase(it);
                }
                origin = TEE_ORIGIN_TEE;
                break;
            }
        }
        if (result == TEE_SUCCESS) origin = TEE_ORIGIN_TRUSTED_APP;
        if (!write_frame(kChildSocketFd, build_response(rq, result, origin, sid))) break;
    }
    for (auto& [id, ctx] : sessions) TA_CloseSessionEntryPoint(ctx);
    TA_DestroyEntryPoint();
    storage_close();
    return 0;
}

}  // namespace
}  // namespace teesigner::softtee

using namespace teesigner::softtee;

int main(int argc, char** argv) {
    harden_process();
    const char* storage = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (strncmp(argv[i], "--storage=", 10) == 0) storage = argv[i] + 10;
    }
    if (storage == nullptr || *storage == '\0') {
        send_hello(TEE_ERROR_BAD_PARAMETERS, "usage: ts-softtee-ta --storage=DIR (fd 3: socket)");
        return 2;
    }
    if (sodium_init() < 0) {
        send_hello(TEE_ERROR_GENERIC, "sodium_init failed");
        return 1;
    }
    lock_memory();
    std::string why;
    TEE_Result rc = storage_prepare(storage);
    if (rc != TEE_SUCCESS) why = storage_failure_reason();
    if (rc == TEE_SUCCESS) {
        switch (install_landlock(storage_dirfd())) {
            case LandlockStatus::enforced:
                break;
            case LandlockStatus::unsupported:
                child_log(
                    "landlock: not supported by this kernel; file access is limited by "
                    "seccomp only (no path confinement)");
                break;
            case LandlockStatus::failed:
                rc = TEE_ERROR_SECURITY;
                why = std::string("cannot install the landlock ruleset: ") + strerror(errno);
                break;
        }
    }
    if (rc == TEE_SUCCESS && !install_seccomp(storage_dirfd(), kChildSocketFd)) {
        rc = TEE_ERROR_SECURITY;
        why = std::string("cannot install the seccomp filter: ") + strerror(errno);
    }
    // From here on the process is sandboxed.
    if (rc == TEE_SUCCESS) {
        rc = storage_load();
        if (rc != TEE_SUCCESS) why = storage_failure_reason();
    }
    if (rc == TEE_SUCCESS) {
        rc = TA_CreateEntryPoint();
        if (rc != TEE_SUCCESS) why = "TA_CreateEntryPoint failed";
    }
    if (rc != TEE_SUCCESS) {
        child_log("start-up failed: %s", why.c_str());
        send_hello(rc, why);
        return 1;
    }
    send_hello(TEE_SUCCESS, "");
    return serve();
}

// ---- GP Internal API: panic, memory, randomness, time ----------------------

namespace {
// TEE_Malloc'd blocks live in libsodium guarded allocations (mlock'ed,
// MADV_DONTDUMP, wiped on free). A 16-byte prefix records the size for Realloc.
constexpr size_t kPrefix = 16;
size_t round16(size_t n) {
    return (n + 15) & ~static_cast<size_t>(15);
}
}  // namespace

extern "C" {

void TEE_Panic(TEE_Result code) {
    child_log("TEE_Panic(0x%08x)", code);
    _exit(kPanicExitStatus);
}

void* TEE_Malloc(size_t size, uint32_t hint) {
    (void)hint;  // always zero-filled
    if (size > (1u << 30)) return nullptr;
    auto* p = static_cast<uint8_t*>(sodium_malloc(kPrefix + round16(size == 0 ? 1 : size)));
    if (p == nullptr) return nullptr;
    memset(p, 0, kPrefix + round16(size == 0 ? 1 : size));
    memcpy(p, &size, sizeof size);
    return p + kPrefix;
}

void TEE_Free(void* buffer) {
    if (buffer != nullptr) sodium_free(static_cast<uint8_t*>(buffer) - kPrefix);
}

void* TEE_Realloc(void* buffer, size_t new_size) {
    void* fresh = TEE_Malloc(new_size, 0);
    if (fresh == nullptr || buffer == nullptr) return fresh;
    size_t old_size = 0;
    memcpy(&old_size, static_cast<uint8_t*>(buffer) - kPrefix, sizeof old_size);
    memcpy(fresh, buffer, old_size < new_size ? old_size : new_size);
    TEE_Free(buffer);
    return fresh;
}

void TEE_MemMove(void* dest, const void* src, size_t size) {
    memmove(dest, src, size);
}

int32_t TEE_MemCompare(const void* a, const void* b, size_t size) {
    int r = memcmp(a, b, size);
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

void TEE_MemFill(void* buffer, uint32_t x, size_t size) {
    memset(buffer, static_cast<int>(x & 0xFF), size);
}

void TEE_GenerateRandom(void* buffer, size_t len) {
    auto* p = static_cast<uint8_t*>(buffer);
    while (len > 0) {
        ssize_t r = getrandom(p, len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) TEE_Panic(TEE_ERROR_GENERIC);  // never hand out non-random bytes
        p += r;
        len -= static_cast<size_t>(r);
    }
}

void TEE_GetSystemTime(TEE_Time* t) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    t->seconds = static_cast<uint32_t>(ts.tv_sec);
    t->millis = static_cast<uint32_t>(ts.tv_nsec / 1000000);
}

}  // extern "C"
