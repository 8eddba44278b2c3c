// The GlobalPlatform TEE Internal Core API for the TA's C++ sources: the TA
// dev kit's <tee_internal_api.h> on OP-TEE, ours (tee/softtee/include) in the
// soft TEE. Include this, never the GP header directly.
//
// OP-TEE's headers pull in its <compiler.h>, whose macros have reserved names
// that libstdc++ uses as identifiers (__data, __unused, __packed, __aligned,
// ...), and they declare the API without extern "C" guards. So every C++
// standard header the TA and the core use is included first (a macro defined
// later cannot reach code already read), and the GP API gets C linkage.
// scripts/check-ta-symbols.sh and an OP-TEE build (docs/testing-on-optee.md)
// catch a standard header that is missing here.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

extern "C" {
#include "tee_internal_api.h"
}

namespace teesigner::ta {
// TEE_Panic for code that must be seen not to return (libstdc++'s noreturn
// throw helpers, callbacks that may not carry on): OP-TEE (4.x), like our
// soft-TEE header, does not declare TEE_Panic noreturn, though it never
// returns.
[[noreturn]] inline void panic(TEE_Result code) {
    TEE_Panic(code);
    __builtin_trap();
}
}  // namespace teesigner::ta
