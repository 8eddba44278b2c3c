# Sources of the tee-signer TA for the OP-TEE TA dev kit: the TA itself and the
# trusted core library (pure C++, no OS calls). Release builds leave out the
# development and test commands (TS_TA_DEV_COMMANDS, TS_TA_TEST_COMMANDS).
global-incdirs-y += include
global-incdirs-y += ../core/include
ifneq ($(TS_SODIUM_DIR),)
global-incdirs-y += $(TS_SODIUM_DIR)/include
endif
ifneq ($(TS_SECP256K1_DIR),)
global-incdirs-y += $(TS_SECP256K1_DIR)/include
endif

cxxflags-y += -std=c++20 -fno-exceptions -fno-rtti

srcs-y += src/signer_ta.cpp
srcs-y += src/keystore.cpp
srcs-y += src/protection_store.cpp
# operator new/delete on TEE_Malloc, libstdc++'s throw helpers as TEE_Panic: so
# nothing is taken from the toolchain's libstdc++.a (scripts/check-ta-symbols.sh).
srcs-y += optee/cxx_runtime.cpp

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
