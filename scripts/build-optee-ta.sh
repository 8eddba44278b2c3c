#!/usr/bin/env bash
# Builds the signer TA for OP-TEE (arm64) with a real TA dev kit, the way
# docs/testing-on-optee.md sections 2 and 4 describe: OP-TEE's ta_dev_kit from
# optee_os, libsodium and libsecp256k1 cross-built as TA libraries, then
# ta/Makefile, which links and signs 286496c0-e466-46b0-9ef1-8d9e504801d9.ta.
# It proves that the TA compiles and links against OP-TEE's own headers and
# libraries (libutee, libutils), not that it runs: that needs OP-TEE itself
# (QEMU or a board, docs/testing-on-optee.md section 1).
#
#   bash scripts/build-optee-ta.sh [work-dir]        (default: build-optee-ta)
# Environment:
#   OPTEE_OS_DIR, LIBSODIUM_DIR, SECP256K1_DIR  existing source trees to use;
#                         otherwise the pinned tags below are cloned from GitHub
#   CROSS_COMPILE=aarch64-linux-gnu-            the toolchain prefix
#   OPTEE_PLATFORM=vexpress-qemu_armv8a         whose dev kit to build
# Not part of CI (it needs the three source trees, which CI would have to
# download). Needs, besides scripts/install-deps.sh's packages:
#   apt-get install autoconf automake libtool python3-cryptography python3-pyelftools
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mkdir -p "${1:-build-optee-ta}" && cd "${1:-build-optee-ta}" && pwd)
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
platform=${OPTEE_PLATFORM:-vexpress-qemu_armv8a}
jobs=$(nproc)

# Versions this was first built with (30 November 2026): the latest OP-TEE
# release, and the libsodium / libsecp256k1 releases Debian 12 ships.
optee_tag=4.9.0
sodium_tag=1.0.18-RELEASE
secp_tag=v0.2.0

fetch() {  # fetch <dir-variable-value> <url> <tag> <dest>
    if [ -n "$1" ]; then
        echo "$1"
        return
    fi
    if [ ! -d "$4" ]; then
        git clone -q --depth 1 --branch "$3" "$2" "$4" >&2
    fi
    echo "$4"
}
optee_os=$(fetch "${OPTEE_OS_DIR:-}" https://github.com/OP-TEE/optee_os.git "$optee_tag" "$work/optee_os")
sodium_src=$(fetch "${LIBSODIUM_DIR:-}" https://github.com/jedisct1/libsodium.git "$sodium_tag" "$work/libsodium")
secp_src=$(fetch "${SECP256K1_DIR:-}" https://github.com/bitcoin-core/secp256k1.git "$secp_tag" "$work/secp256k1")

# 1. The TA dev kit (headers, libutee, libutils, link scripts, signing key).
kit_out=$work/optee-out
make -s -C "$optee_os" -j"$jobs" O="$kit_out" PLATFORM="$platform" CFG_ARM64_core=y \
    CFG_USER_TA_TARGETS=ta_arm64 CROSS_COMPILE="$cross" CROSS_COMPILE64="$cross" \
    CROSS_COMPILE_ta_arm64="$cross" ta_dev_kit >"$work/dev-kit.log" 2>&1 ||
    { tail -30 "$work/dev-kit.log"; exit 1; }
kit=$kit_out/export-ta_arm64
echo "build-optee-ta: dev kit in $kit"

# The dev kit's compiler flags for TA code (its mk/conf.mk): position-
# independent, strict alignment, no outline atomics, its stack protector.
ta_cflags="$(sed -n 's/^ta_arm64-platform-cflags := //p' "$kit/mk/conf.mk" | sed 's/-g3//')"
ta_cflags="$ta_cflags -ffunction-sections -fdata-sections"

# 2. libsodium as a TA library. The cache variables keep out what a TA does
# not have (mmap, mlock, getrandom, ...): libsodium then uses its portable
# paths; glibc's fortified wrappers are off for the same reason.
# platform_stubs.cpp in ta/optee covers what is left.
sodium=$work/sodium-ta
if [ ! -f "$sodium/lib/libsodium.a" ]; then
    (
        cd "$sodium_src"
        [ -x configure ] || ./autogen.sh -s
        ./configure --host="${cross%-}" CC="${cross}gcc" CFLAGS="$ta_cflags" \
            CPPFLAGS="-D_FORTIFY_SOURCE=0" \
            ac_cv_func_mmap=no ac_cv_func_mlock=no ac_cv_func_madvise=no \
            ac_cv_func_mprotect=no ac_cv_func_getrandom=no ac_cv_func_getentropy=no \
            ac_cv_func_explicit_bzero=no ac_cv_func_arc4random=no \
            ac_cv_func_arc4random_buf=no ac_cv_func_posix_memalign=no \
            --disable-shared --enable-static --disable-pie --disable-ssp --prefix="$sodium"
        make -j"$jobs"
        make install
    ) >"$work/libsodium.log" 2>&1 || { tail -30 "$work/libsodium.log"; exit 1; }
fi

# 3. libsecp256k1 with the recovery module; its default callbacks are the
# TA's (they panic); small precomputed tables.
secp=$work/secp256k1-ta
if [ ! -f "$secp/lib/libsecp256k1.a" ]; then
    (
        cd "$secp_src"
        [ -x configure ] || ./autogen.sh
        ./configure --host="${cross%-}" CC="${cross}gcc" CFLAGS="$ta_cflags" \
            --disable-shared --enable-static --enable-module-recovery \
            --disable-tests --disable-exhaustive-tests --disable-benchmark \
            --enable-external-default-callbacks --with-ecmult-window=4 \
            --with-ecmult-gen-precision=2 --prefix="$secp"
        make -j"$jobs"
        make install
    ) >"$work/libsecp256k1.log" 2>&1 || { tail -30 "$work/libsecp256k1.log"; exit 1; }
fi

# 4. The TA: compile, link with the dev kit (libutee, libutils), sign.
ta_out=$work/ta
rm -rf "$ta_out"
make -C "$repo/ta" -j"$jobs" CROSS_COMPILE="$cross" TA_DEV_KIT_DIR="$kit" \
    TS_SODIUM_DIR="$sodium" TS_SECP256K1_DIR="$secp" O="$ta_out" >"$work/ta.log" 2>&1 ||
    { grep -E "error|undefined" "$work/ta.log" | head -40; exit 1; }
ta=$ta_out/286496c0-e466-46b0-9ef1-8d9e504801d9.ta
[ -s "$ta" ] || { echo "build-optee-ta: no $ta" >&2; exit 1; }

# Nothing from the toolchain's libstdc++.a or libgcc_eh.a (built for glibc)
# may be linked in: the TA brings its own small runtime (ta/optee).
map=$ta_out/286496c0-e466-46b0-9ef1-8d9e504801d9.map
if sed -n '/^Archive member included/,/^Discarded/p' "$map" | grep -qE 'lib(stdc\+\+|gcc_eh)\.a\('; then
    echo "build-optee-ta: the TA links members of libstdc++.a or libgcc_eh.a:" >&2
    sed -n '/^Archive member included/,/^Discarded/p' "$map" | grep -E 'lib(stdc\+\+|gcc_eh)\.a\(' >&2
    exit 1
fi
echo "build-optee-ta: OK, $ta ($(stat -c %s "$ta") bytes, signed with the dev kit's key)"
