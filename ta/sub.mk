# Sources of the tee-signer TA for the OP-TEE TA dev kit: the TA itself and the
# trusted core library (pure C++, no OS calls). Release builds leave out the
# development and test commands (TS_TA_DEV_COMMANDS, TS_TA_TEST_COMMANDS).
# include/ has the TA's command interface only; the GP headers are the dev
# kit's (ours, for the soft TEE, are in ../tee/softtee/include and stay off the path).
global-incdirs-y += include
global-incdirs-y += ../core/include
# Absolute paths: global-incdirs_ext-y (global-incdirs-y is relative to here).
ifneq ($(TS_SODIUM_DIR),)
global-incdirs_ext-y += $(TS_SODIUM_DIR)/include
endif
ifneq ($(TS_SECP256K1_DIR),)
global-incdirs_ext-y += $(TS_SECP256K1_DIR)/include
endif

cxxflags-y += -std=c++20 -fno-exceptions -fno-rtti
# No STB_GNU_UNIQUE symbols: g++ emits them for inline variables (core's
# `inline constexpr` key types, magics, engine ids), and one such symbol makes
# the linked TA's ELF header say OS/ABI "GNU", which OP-TEE's ldelf refuses
# ("Cannot parse ELF", TEE_ERROR_BAD_FORMAT at TEEC_OpenSession). A TA is one
# image, never dlopen'ed twice, so the GNU extension buys nothing here.
# scripts/check-ta-symbols.sh checks both (symbols and OS/ABI) in CI.
cxxflags-y += -fno-gnu-unique
# The dev kit compiles with -nostdinc, which also drops the C++ standard
# library's headers. The TA uses their header-only parts (containers,
# algorithms, <optional>); scripts/check-ta-symbols.sh proves that nothing
# from the compiled libstdc++ nor from the C library beyond what libutils has
# is referenced, compiling exactly as here: libstdc++'s headers with the
# toolchain's C headers under them (libstdc++ is configured for that C
# library, and reaches its headers with #include_next), then the dev kit's
# headers (the GP API) as system headers. The compiler names these
# directories; the host's own /usr/include (a cross compiler lists it) and
# the compiler's private include directory (already on the dev kit's line)
# are left out.
ts-cxx := $(or $(CXX$(sm)),$(CROSS_COMPILE)g++)
ts-cxx-private := $(shell $(ts-cxx) -print-file-name=include)
ts-cxx-incdirs := $(filter-out /usr/include /usr/local/include $(ts-cxx-private), \
	$(abspath $(shell echo | $(ts-cxx) -xc++ -E -v - 2>&1 | \
		sed -n '/^\#include <...> search starts here:/,/^End of search list/s,^ \(/.*\),\1,p')))
cxxflags-y += $(addprefix -isystem ,$(ts-cxx-incdirs)) -isystem $(TA_DEV_KIT_DIR)/include

srcs-y += src/signer_ta.cpp
srcs-y += src/keystore.cpp
srcs-y += src/protection_store.cpp
# operator new/delete on TEE_Malloc, libstdc++'s throw helpers as TEE_Panic: so
# nothing is taken from the toolchain's libstdc++.a (scripts/check-ta-symbols.sh).
srcs-y += optee/cxx_runtime.cpp
# What libsodium and libsecp256k1 need from a platform and libutils lacks:
# failing stand-ins (docs/testing-on-optee.md, section 2).
srcs-y += optee/platform_stubs.cpp

# The core library (every core/src/*.cpp).
core-srcs := $(notdir $(wildcard $(sub-dir)/../core/src/*.cpp))
srcs-y += $(addprefix ../core/src/,$(core-srcs))

# Static libsodium / libsecp256k1 cross-built for the TA.
ifneq ($(TS_SODIUM_DIR),)
libdirs += $(TS_SODIUM_DIR)/lib
libnames += sodium
endif
ifneq ($(TS_SECP256K1_DIR),)
libdirs += $(TS_SECP256K1_DIR)/lib
libnames += secp256k1
endif
