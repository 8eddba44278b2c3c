#!/usr/bin/env bash
# Proves that the signer TA, as an OP-TEE TA would be built, references nothing
# outside what a TA may link against: every ta/src/*.cpp and core/src/*.cpp is
# compiled with aarch64-linux-gnu-g++ -std=c++20 -O2 -fno-exceptions -fno-rtti
# against our GP Internal Core API header (tee/softtee/include) and the libsodium /
# libsecp256k1 headers (borrowed from the host: they are architecture
# independent, and only they are put on the include path), then
# aarch64-linux-gnu-nm lists the symbols the objects need but do not define
# themselves. Each must be on the allow-list below, which is printed together
# with every symbol checked and the rule that admitted it.
#
# Two kinds of rules: "platform" symbols come from what the OP-TEE TA dev kit
# links anyway (libutee's GP API, libutils' C library, libgcc) or from the TA
# builds of libsodium and libsecp256k1; "runtime" symbols are the small C++
# runtime the TA must supply itself (TA_CXX_RUNTIME below: operator new/delete
# on TEE_Malloc/TEE_Free, the libstdc++ throw helpers and __cxa_atexit as
# TEE_Panic / no-op). Without it the dev kit would take them from the
# toolchain's libstdc++.a, whose members need glibc (stdio, pthread, open,
# getentropy, ...). A final link step proves the runtime is complete: the
# release objects partially linked with it leave only platform symbols.
#
# The release TA (exactly ta/sub.mk's sources: ta/src/*.cpp + core/src/*.cpp,
# no TS_TA_* definitions) and the development TA (TS_TA_DEV_COMMANDS,
# IMPORT_SURI) are checked. The soft-TEE-only test commands
# (TS_TA_TEST_COMMANDS: socket(), openat(), syscall()) are compiled a third
# time as a self-test: that build MUST be refused, which shows the check
# catches an OS call.
#
# OP-TEE's TA loader (ldelf) also refuses an ELF whose header says OS/ABI
# "GNU" (TEEC_OpenSession: 0xffff0005 TEE_ERROR_BAD_FORMAT, "Cannot parse
# ELF"). The linker writes that value when any input object has an
# STB_GNU_UNIQUE symbol, which g++ emits for inline variables (core's
# `inline constexpr` constants) unless -fno-gnu-unique is given, as ta/sub.mk
# does. So, for the release and development TA: no object may define an
# STB_GNU_UNIQUE symbol (readelf -s), and the objects linked into a
# position-independent executable, as the dev kit links a TA, must carry
# OS/ABI "UNIX - System V" (readelf -h). A second self-test compiles core/src
# with -fgnu-unique (g++'s default, the flags before the fix): that build
# MUST be refused.
#
#   scripts/check-ta-symbols.sh        (CROSS_CXX / CROSS_NM / CROSS_LD / CROSS_READELF override the tools)
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CROSS_CXX:-aarch64-linux-gnu-g++}
NM=${CROSS_NM:-aarch64-linux-gnu-nm}
LD=${CROSS_LD:-aarch64-linux-gnu-ld}
READELF=${CROSS_READELF:-aarch64-linux-gnu-readelf}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/include"
ln -s /usr/include/sodium.h /usr/include/sodium "$out/include/"
ln -s /usr/include/secp256k1*.h "$out/include/"

