#!/usr/bin/env bash
# Builds the signer TA for OP-TEE (arm64) against the TA dev kit of an OP-TEE
# build the user made (TA_DEV_KIT_DIR, e.g. <optee_os>/out/arm/export-ta_arm64
# after following OP-TEE's own build documentation; docs/testing-on-optee.md
# section 1): libsodium and libsecp256k1 from Debian's source packages
# (`apt-get source`) cross-built as TA libraries, then ta/Makefile, which
# links and signs 286496c0-e466-46b0-9ef1-8d9e504801d9.ta with the dev kit's
# key. It builds our code only: it neither fetches nor builds OP-TEE.
# Finally it checks the TA's ELF as OP-TEE's loader will see it: OS/ABI
# "UNIX - System V", no STB_GNU_UNIQUE symbol, nothing linked from the
# toolchain's libstdc++.a or libgcc_eh.a.
#
#   TA_DEV_KIT_DIR=<dev kit> bash scripts/build-optee-ta.sh [work-dir]   (default: build-optee-ta)
# Environment:
#   TA_DEV_KIT_DIR (required)         the dev kit (has mk/ta_dev_kit.mk)
#   LIBSODIUM_DIR, SECP256K1_DIR      existing source trees to use instead of
#                                     `apt-get source libsodium libsecp256k1`
#   CROSS_COMPILE=aarch64-linux-gnu-  the toolchain prefix
#   TS_TA_EXTRA_CPPFLAGS              e.g. -DTS_TA_DEV_COMMANDS (test networks only)
# Needs, besides scripts/install-deps.sh's packages: dpkg-dev autoconf automake
# libtool, and deb-src entries in APT's sources (for `apt-get source`).
# Not part of CI (it needs a dev kit).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mkdir -p "${1:-build-optee-ta}" && cd "${1:-build-optee-ta}" && pwd)
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
jobs=$(nproc)

kit=${TA_DEV_KIT_DIR:-}
if [ -z "$kit" ] || [ ! -f "$kit/mk/ta_dev_kit.mk" ]; then
    echo "build-optee-ta: set TA_DEV_KIT_DIR to an OP-TEE TA dev kit (the directory with" \
        "mk/ta_dev_kit.mk, e.g. <optee_os>/out/arm/export-ta_arm64); build OP-TEE as its" \
        "documentation says (docs/testing-on-optee.md, section 1)" >&2
    exit 2
fi
kit=$(cd "$kit" && pwd)

# Debian's source packages of the two libraries (the versions Debian 12 ships
# and the host build links: libsodium 1.0.18, libsecp256k1 0.2.0).
src=$work/src
mkdir -p "$src"
debsrc() {  # debsrc <override dir> <source package>: prints the unpacked tree
    if [ -n "$1" ]; then
        echo "$1"
        return
    fi
    local dir
    dir=$(find "$src" -maxdepth 1 -mindepth 1 -type d -name "$2-*" | head -1)
    if [ -z "$dir" ]; then
        (cd "$src" && apt-get source -qq "$2" >"$work/apt-source-$2.log" 2>&1) || {
            cat "$work/apt-source-$2.log" >&2
            echo "build-optee-ta: apt-get source $2 failed (add deb-src to APT's sources," \
                "apt-get update; or set LIBSODIUM_DIR / SECP256K1_DIR)" >&2
            exit 1
        }
        dir=$(find "$src" -maxdepth 1 -mindepth 1 -type d -name "$2-*" | head -1)
    fi
    echo "$dir"
}
sodium_src=$(debsrc "${LIBSODIUM_DIR:-}" libsodium)
secp_src=$(debsrc "${SECP256K1_DIR:-}" libsecp256k1)
echo "build-optee-ta: dev kit $kit; sources $sodium_src, $secp_src"

# The dev kit's compiler flags for TA code (its mk/conf.mk): position-
# independent, strict alignment, no outline atomics, its stack protector.
ta_cflags="$(sed -n 's/^ta_arm64-platform-cflags := //p' "$kit/mk/conf.mk" | sed 's/-g3//')"
ta_cflags="$ta_cflags -ffunction-sections -fdata-sections"

# 1. libsodium as a TA library. The cache variables keep out what a TA does
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

# 2. libsecp256k1 with the recovery module; its default callbacks are the
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

# 3. The TA: compile, link with the dev kit (libutee, libutils), sign.
ta_out=$work/ta
rm -rf "$ta_out"
make -C "$repo/ta" -j"$jobs" CROSS_COMPILE="$cross" TA_DEV_KIT_DIR="$kit" \
    TS_SODIUM_DIR="$sodium" TS_SECP256K1_DIR="$secp" O="$ta_out" \
    TS_TA_EXTRA_CPPFLAGS="${TS_TA_EXTRA_CPPFLAGS:-}" >"$work/ta.log" 2>&1 ||
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
# OP-TEE's ldelf parses only System V ELF: no STB_GNU_UNIQUE symbol may reach
# the link (ta/sub.mk: -fno-gnu-unique).
elf=$ta_out/286496c0-e466-46b0-9ef1-8d9e504801d9.elf
abi=$("${cross}readelf" -h "$elf" | sed -n 's/^ *OS\/ABI: *//p')
uniq=$("${cross}readelf" -sW "$elf" | awk '$5 == "UNIQUE"' | wc -l)
if [ "$abi" != "UNIX - System V" ] || [ "$uniq" -ne 0 ]; then
    echo "build-optee-ta: $elf has OS/ABI '$abi' and $uniq STB_GNU_UNIQUE symbols;" \
        "OP-TEE would refuse it (Cannot parse ELF)" >&2
    exit 1
fi
echo "build-optee-ta: OK, $ta ($(stat -c %s "$ta") bytes, signed with the dev kit's key)"
