// seccomp-BPF allow-list for the soft TEE's TA process, written as raw BPF
// (no libseccomp). Anything not allowed kills the whole process
// (SECCOMP_RET_KILL_PROCESS), which the host reports as "killed by seccomp".
//
// Allowed: I/O on descriptors the process already holds (the socket, stderr,
// files it opened), file operations relative to the storage directory only
// (openat/renameat/unlinkat/newfstatat with the directory's descriptor),
// memory management without PROT_EXEC, getrandom, clocks, exit. No socket(),
// connect(), execve(), open() by absolute path, ptrace, fork, ...
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "child.hpp"

// Sanitizer builds (TS_SANITIZE: ASan together with UBSan) are recognised by
// ASan's predefined macro (GCC, and clang's feature test).
#if defined(__SANITIZE_ADDRESS__)
#define TS_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_SANITIZER_BUILD 1
#endif
#endif
#ifdef TS_SANITIZER_BUILD
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
#define TS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "soft TEE seccomp filter: unsupported architecture"
#endif

namespace teesigner::softtee {
namespace {

constexpr uint32_t kNrOffset = offsetof(struct seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(struct seccomp_data, arch);
// Low 32 bits of argument i (little-endian).
constexpr uint32_t arg_offset(int i) {
    return static_cast<uint32_t>(offsetof(struct seccomp_data, args) + 8 * i);
}

class Program {
  public:
    void stmt(uint16_t code, uint32_t k) { f_.push_back(BPF_STMT(code, k)); }
    void jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
        f_.push_back(BPF_JUMP(code, k, jt, jf));
    }
    void allow() { stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW); }
    void kill() { stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS); }
    void load_nr() { stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset); }

    // if (nr == n) return ALLOW;
    void allow_nr(long n) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(n), 0, 1);
        allow();
    }
    // if (nr == n) return args[a] == v ? ALLOW : otherwise (KILL unless given);
    void allow_if_arg_eq(long n, int a, uint32_t v, uint32_t otherwise = SECCOMP_RET_KILL_PROCESS) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(n), 0, 4);
        stmt(BPF_LD | BPF_W | BPF_ABS, arg_offset(a));
        jump(BPF_JMP | BPF_JEQ | BPF_K, v, 0, 1);
        allow();
        stmt(BPF_RET | BPF_K, otherwise);
    }
    // if (nr == n) return action;
    void return_if_nr(long n, uint32_t action) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(n), 0, 1);
        stmt(BPF_RET | BPF_K, action);
    }
    // if (nr == n) return (args[a0] == v && args[a1] == v) ? ALLOW : KILL;
    void allow_if_args_eq(long n, int a0, int a1, uint32_t v) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(n), 0, 6);
        stmt(BPF_LD | BPF_W | BPF_ABS, arg_offset(a0));
        jump(BPF_JMP | BPF_JEQ | BPF_K, v, 0, 3);
        stmt(BPF_LD | BPF_W | BPF_ABS, arg_offset(a1));
        jump(BPF_JMP | BPF_JEQ | BPF_K, v, 0, 1);
        allow();
        kill();
    }
    // if (nr == n) return (args[a] & bits) ? KILL : ALLOW;
    void allow_if_arg_clear(long n, int a, uint32_t bits) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(n), 0, 4);
        stmt(BPF_LD | BPF_W | BPF_ABS, arg_offset(a));
        jump(BPF_JMP | BPF_JSET | BPF_K, bits, 0, 1);
        kill();
        allow();
    }
    std::vector<sock_filter>& filters() { return f_; }

  private:
    std::vector<sock_filter> f_;
};

}  // namespace

LandlockStatus install_landlock(int dirfd) {
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) return LandlockStatus::unsupported;
    // Every filesystem right of ABI 1 (and REFER from ABI 2) is handled, so
    // anything not granted below is denied for every path.
    uint64_t handled = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
    if (abi >= 2) handled |= LANDLOCK_ACCESS_FS_REFER;
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = handled;
    int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
    if (ruleset < 0) return LandlockStatus::failed;
    // Beneath the storage directory: read, create, replace and remove regular
    // files, list the directory. Nothing else anywhere.
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                             LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                             LANDLOCK_ACCESS_FS_MAKE_REG;
    beneath.parent_fd = dirfd;
    bool ok =
        syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) == 0 &&
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
        syscall(SYS_landlock_restrict_self, ruleset, 0) == 0;
    close(ruleset);
    return ok ? LandlockStatus::enforced : LandlockStatus::failed;
}

