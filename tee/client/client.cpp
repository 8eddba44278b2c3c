// The soft TEE's GP TEE Client API: runs the trusted application in a separate,
// sandboxed process (see child_main.cpp) and talks to it over a socketpair.
//
// One TA process per context; its sessions die with it. When the process dies
// (crash, seccomp kill, kill -9, TEE_Panic, timeout) the pending and all later
// calls on its sessions return TEEC_ERROR_TARGET_DEAD; the next
// TEEC_OpenSession starts a fresh process on the same storage.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "protocol.hpp"
#include "tee_client_api.h"
#include "ts_softtee.h"

#ifndef TS_SOFTTEE_DEFAULT_TA
#define TS_SOFTTEE_DEFAULT_TA "/usr/libexec/tee-signer/ts-softtee-ta"
#endif

namespace teesigner::softtee {
namespace {

constexpr const char* kDefaultStorage = "/var/lib/tee-signer/softtee";
constexpr int kStartTimeoutMs = 20000;
// Exit status the TA process uses for TEE_Panic (see child_main.cpp).
constexpr int kPanicExitStatus = 101;

struct State {
    std::mutex mu;
    std::string storage;
    std::string ta_path;
    std::string stderr_path;
    int timeout_ms = 30000;

    pid_t pid = -1;
    int sock = -1;
    uint32_t generation = 0;  // bumped at every start; sessions remember theirs
    unsigned starts = 0;
    std::string last_error;
    std::string last_error_out;
};

State* state_of(TEEC_Context* ctx) {
    return ctx == nullptr ? nullptr : static_cast<State*>(ctx->imp.state);
}

bool parse_config(const char* name, State& st) {
    const char* env_storage = getenv("TS_SOFTTEE_STORAGE");
    const char* env_ta = getenv("TS_SOFTTEE_TA");
    st.storage = env_storage && *env_storage ? env_storage : kDefaultStorage;
    st.ta_path = env_ta && *env_ta ? env_ta : TS_SOFTTEE_DEFAULT_TA;
    if (name == nullptr || *name == '\0') return true;
    std::string_view cfg(name);
    constexpr std::string_view kPrefix = "softtee:";
    if (cfg.substr(0, kPrefix.size()) != kPrefix) return false;
    cfg.remove_prefix(kPrefix.size());
    while (!cfg.empty()) {
        size_t comma = cfg.find(',');
        std::string_view item = cfg.substr(0, comma);
        cfg = comma == std::string_view::npos ? std::string_view{} : cfg.substr(comma + 1);
        size_t eq = item.find('=');
        if (eq == std::string_view::npos) return false;
        std::string_view key = item.substr(0, eq);
        std::string value(item.substr(eq + 1));
        if (key == "storage") {
            st.storage = value;
        } else if (key == "ta") {
            st.ta_path = value;
        } else if (key == "stderr") {
            st.stderr_path = value;
        } else if (key == "timeout_ms") {
            char* end = nullptr;
            long v = strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || v < 0 || v > 3600000) return false;
            st.timeout_ms = static_cast<int>(v);
        } else {
            return false;
        }
    }
    return !st.storage.empty() && !st.ta_path.empty();
}

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGSYS)
            return "TA process killed by seccomp (SIGSYS): it attempted a forbidden system call";
        if (sig == SIGKILL) return "TA process killed by SIGKILL";
        return std::string("TA process killed by signal ") + std::to_string(sig) + " (" +
               strsignal(sig) + ")";
    }
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == kPanicExitStatus) return "TA panicked (TEE_Panic)";
        return "TA process exited with status " + std::to_string(WEXITSTATUS(status));
    }
    return "TA process ended";
}

// Kill (if needed) and reap the TA process; record why it ended. mu held.
void stop_child(State& st, const std::string& why) {
    if (st.sock >= 0) {
        close(st.sock);
        st.sock = -1;
    }
    if (st.pid > 0) {
        kill(st.pid, SIGKILL);  // no-op on a process that already died
        int status = 0;
        pid_t r;
        do {
            r = waitpid(st.pid, &status, 0);
        } while (r < 0 && errno == EINTR);
        std::string how = r == st.pid ? describe_exit(status) : "TA process status unknown";
        st.last_error = why.empty() ? how : why + ": " + how;
    } else if (!why.empty()) {
        st.last_error = why;
    }
    st.pid = -1;
}

