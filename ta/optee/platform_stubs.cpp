// What libsodium and libsecp256k1, built as TA libraries (docs/testing-on-optee.md
// section 2), need from a platform that OP-TEE's libutils does not provide.
//
// The TA never reaches these on a correct path: the core takes randomness
// from TEE_GenerateRandom and never calls randombytes_*, sodium_malloc or
// sodium_init. They exist because a static library links object by object,
// and the objects the TA needs share files with ones it does not (libsodium's
// utils.o holds sodium_memzero beside sodium_malloc; randombytes.o names its
// /dev/urandom implementation). Each one fails closed: a call that would need
// the operating system fails, and anything that reports a broken invariant
// ends the TA instance (TEE_Panic), as an exception would elsewhere.
#include <cstddef>
#include <cstdint>

#include "../src/gp_api.hpp"

using teesigner::ta::panic;

namespace {
int last_error = 0;            // errno: one TA instance is one thread
constexpr int kNoSystem = 38;  // ENOSYS on Linux/AArch64
int unavailable() {
    last_error = kNoSystem;
    return -1;
}
}  // namespace

extern "C" {

// libsecp256k1 built with --enable-external-default-callbacks: an illegal
// argument or an internal error. The core checks its inputs first, so either
// is a bug; never carry on from one.
void secp256k1_default_illegal_callback_fn(const char*, void*) {
    panic(TEE_ERROR_BAD_STATE);
}
void secp256k1_default_error_callback_fn(const char*, void*) {
    panic(TEE_ERROR_BAD_STATE);
}

// assert() in libsodium (BLAKE2b, its critical sections), and raise() from
// sodium_free on a corrupted guard page.
[[noreturn]] void __assert_fail(const char*, const char*, unsigned, const char*) {
    panic(TEE_ERROR_BAD_STATE);
}
int raise(int) {
    panic(TEE_ERROR_BAD_STATE);
}

int* __errno_location() {
    return &last_error;
}

// randombytes' /dev/urandom implementation: it cannot open the device, so a
// call to randombytes_* ends in sodium_misuse(), i.e. abort(): the TA panics
// rather than producing a key from nothing.
int open(const char*, int, ...) {
    return unavailable();
}
long read(int, void*, std::size_t) {
    return unavailable();
}
int close(int) {
    return unavailable();
}
int fcntl(int, int, ...) {
    return unavailable();
}
struct stat;
int fstat(int, struct stat*) {
    return unavailable();
}
struct pollfd;
int poll(struct pollfd*, unsigned long, int) {
    return unavailable();
}
long sysconf(int) {
    return unavailable();
}
long syscall(long, ...) {  // getrandom(2) by number
    return unavailable();
}

}  // extern "C"