// Sanitizer builds only (TS_SANITIZER_BUILD above): an
// ASan/UBSan report is printed from inside the sandbox, and its printing path
// reads /proc/self/maps and /proc/self/exe (open/openat outside the storage
// directory, readlink) and asks whether stderr is a terminal (ioctl). Killing the process there
// would cut the report off after its first line, leaving only "killed by seccomp". So in those
// builds, and only there, these calls fail with an error instead of killing the process (Landlock
// still refuses the paths), and the sanitizer is told about the sandbox first so that it caches the
// memory map. LeakSanitizer cannot run in the sandbox at all (it stops the world with clone and
// ptrace at exit); the TA executable switches it off below.
#ifdef TS_SANITIZER_BUILD
constexpr uint32_t kFileRefusal = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);
#else
constexpr uint32_t kFileRefusal = SECCOMP_RET_KILL_PROCESS;
#endif

bool install_seccomp(int dirfd, int socket_fd) {
    (void)socket_fd;  // I/O is allowed on any held descriptor; none but ours remain
    const auto dir = static_cast<uint32_t>(dirfd);
#ifdef TS_SANITIZER_BUILD
    __sanitizer_sandbox_on_notify(nullptr);
#endif
    Program p;
    // Wrong architecture (e.g. a 32-bit syscall entry): kill.
    p.stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset);
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, TS_AUDIT_ARCH, 1, 0);
    p.kill();
    p.load_nr();
#if defined(__x86_64__)
    // x32 ABI syscall numbers alias the 64-bit ones with bit 30 set: kill.
    p.jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    p.kill();
#endif

    // Descriptor I/O.
    for (long nr : {SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64,
                    SYS_sendto, SYS_recvfrom, SYS_close, SYS_fstat, SYS_lseek, SYS_fsync,
                    SYS_fdatasync, SYS_ftruncate, SYS_getdents64, SYS_flock})
        p.allow_nr(nr);
    // File operations, only relative to the storage directory.
    p.allow_if_arg_eq(SYS_openat, 0, dir, kFileRefusal);
    p.allow_if_arg_eq(SYS_unlinkat, 0, dir);
    p.allow_if_arg_eq(SYS_newfstatat, 0, dir);
    p.allow_if_args_eq(SYS_renameat2, 0, 2, dir);
#ifdef SYS_renameat
    p.allow_if_args_eq(SYS_renameat, 0, 2, dir);
#endif
    // Memory: malloc, libsodium's guarded allocations (mprotect, mlock); never
    // executable mappings.
    p.allow_if_arg_clear(SYS_mmap, 2, PROT_EXEC);
    p.allow_if_arg_clear(SYS_mprotect, 2, PROT_EXEC);
    for (long nr : {SYS_munmap, SYS_mremap, SYS_brk, SYS_madvise, SYS_mlock, SYS_munlock})
        p.allow_nr(nr);
    // Randomness, time, process basics.
    for (long nr : {SYS_getrandom, SYS_clock_gettime, SYS_futex, SYS_rt_sigreturn,
                    SYS_rt_sigprocmask, SYS_getpid, SYS_gettid, SYS_exit, SYS_exit_group})
        p.allow_nr(nr);
    // abort() signals itself; only itself.
    p.allow_if_arg_eq(SYS_tgkill, 0, static_cast<uint32_t>(getpid()));
#ifdef TS_SANITIZER_BUILD
    // A sanitizer report's file probes fail instead of killing (see above).
#ifdef SYS_open
    p.return_if_nr(SYS_open, kFileRefusal);
#endif
#ifdef SYS_readlink
    p.return_if_nr(SYS_readlink, kFileRefusal);
#endif
    p.return_if_nr(SYS_readlinkat, kFileRefusal);
    p.return_if_nr(SYS_ioctl, SECCOMP_RET_ERRNO | (ENOTTY & SECCOMP_RET_DATA));
#endif
    p.kill();

    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(p.filters().size());
    prog.filter = p.filters().data();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

}  // namespace teesigner::softtee

#if defined(TS_SANITIZER_BUILD) && !defined(TS_SOFTTEE_KEEP_SANITIZER_DEFAULTS)
// The TA process's default sanitizer options (sanitizer builds only): no leak
// check at exit (LeakSanitizer needs clone and ptrace, which the sandbox
// forbids), and no symbolizer (it would open the executable); reports carry
// module+offset addresses for offline symbolization instead. $ASAN_OPTIONS
// still overrides these (the host starts the TA with an empty environment).
extern "C" const char* __asan_default_options() {
    return "detect_leaks=0:symbolize=0";
}
extern "C" const char* __ubsan_default_options() {
    return "symbolize=0:print_stacktrace=1";
}
#endif