// Orderly shutdown: closing the socket makes the TA run TA_DestroyEntryPoint and
// exit; give it a moment before falling back to SIGKILL.
void shutdown_child(State& st) {
    if (st.sock >= 0) {
        close(st.sock);
        st.sock = -1;
    }
    if (st.pid <= 0) return;
    for (int i = 0; i < 200; ++i) {
        int status = 0;
        pid_t r = waitpid(st.pid, &status, WNOHANG);
        if (r == st.pid || (r < 0 && errno != EINTR)) {
            st.pid = -1;
            return;
        }
        usleep(10000);
    }
    stop_child(st, "");
}

TEEC_Result start_child(State& st) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        st.last_error = std::string("socketpair: ") + strerror(errno);
        return TEEC_ERROR_OUT_OF_MEMORY;
    }
    // The child's end must not already be kChildSocketFd (dup2 onto itself would
    // keep close-on-exec set).
    if (sv[1] == kChildSocketFd) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
        close(sv[1]);
        sv[1] = moved;
    }
    int err_fd = -1;
    if (!st.stderr_path.empty()) {
        err_fd = open(st.stderr_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (err_fd < 0) {
            st.last_error = "cannot open " + st.stderr_path + ": " + strerror(errno);
            close(sv[0]);
            close(sv[1]);
            return TEEC_ERROR_BAD_PARAMETERS;
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], kChildSocketFd);
    if (err_fd >= 0) posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Default signal dispositions and an empty mask in the TA process, whatever
    // the host application has installed.
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::string storage_arg = "--storage=" + st.storage;
    char* argv[] = {const_cast<char*>(st.ta_path.c_str()), const_cast<char*>(storage_arg.c_str()),
                    nullptr};
    char* envp[] = {nullptr};  // nothing from the host's environment (LD_PRELOAD, ...)
    pid_t pid = -1;
    int rc = posix_spawn(&pid, st.ta_path.c_str(), &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (err_fd >= 0) close(err_fd);
    if (rc != 0) {
        close(sv[0]);
        st.last_error = "cannot start TA process " + st.ta_path + ": " + strerror(rc);
        return TEEC_ERROR_ITEM_NOT_FOUND;
    }
    st.pid = pid;
    st.sock = sv[0];
    ++st.generation;
    ++st.starts;

    std::vector<uint8_t> hello;
    IoStatus io = read_frame(st.sock, hello, kStartTimeoutMs);
    if (io != IoStatus::ok) {
        stop_child(st, "TA process failed during start-up");
        return TEEC_ERROR_TARGET_DEAD;
    }
    Reader r(hello.data(), hello.size());
    uint32_t status = r.u32();
    uint32_t n = r.u32();
    const uint8_t* text = r.bytes(n);
    if (r.failed() || !r.at_end()) {
        stop_child(st, "malformed start-up message from TA process");
        return TEEC_ERROR_COMMUNICATION;
    }
    if (status != TEEC_SUCCESS) {
        std::string msg(reinterpret_cast<const char*>(text), n);
        shutdown_child(st);
        st.last_error = "TA process refused to start: " + msg;
        return status;
    }
    st.last_error.clear();
    return TEEC_SUCCESS;
}

// Why the last TEEC_InitializeContext on this thread failed.
thread_local std::string g_init_error;

bool alive(const State& st) {
    return st.pid > 0 && st.sock >= 0;
}

// Send a request and read its response. On any channel failure the TA process
// is killed and reaped, and TEEC_ERROR_TARGET_DEAD is returned. mu held.
TEEC_Result transact(State& st, const std::vector<uint8_t>& request,
                     std::vector<uint8_t>& response) {
    if (!alive(st)) return TEEC_ERROR_TARGET_DEAD;
    if (!write_frame(st.sock, request)) {
        stop_child(st, "TA process died (write failed)");
        return TEEC_ERROR_TARGET_DEAD;
    }
    IoStatus io = read_frame(st.sock, response, st.timeout_ms == 0 ? -1 : st.timeout_ms);
    switch (io) {
        case IoStatus::ok:
            return TEEC_SUCCESS;
        case IoStatus::timeout:
            stop_child(st, "TA request timed out after " + std::to_string(st.timeout_ms) +
                               " ms, process killed");
            return TEEC_ERROR_TARGET_DEAD;
        case IoStatus::too_large:
            stop_child(st, "TA process sent an oversized response");
            return TEEC_ERROR_TARGET_DEAD;
        case IoStatus::closed:
            break;
    }
    stop_child(st, "TA process died during a request");
    return TEEC_ERROR_TARGET_DEAD;
}

// A parameter as it travels: where its bytes live on the host side.
struct HostParam {
    uint32_t wire_type = kNone;
    uint8_t* buffer = nullptr;
    size_t size = 0;
    size_t* size_field = nullptr;  // where to report the TA's size back
};

TEEC_Result prepare_params(TEEC_Operation* op, HostParam (&hp)[4]) {
    if (op == nullptr) return TEEC_SUCCESS;
    for (int i = 0; i < 4; ++i) {
        uint32_t t = TEEC_PARAM_TYPE_GET(op->paramTypes, i);
        TEEC_Parameter& p = op->params[i];
        HostParam& h = hp[i];
        switch (t) {
            case TEEC_NONE:
                break;
            case TEEC_VALUE_INPUT:
            case TEEC_VALUE_OUTPUT:
            case TEEC_VALUE_INOUT:
                h.wire_type = t;
                break;
            case TEEC_MEMREF_TEMP_INPUT:
            case TEEC_MEMREF_TEMP_OUTPUT:
            case TEEC_MEMREF_TEMP_INOUT:
                if (p.tmpref.buffer == nullptr && p.tmpref.size != 0)
                    return TEEC_ERROR_BAD_PARAMETERS;
                h.wire_type = t;
                h.buffer = static_cast<uint8_t*>(p.tmpref.buffer);
                h.size = p.tmpref.size;
                h.size_field = &p.tmpref.size;
                break;
            case TEEC_MEMREF_WHOLE:
            case TEEC_MEMREF_PARTIAL_INPUT:
            case TEEC_MEMREF_PARTIAL_OUTPUT:
            case TEEC_MEMREF_PARTIAL_INOUT: {
                TEEC_SharedMemory* shm = p.memref.parent;
                if (shm == nullptr || (shm->buffer == nullptr && shm->size != 0))
                    return TEEC_ERROR_BAD_PARAMETERS;
                uint32_t dir = shm->flags & (TEEC_MEM_INPUT | TEEC_MEM_OUTPUT);
                if (t == TEEC_MEMREF_WHOLE) {
                    if (dir == 0) return TEEC_ERROR_BAD_PARAMETERS;
                    h.wire_type = dir == TEEC_MEM_INPUT    ? kMemrefIn
                                  : dir == TEEC_MEM_OUTPUT ? kMemrefOut
                                                           : kMemrefInout;
                    h.buffer = static_cast<uint8_t*>(shm->buffer);
                    h.size = shm->size;
                } else {
                    uint32_t need =
                        (t == TEEC_MEMREF_PARTIAL_INPUT ? TEEC_MEM_INPUT : 0) |
                        (t == TEEC_MEMREF_PARTIAL_OUTPUT ? TEEC_MEM_OUTPUT : 0) |
                        (t == TEEC_MEMREF_PARTIAL_INOUT ? TEEC_MEM_INPUT | TEEC_MEM_OUTPUT : 0);
                    if ((dir & need) != need) return TEEC_ERROR_BAD_PARAMETERS;
                    if (p.memref.offset > shm->size || p.memref.size > shm->size - p.memref.offset)
                        return TEEC_ERROR_BAD_PARAMETERS;
                    h.wire_type = t - (TEEC_MEMREF_PARTIAL_INPUT - kMemrefIn);
                    h.buffer = static_cast<uint8_t*>(shm->buffer) + p.memref.offset;
                    h.size = p.memref.size;
                }
                h.size_field = &p.memref.size;
                break;
            }
            default:
                return TEEC_ERROR_BAD_PARAMETERS;
        }
        if (is_memref(h.wire_type) && h.size > kMaxMemref) return TEEC_ERROR_EXCESS_DATA;
    }
    return TEEC_SUCCESS;
}

void encode_params(Writer& w, TEEC_Operation* op, const HostParam (&hp)[4]) {
    for (int i = 0; i < 4; ++i) {
        const HostParam& h = hp[i];
        if (is_value(h.wire_type)) {
            w.u32(op->params[i].value.a);
            w.u32(op->params[i].value.b);
        } else if (is_memref(h.wire_type)) {
            w.u32(static_cast<uint32_t>(h.size));
            if (has_input(h.wire_type) && h.size > 0) w.bytes(h.buffer, h.size);
        }
    }
}

uint32_t wire_types(const HostParam (&hp)[4]) {
    uint32_t t = 0;
    for (int i = 0; i < 4; ++i) t |= hp[i].wire_type << (4 * i);
    return t;
}

// Parse a response and copy outputs back into the operation. False if the
// response is malformed (the caller then treats the channel as broken).
bool decode_response(const std::vector<uint8_t>& resp, TEEC_Operation* op, const HostParam (&hp)[4],
                     uint32_t& result, uint32_t& origin, uint32_t& session) {
    Reader r(resp.data(), resp.size());
    result = r.u32();
    origin = r.u32();
    session = r.u32();
    for (int i = 0; i < 4; ++i) {
        const HostParam& h = hp[i];
        if (!has_output(h.wire_type)) continue;
        if (is_value(h.wire_type)) {
            uint32_t a = r.u32(), b = r.u32();
            if (op != nullptr) {
                op->params[i].value.a = a;
                op->params[i].value.b = b;
            }
        } else {
            uint32_t size = r.u32();
            if (size > kMaxMemref) return false;
            if (size <= h.size) {
                const uint8_t* data = r.bytes(size);
                if (data == nullptr && size != 0) return false;
                if (size > 0) memcpy(h.buffer, data, size);
            }
            if (h.size_field != nullptr) *h.size_field = size;
        }
    }
    return !r.failed() && r.at_end();
}

void set_origin(uint32_t* out, uint32_t origin) {
    if (out != nullptr) *out = origin;
}

// Send the request in `w` (operation, session, command and `operation`'s
// parameters) and take the response back into `operation`. TEEC_SUCCESS with
// the TA's `result` and `session` id (origin set from the response), or the
// channel's error: a failed transfer (origin TEE) or a malformed response,
// which stops the TA process (origin COMMS).
TEEC_Result exchange(State& st, Writer& w, TEEC_Operation* operation, const HostParam (&hp)[4],
                     uint32_t* returnOrigin, uint32_t& result, uint32_t& session) {
    std::vector<uint8_t> resp;
    TEEC_Result rc = transact(st, w.buffer(), resp);
    if (rc != TEEC_SUCCESS) {
        set_origin(returnOrigin, TEEC_ORIGIN_TEE);
        return rc;
    }
    uint32_t origin = 0;
    if (!decode_response(resp, operation, hp, result, origin, session)) {
        stop_child(st, "malformed response from TA process");
        set_origin(returnOrigin, TEEC_ORIGIN_COMMS);
        return TEEC_ERROR_COMMUNICATION;
    }
    set_origin(returnOrigin, origin);
    return TEEC_SUCCESS;
}

}  // namespace
}  // namespace teesigner::softtee

