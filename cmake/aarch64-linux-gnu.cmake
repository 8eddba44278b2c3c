# CMake toolchain file: cross-build the host side (signerd, tee-signer) for
# arm64 Linux with Debian's cross compiler against Debian's multiarch arm64
# development packages (dpkg --add-architecture arm64; apt-get install
# optee-client-dev:arm64 libsodium-dev:arm64 ...; docs/testing-on-optee.md).
# No sysroot: the arm64 libraries live in /usr/lib/aarch64-linux-gnu, their
# headers in /usr/include and /usr/include/aarch64-linux-gnu, and CMake's
# CMAKE_LIBRARY_ARCHITECTURE makes every find_* look there. Used by the
# `optee-aarch64` preset:
#   cmake --preset optee-aarch64 && cmake --build --preset optee-aarch64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Only arm64 libraries: the host's x86-64 ones must never be found.
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
    /usr/lib/x86_64-linux-gnu/cmake /usr/lib/x86_64-linux-gnu/pkgconfig)
# pkg-config (libsodium, libsecp256k1, libpq): arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# Debian 12's libpq-dev is not Multi-Arch: installing libpq-dev:arm64 removes
# libpq-dev:amd64. Keep the host's libpq-dev (its headers serve both: libpq's
# public headers are the same on every LP64 target) and install only the
# runtime, libpq5:arm64; then this describes it to pkg-config.
if(NOT EXISTS /usr/lib/aarch64-linux-gnu/pkgconfig/libpq.pc
   AND EXISTS /usr/lib/aarch64-linux-gnu/libpq.so.5)
  # In the first build directory this file is read for: try_compile reads it
  # again from scratch directories that do not last.
  if(NOT DEFINED ENV{TS_AARCH64_PC_DIR})
    set(ENV{TS_AARCH64_PC_DIR} "${CMAKE_BINARY_DIR}/aarch64-pkgconfig")
  endif()
  set(_ts_pc "$ENV{TS_AARCH64_PC_DIR}")
  file(MAKE_DIRECTORY "${_ts_pc}")
  file(CREATE_LINK /usr/lib/aarch64-linux-gnu/libpq.so.5 "${_ts_pc}/libpq.so" SYMBOLIC)
  file(WRITE "${_ts_pc}/libpq.pc"
       "Name: libpq\nDescription: libpq5:arm64 with the host's libpq-dev headers\n"
       "Version: 15\nCflags: -I/usr/include/postgresql\n"
       "Libs: -L${_ts_pc} -lpq\n")
  set(ENV{PKG_CONFIG_LIBDIR} "$ENV{PKG_CONFIG_LIBDIR}:${_ts_pc}")
endif()