# name # kind # extended regular expression over the demangled symbol # why it is fine
# (fields are separated by "#", which no pattern uses)
ALLOW=(
    'GP Internal Core API#platform#^TEE_[A-Za-z0-9_]+$#OP-TEE'"'"'s libutee'
    'libsodium#platform#^(crypto_|sodium_)[A-Za-z0-9_]+$#libsodium cross-built as a TA library'
    'libsecp256k1#platform#^secp256k1_[A-Za-z0-9_]+$#libsecp256k1 cross-built as a TA library'
    'libc memory#platform#^(memcpy|memmove|memset|memcmp|strlen)$#OP-TEE'"'"'s libutils'
    'AArch64 outline atomics#platform#^__aarch64_(cas|swp|ldadd|ldclr|ldeor|ldset)(1|2|4|8|16)_(relax|acq|rel|acq_rel|sync)$#libgcc (-moutline-atomics); the dev kit links libgcc'
    'GOT base#platform#^_GLOBAL_OFFSET_TABLE_$#defined by the linker for -fpic code'
    'libgcc integer helpers#platform#^__(multi3|udivti3|divti3|umodti3|modti3)$#libgcc (128-bit arithmetic)'
    'operator new/delete#runtime#^(operator (new|delete)(\[\])?\(.*\)|std::nothrow)$#TA_CXX_RUNTIME: TEE_Malloc/TEE_Free, TEE_Panic when out of memory'
    'libstdc++ throw helpers#runtime#^std::__throw_[a-z_]+\(.*\)$#TA_CXX_RUNTIME: TEE_Panic (libstdc++ containers call them on misuse or OOM)'
    'static destructors#runtime#^(__cxa_atexit|__dso_handle)$#TA_CXX_RUNTIME: no-op (a TA'"'"'s static destructors need not run)'
)

# The C++ runtime the TA supplies itself (see the top of this file and
# docs/testing-on-optee.md, "The C++ runtime a TA needs"): ta/optee/cxx_runtime.cpp,
# compiled into the OP-TEE TA by ta/sub.mk and never into the soft TEE (which
# runs on the host's libstdc++).
TA_CXX_RUNTIME=ta/optee/cxx_runtime.cpp  # listed in ta/sub.mk; OP-TEE builds only

echo "Allow-list (what a TA may reference):"
for entry in "${ALLOW[@]}"; do
    IFS='#' read -r name kind pattern why <<<"$entry"
    printf '  %-24s %-8s %-56s %s\n' "$name" "$kind" "$pattern" "$why"
done

# How every TA source is compiled here, as ta/sub.mk builds it for OP-TEE (our
# GP header standing in for the dev kit's).
# -fpic as the dev kit compiles TA code (its mk/conf.mk), -fno-gnu-unique as
# ta/sub.mk adds it.
ta_cxx=("$CXX" -std=c++20 -O2 -fpic -fno-exceptions -fno-rtti -fno-gnu-unique -Wall -Wextra
    -Ita/include -Itee/softtee/include -Ita/src -Icore/include -I"$out/include")

