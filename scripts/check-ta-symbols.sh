#!/usr/bin/env bash
# Proves that the signer TA, as an OP-TEE TA would be built, references nothing
# outside what a TA may link against: every ta/src/*.cpp and core/src/*.cpp is
# compiled with aarch64-linux-gnu-g++ -std=c++20 -O2 -fno-exceptions -fno-rtti
# against our GP Internal Core API header (ta/include) and the libsodium /
# libsecp256k1 headers (borrowed from the host: they are architecture
# independent, and only they are put on the include path), then
# aarch64-linux-gnu-nm lists the symbols the objects need but do not define
# themselves. Each must be on the allow-list below, which is printed together
# with every symbol checked and the rule that admitted it.
#
# Built twice: the release TA and the development TA (TS_TA_DEV_COMMANDS,
# IMPORT_SURI). The soft-TEE-only test commands (TS_TA_TEST_COMMANDS: socket(),
# openat(), syscall()) are compiled a third time as a self-test: that build
# MUST be refused, which shows the check catches an OS call.
#
#   scripts/check-ta-symbols.sh        (CROSS_CXX / CROSS_NM override the tools)
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CROSS_CXX:-aarch64-linux-gnu-g++}
NM=${CROSS_NM:-aarch64-linux-gnu-nm}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/include"
ln -s /usr/include/sodium.h /usr/include/sodium "$out/include/"
ln -s /usr/include/secp256k1*.h "$out/include/"

# name # extended regular expression over the demangled symbol # why it is fine
# (fields are separated by "#", which no pattern uses)
ALLOW=(
    'GP Internal Core API#^TEE_[A-Za-z0-9_]+$#provided by OP-TEE'"'"'s libutee'
    'libsodium#^(crypto_|sodium_|randombytes_)[A-Za-z0-9_]+$#libsodium cross-built as a TA library'
    'libsecp256k1#^secp256k1_[A-Za-z0-9_]+$#libsecp256k1 cross-built as a TA library'
    'libc memory#^(memcpy|memmove|memset|memcmp|strlen)$#libutils (OP-TEE'"'"'s libc)'
    'operator new/delete#^(operator (new|delete)(\[\])?\(.*\)|std::nothrow)$#C++ TA support on TEE_Malloc/TEE_Free; with -fno-exceptions a failed new must panic'
    'C++ ABI runtime#^__cxa_(pure_virtual|guard_acquire|guard_release|guard_abort|atexit)$#C++ TA support (function-local statics, virtual calls, static destructors)'
    'DSO handle#^__dso_handle$#static destructors (with __cxa_atexit)'
    'libstdc++ throw helpers#^std::__throw_[a-z_]+\(.*\)$#called by libstdc++ containers on misuse or OOM; a TA must provide them as panics (no exceptions in a TA)'
    'stack protector#^__stack_chk_(fail|guard)$#CFG_TA_STACK_PROTECTOR / the toolchain'"'"'s default -fstack-protector'
    'AArch64 outline atomics#^__aarch64_(cas|swp|ldadd|ldclr|ldeor|ldset)(1|2|4|8|16)_(relax|acq|rel|acq_rel|sync)$#libgcc helpers for -moutline-atomics (GCC >= 10 default)'
    'libgcc integer helpers#^__(aeabi_[a-z0-9]+|multi3|udivti3|divti3|umodti3|modti3)$#libgcc (128-bit arithmetic; 32-bit ARM EABI)'
)

echo "Allow-list (what a TA may reference):"
for entry in "${ALLOW[@]}"; do
    IFS='#' read -r name pattern why <<<"$entry"
    printf '  %-26s %-60s %s\n' "$name" "$pattern" "$why"
done

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
        "$CXX" -std=c++20 -O2 -fno-exceptions -fno-rtti -Wall -Wextra \
        -Ita/include -Ita/src -Icore/include -I"$out/include" "$@"
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

# check <dir> <label>: 0 when every unresolved symbol is allowed.
check() {
    local dir=$1 label=$2
    "$NM" -C --defined-only -g "$dir"/*.o 2>/dev/null | awk 'NF >= 3 { $1 = ""; $2 = ""; sub(/^  /, ""); print }' |
        sort -u >"$dir.defined"
    "$NM" -C -u "$dir"/*.o | awk '$1 == "U" || $1 == "w" { $1 = ""; sub(/^ /, ""); print }' | sort -u >"$dir.undefined"
    comm -23 "$dir.undefined" "$dir.defined" >"$dir.needed"
    local obj
    : >"$dir.refs"
    for obj in "$dir"/*.o; do
        "$NM" -C -u "$obj" | awk -v o="$(basename "$obj" .o)" \
            '{ $1 = ""; sub(/^ /, ""); print o "\t" $0 }' >>"$dir.refs"
    done
    local bad=0 sym entry name pattern why hit
    echo
    echo "== $label: $(wc -l <"$dir.needed") external symbols"
    while IFS= read -r sym; do
        hit=""
        for entry in "${ALLOW[@]}"; do
            IFS='#' read -r name pattern why <<<"$entry"
            if [[ "$sym" =~ $pattern ]]; then
                hit=$name
                break
            fi
        done
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

status=0
compile "$out/core" core/src/*.cpp --
variant "$out/release"
check "$out/release" "release TA (ta/src + core/src)" || status=1
variant "$out/dev" -DTS_TA_DEV_COMMANDS
check "$out/dev" "development TA (TS_TA_DEV_COMMANDS)" || status=1

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

file -L "$out"/release/*.o | grep -v "ARM aarch64" && { echo "non-aarch64 object produced" >&2; status=1; }
echo
if [ $status -eq 0 ]; then
    echo "check-ta-symbols: OK (release and development TA reference only allowed symbols)"
else
    echo "check-ta-symbols: FAILED" >&2
fi
exit $status