using namespace teesigner::softtee;

extern "C" {

TEEC_Result TEEC_InitializeContext(const char* name, TEEC_Context* context) {
    if (context == nullptr) return TEEC_ERROR_BAD_PARAMETERS;
    context->imp.state = nullptr;
    auto* st = new (std::nothrow) State;
    if (st == nullptr) return TEEC_ERROR_OUT_OF_MEMORY;
    if (!parse_config(name, *st)) {
        delete st;
        return TEEC_ERROR_BAD_PARAMETERS;
    }
    TEEC_Result rc;
    {
        std::lock_guard<std::mutex> lock(st->mu);
        rc = start_child(*st);
    }
    if (rc != TEEC_SUCCESS) {
        // No context to hold the reason: keep it for ts_softtee_last_error(context).
        g_init_error = st->last_error;
        delete st;
        return rc;
    }
    context->imp.state = st;
    return TEEC_SUCCESS;
}

void TEEC_FinalizeContext(TEEC_Context* context) {
    State* st = state_of(context);
    if (st == nullptr) return;
    {
        std::lock_guard<std::mutex> lock(st->mu);
        shutdown_child(*st);
    }
    delete st;
    context->imp.state = nullptr;
}

TEEC_Result TEEC_RegisterSharedMemory(TEEC_Context* context, TEEC_SharedMemory* shm) {
    if (state_of(context) == nullptr || shm == nullptr) return TEEC_ERROR_BAD_PARAMETERS;
    if ((shm->flags & ~(TEEC_MEM_INPUT | TEEC_MEM_OUTPUT)) != 0 || shm->flags == 0)
        return TEEC_ERROR_BAD_PARAMETERS;
    if (shm->buffer == nullptr && shm->size != 0) return TEEC_ERROR_BAD_PARAMETERS;
    if (shm->size > TEEC_CONFIG_SHAREDMEM_MAX_SIZE) return TEEC_ERROR_OUT_OF_MEMORY;
    shm->imp.context = context;
    shm->imp.allocated = 0;
    return TEEC_SUCCESS;
}

TEEC_Result TEEC_AllocateSharedMemory(TEEC_Context* context, TEEC_SharedMemory* shm) {
    if (state_of(context) == nullptr || shm == nullptr) return TEEC_ERROR_BAD_PARAMETERS;
    if ((shm->flags & ~(TEEC_MEM_INPUT | TEEC_MEM_OUTPUT)) != 0 || shm->flags == 0)
        return TEEC_ERROR_BAD_PARAMETERS;
    if (shm->size > TEEC_CONFIG_SHAREDMEM_MAX_SIZE) return TEEC_ERROR_OUT_OF_MEMORY;
    shm->buffer = calloc(1, shm->size == 0 ? 1 : shm->size);
    if (shm->buffer == nullptr) return TEEC_ERROR_OUT_OF_MEMORY;
    shm->imp.context = context;
    shm->imp.allocated = 1;
    return TEEC_SUCCESS;
}

void TEEC_ReleaseSharedMemory(TEEC_SharedMemory* shm) {
    if (shm == nullptr) return;
    if (shm->imp.allocated) free(shm->buffer);
    shm->buffer = nullptr;
    shm->size = 0;
    shm->imp.context = nullptr;
    shm->imp.allocated = 0;
}

TEEC_Result TEEC_OpenSession(TEEC_Context* context, TEEC_Session* session,
                             const TEEC_UUID* destination, uint32_t connectionMethod,
                             const void* connectionData, TEEC_Operation* operation,
                             uint32_t* returnOrigin) {
    set_origin(returnOrigin, TEEC_ORIGIN_API);
    State* st = state_of(context);
    if (st == nullptr || session == nullptr || destination == nullptr)
        return TEEC_ERROR_BAD_PARAMETERS;
    // Only public login: the soft TEE has no client identity to offer.
    if (connectionMethod != TEEC_LOGIN_PUBLIC || connectionData != nullptr)
        return TEEC_ERROR_NOT_SUPPORTED;
    HostParam hp[4];
    TEEC_Result rc = prepare_params(operation, hp);
    if (rc != TEEC_SUCCESS) return rc;
    if (operation != nullptr) operation->started = 1;

    std::lock_guard<std::mutex> lock(st->mu);
    if (!alive(*st)) {
        set_origin(returnOrigin, TEEC_ORIGIN_TEE);
        rc = start_child(*st);
        if (rc != TEEC_SUCCESS) return rc;
    }
    Writer w;
    w.u8(static_cast<uint8_t>(Op::open_session));
    w.u32(0);
    w.u32(0);
    w.u32(wire_types(hp));
    w.u32(destination->timeLow);
    w.u8(static_cast<uint8_t>(destination->timeMid));
    w.u8(static_cast<uint8_t>(destination->timeMid >> 8));
    w.u8(static_cast<uint8_t>(destination->timeHiAndVersion));
    w.u8(static_cast<uint8_t>(destination->timeHiAndVersion >> 8));
    w.bytes(destination->clockSeqAndNode, 8);
    encode_params(w, operation, hp);
    uint32_t result = 0, sid = 0;
    rc = exchange(*st, w, operation, hp, returnOrigin, result, sid);
    if (rc != TEEC_SUCCESS) return rc;
    if (result == TEEC_SUCCESS) {
        session->imp.context = context;
        session->imp.session_id = sid;
        session->imp.generation = st->generation;
    }
    return result;
}

void TEEC_CloseSession(TEEC_Session* session) {
    if (session == nullptr) return;
    State* st = state_of(session->imp.context);
    if (st == nullptr) return;
    std::lock_guard<std::mutex> lock(st->mu);
    if (alive(*st) && session->imp.generation == st->generation) {
        Writer w;
        w.u8(static_cast<uint8_t>(Op::close_session));
        w.u32(session->imp.session_id);
        w.u32(0);
        w.u32(0);
        std::vector<uint8_t> resp;
        (void)transact(*st, w.buffer(), resp);
    }
    session->imp.context = nullptr;
}

TEEC_Result TEEC_InvokeCommand(TEEC_Session* session, uint32_t commandID, TEEC_Operation* operation,
                               uint32_t* returnOrigin) {
    set_origin(returnOrigin, TEEC_ORIGIN_API);
    if (session == nullptr) return TEEC_ERROR_BAD_PARAMETERS;
    State* st = state_of(session->imp.context);
    if (st == nullptr) return TEEC_ERROR_BAD_PARAMETERS;
    HostParam hp[4];
    TEEC_Result rc = prepare_params(operation, hp);
    if (rc != TEEC_SUCCESS) return rc;
    if (operation != nullptr) {
        operation->started = 1;
        operation->imp.session = session;
    }

    std::lock_guard<std::mutex> lock(st->mu);
    if (!alive(*st) || session->imp.generation != st->generation) {
        // The TA process this session lived in is gone: GP semantics, the
        // session is dead; close it and open a new one.
        set_origin(returnOrigin, TEEC_ORIGIN_TEE);
        return TEEC_ERROR_TARGET_DEAD;
    }
    Writer w;
    w.u8(static_cast<uint8_t>(Op::invoke));
    w.u32(session->imp.session_id);
    w.u32(commandID);
    w.u32(wire_types(hp));
    encode_params(w, operation, hp);
    uint32_t result = 0, sid = 0;
    rc = exchange(*st, w, operation, hp, returnOrigin, result, sid);
    if (rc != TEEC_SUCCESS) return rc;
    return result;
}

void TEEC_RequestCancellation(TEEC_Operation* operation) {
    // Best effort per the specification; the soft TEE's commands are short and
    // not cancellable, so there is nothing to do.
    (void)operation;
}

pid_t ts_softtee_child_pid(TEEC_Context* context) {
    State* st = state_of(context);
    if (st == nullptr) return -1;
    std::lock_guard<std::mutex> lock(st->mu);
    return st->pid;
}

const char* ts_softtee_last_error(TEEC_Context* context) {
    State* st = state_of(context);
    if (st == nullptr) return g_init_error.c_str();
    std::lock_guard<std::mutex> lock(st->mu);
    st->last_error_out = st->last_error;
    return st->last_error_out.c_str();
}

unsigned ts_softtee_start_count(TEEC_Context* context) {
    State* st = state_of(context);
    if (st == nullptr) return 0;
    std::lock_guard<std::mutex> lock(st->mu);
    return st->starts;
}

const char* ts_teec_result_string(TEEC_Result r) {
    switch (r) {
        case TEEC_SUCCESS:
            return "success";
        case TEEC_ERROR_CORRUPT_OBJECT:
            return "corrupt object (authentication of sealed data failed)";
        case TEEC_ERROR_STORAGE_NOT_AVAILABLE:
            return "storage not available";
        case TEEC_ERROR_GENERIC:
            return "generic error";
        case TEEC_ERROR_ACCESS_DENIED:
            return "access denied";
        case TEEC_ERROR_CANCEL:
            return "cancelled";
        case TEEC_ERROR_ACCESS_CONFLICT:
            return "access conflict";
        case TEEC_ERROR_EXCESS_DATA:
            return "excess data";
        case TEEC_ERROR_BAD_FORMAT:
            return "bad format";
        case TEEC_ERROR_BAD_PARAMETERS:
            return "bad parameters";
        case TEEC_ERROR_BAD_STATE:
            return "bad state";
        case TEEC_ERROR_ITEM_NOT_FOUND:
            return "item not found";
        case TEEC_ERROR_NOT_IMPLEMENTED:
            return "not implemented";
        case TEEC_ERROR_NOT_SUPPORTED:
            return "not supported";
        case TEEC_ERROR_NO_DATA:
            return "no data";
        case TEEC_ERROR_OUT_OF_MEMORY:
            return "out of memory";
        case TEEC_ERROR_BUSY:
            return "busy";
        case TEEC_ERROR_COMMUNICATION:
            return "communication error";
        case TEEC_ERROR_SECURITY:
            return "security fault (e.g. rollback of sealed state detected)";
        case TEEC_ERROR_SHORT_BUFFER:
            return "short buffer";
        case TEEC_ERROR_EXTERNAL_CANCEL:
            return "externally cancelled";
        case TEEC_ERROR_TARGET_DEAD:
            return "trusted application died";
        case TEEC_ERROR_STORAGE_NO_SPACE:
            return "storage full";
    }
    return "unknown error";
}

}  // extern "C"