# compile <dir> <sources...> -- <extra flags...>: objects into <dir>, named
# <top directory>-<file>.o, in parallel.
compile() {
    local dir=$1
    shift
    local srcs=()
    while [ "$1" != "--" ]; do
        srcs+=("$1")
        shift
    done
    shift
    mkdir -p "$dir"
    printf '%s\n' "${srcs[@]}" | xargs -P "$(nproc)" -I{} sh -c '
        src=$1; shift; dir=$1; shift
        top=${src%%/*}
        exec "$@" -c "$src" -o "$dir/$top-$(basename "$src" .cpp).o"' _ {} "$dir" \
        "${ta_cxx[@]}" "$@"
}

# variant <dir> <flags...>: the TA sources with <flags>, plus the shared core objects.
variant() {
    local dir=$1
    shift
    compile "$dir" ta/src/*.cpp -- "$@"
    ln -s "$out"/core/*.o "$dir/"
}

# users_of <dir> <symbol>: the objects that reference <symbol> (from <dir>.refs,
# "object<TAB>symbol" lines written by check).
users_of() {
    awk -F '\t' -v s="$2" '$2 == s { printf "%s ", $1 }' "$1.refs"
}

# undefined <objects...>: the symbols the objects need and do not define, one a line.
undefined() {
    "$NM" -C --defined-only -g "$@" 2>/dev/null | awk 'NF >= 3 { $1 = ""; $2 = ""; sub(/^  /, ""); print }' |
        sort -u >"$out/defined.tmp"
    "$NM" -C -u "$@" | awk '$1 == "U" || $1 == "w" { $1 = ""; sub(/^ /, ""); print }' | sort -u |
        comm -23 - "$out/defined.tmp"
}

# rule_for <symbol> [platform]: the name of the first rule admitting <symbol>
# (with "platform", only platform rules count); empty when none does.
rule_for() {
    local sym=$1 only=${2:-} entry name kind pattern why
    for entry in "${ALLOW[@]}"; do
        IFS='#' read -r name kind pattern why <<<"$entry"
        [ -n "$only" ] && [ "$kind" != "$only" ] && continue
        if [[ "$sym" =~ $pattern ]]; then
            echo "$name"
            return
        fi
    done
}

# check <dir> <label>: 0 when every unresolved symbol is allowed.
check() {
    local dir=$1 label=$2
    undefined "$dir"/*.o >"$dir.needed"
    local obj
    : >"$dir.refs"
    for obj in "$dir"/*.o; do
        "$NM" -C -u "$obj" | awk -v o="$(basename "$obj" .o)" \
            '{ $1 = ""; sub(/^ /, ""); print o "\t" $0 }' >>"$dir.refs"
    done
    local bad=0 sym hit
    echo
    echo "== $label: $(wc -l <"$dir.needed") external symbols"
    while IFS= read -r sym; do
        hit=$(rule_for "$sym")
        if [ -n "$hit" ]; then
            printf '  ok   %-26s %s\n' "$hit" "$sym"
        else
            printf '  FAIL %-26s %s\n' "NOT ALLOWED" "$sym"
            printf '       used by: %s\n' "$(users_of "$dir" "$sym")"
            bad=1
        fi
    done <"$dir.needed"
    return $bad
}

# closure <dir> <label>: the objects partially linked with TA_CXX_RUNTIME must
# leave platform symbols only (the runtime covers every C++ runtime need).
closure() {
    local dir=$1 label=$2 sym bad=0
    "$LD" -r -o "$dir.linked.o" "$dir"/*.o "$out/runtime/ta_cxx_runtime.o"
    undefined "$dir.linked.o" >"$dir.closure"
    echo
    echo "== $label linked with TA_CXX_RUNTIME: $(wc -l <"$dir.closure") external symbols, all must be platform"
    while IFS= read -r sym; do
        if [ -z "$(rule_for "$sym" platform)" ]; then
            printf '  FAIL %-26s %s\n' "NOT PLATFORM" "$sym"
            bad=1
        fi
    done <"$dir.closure"
    [ $bad -eq 0 ] && echo "  ok: the runtime leaves nothing for libstdc++.a to provide"
    return $bad
}

# elf_abi <dir> <label>: 0 when no object in <dir> has an STB_GNU_UNIQUE symbol
# and the objects with TA_CXX_RUNTIME, linked as a PIE like a TA (unresolved
# platform symbols left open), give an ELF with OS/ABI "UNIX - System V".
elf_abi() {
    local dir=$1 label=$2 bad=0 obj uniq abi
    echo
    echo "== $label: STB_GNU_UNIQUE symbols, OS/ABI of the TA-like link"
    for obj in "$dir"/*.o; do
        uniq=$("$READELF" -sW -C "$obj" |
            awk '$5 == "UNIQUE" { $1 = $2 = $3 = $4 = $5 = $6 = $7 = ""; sub(/^ +/, ""); print }')
        if [ -n "$uniq" ]; then
            printf '  FAIL %-26s %s: %s\n' "STB_GNU_UNIQUE" "$(basename "$obj" .o)" "$(paste -sd, <<<"$uniq")"
            bad=1
        fi
    done
    [ $bad -eq 0 ] && echo "  ok   no object defines an STB_GNU_UNIQUE symbol"
    "$LD" -pie --no-dynamic-linker -e 0 --unresolved-symbols=ignore-all -z max-page-size=4096 \
        -o "$dir.ta.elf" "$dir"/*.o "$out/runtime/ta_cxx_runtime.o"
    abi=$("$READELF" -h "$dir.ta.elf" | sed -n 's/^ *OS\/ABI: *//p')
    if [ "$abi" = "UNIX - System V" ]; then
        echo "  ok   OS/ABI of the linked TA-like ELF: $abi"
    else
        echo "  FAIL OS/ABI of the linked TA-like ELF: $abi (OP-TEE's ldelf accepts UNIX - System V only)"
        bad=1
    fi
    return $bad
}

status=0
mkdir -p "$out/runtime"
"${ta_cxx[@]}" -Werror -c "$TA_CXX_RUNTIME" -o "$out/runtime/ta_cxx_runtime.o"
compile "$out/core" core/src/*.cpp --
variant "$out/release"
check "$out/release" "release TA (ta/src + core/src)" || status=1
closure "$out/release" "release TA" || status=1
elf_abi "$out/release" "release TA" || status=1
variant "$out/dev" -DTS_TA_DEV_COMMANDS
check "$out/dev" "development TA (TS_TA_DEV_COMMANDS)" || status=1
closure "$out/dev" "development TA" || status=1
elf_abi "$out/dev" "development TA" || status=1

# Self-test: the soft-TEE sandbox test commands make OS calls and must be caught.
variant "$out/selftest" -DTS_TA_DEV_COMMANDS -DTS_TA_TEST_COMMANDS
if check "$out/selftest" "self-test: soft-TEE test commands (must FAIL)" >"$out/selftest.log"; then
    cat "$out/selftest.log"
    echo "self-test failed: OS calls of TS_TA_TEST_COMMANDS were not caught" >&2
    status=1
else
    echo
    echo "== self-test: the soft-TEE test-command build is refused, as it must be:"
    grep FAIL "$out/selftest.log"
fi

# Self-test: g++'s default (-fgnu-unique, the TA's flags before ta/sub.mk
# added -fno-gnu-unique) gives core's inline constants STB_GNU_UNIQUE binding
# and the TA OS/ABI "GNU": the check must refuse it.
compile "$out/unique" core/src/*.cpp -- -fgnu-unique
if elf_abi "$out/unique" "self-test: core/src with -fgnu-unique (must FAIL)" >"$out/unique.log"; then
    cat "$out/unique.log"
    echo "self-test failed: STB_GNU_UNIQUE symbols / OS/ABI GNU were not caught" >&2
    status=1
else
    echo
    echo "== self-test: the build without -fno-gnu-unique is refused, as it must be:"
    grep FAIL "$out/unique.log"
fi

# OP-TEE's GP headers come with its <compiler.h>, whose macros have names
# libstdc++ uses as identifiers; a TA source that includes a standard header
# after the GP API (ta/src/gp_api.hpp) breaks only against the real dev kit.
# Here a stand-in for the dev kit's tee_internal_api.h defines those macros
# after ours, and every TA source (ta/optee's included) must still compile.
mkdir -p "$out/optee-macros"
cat >"$out/optee-macros/tee_internal_api.h" <<'HDR'
#include_next "tee_internal_api.h"
/* As OP-TEE's <compiler.h> (4.x) defines them. */
#define __deprecated __attribute__((deprecated))
#define __packed __attribute__((packed))
#define __weak __attribute__((weak))
#define __noreturn __attribute__((__noreturn__))
#define __pure __attribute__((pure))
#define __aligned(x) __attribute__((aligned(x)))
#define __noinline __attribute__((noinline))
#define __unused __attribute__((unused))
#define __maybe_unused __attribute__((unused))
#define __used __attribute__((__used__))
#define __must_check __attribute__((warn_unused_result))
#define __cold __attribute__((__cold__))
#define __section(x) __attribute__((section(x)))
#define __data __section(".data")
#define __bss __section(".bss")
#define __rodata __section(".rodata")
HDR
if printf '%s\n' ta/src/*.cpp ta/optee/*.cpp | xargs -P "$(nproc)" -I{} \
    "$CXX" -I"$out/optee-macros" "${ta_cxx[@]:1}" -Werror -fsyntax-only {}; then
    echo
    echo "== TA sources compile with OP-TEE's <compiler.h> macros after the GP API: ok"
else
    echo "check-ta-symbols: a TA source includes a standard header after the GP API" \
        "(include ta/src/gp_api.hpp first, and list the header there)" >&2
    status=1
fi

for obj in "$out"/release/*.o; do  # readelf, not file(1), which a fresh machine may lack
    "$READELF" -h "$obj" | grep -q 'Machine: *AArch64' || { echo "not an aarch64 object: $obj" >&2; status=1; }
done
echo
if [ $status -eq 0 ]; then
    echo "check-ta-symbols: OK (release and development TA reference only allowed symbols)"
else
    echo "check-ta-symbols: FAILED" >&2
fi
exit $status
