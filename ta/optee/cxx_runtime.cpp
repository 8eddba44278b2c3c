// Minimal C++ runtime for the signer TA on OP-TEE: what the compiler and the
// libstdc++ headers reference, on top of the GP API, so that nothing is pulled
// from the toolchain's libstdc++.a (whose members need glibc).
#include <cstddef>
#include <new>
#include <vector>  // declares the std::__throw_* helpers

#include "../src/gp_api.hpp"

void* operator new(std::size_t size) {
    void* p = TEE_Malloc(size != 0 ? size : 1, 0);
    if (p == nullptr) TEE_Panic(TEE_ERROR_OUT_OF_MEMORY);  // no exceptions in a TA
    return p;
}
void* operator new[](std::size_t size) {
    return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return TEE_Malloc(size != 0 ? size : 1, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void operator delete(void* p) noexcept {
    TEE_Free(p);
}
void operator delete[](void* p) noexcept {
    TEE_Free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    TEE_Free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    TEE_Free(p);
}

using teesigner::ta::panic;

namespace std {
const nothrow_t nothrow{};
void __throw_bad_alloc() {
    panic(TEE_ERROR_OUT_OF_MEMORY);
}
void __throw_bad_array_new_length() {
    panic(TEE_ERROR_OUT_OF_MEMORY);
}
void __throw_length_error(const char*) {
    panic(TEE_ERROR_OUT_OF_MEMORY);
}
void __throw_logic_error(const char*) {
    panic(TEE_ERROR_GENERIC);
}
void __throw_out_of_range(const char*) {
    panic(TEE_ERROR_GENERIC);
}
void __throw_out_of_range_fmt(const char*, ...) {
    panic(TEE_ERROR_GENERIC);
}
void __throw_invalid_argument(const char*) {
    panic(TEE_ERROR_GENERIC);
}
}  // namespace std

// Static destructors of globals are registered here; a TA never runs them.
extern "C" {
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) {
    return 0;
}
}
