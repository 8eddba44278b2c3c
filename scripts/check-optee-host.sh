#!/usr/bin/env bash
# Build the host side (tee-signer with signerd) against the REAL libteec of an
# optee_client checkout, on this machine, and check that it starts far enough
# to ask libteec for a TEE: with no OP-TEE device it must stop with the clear
# "no OP-TEE device" error, not crash. Proves the same host code compiles and
# links against optee-client's tee_client_api.h and libteec.so.
#
#   bash scripts/check-optee-host.sh /path/to/optee_client [build-dir]
#
# Not part of CI: Debian has no optee-client package, and CI does not fetch
# sources from GitHub. optee_client is built in the build directory, outside
# the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
client_src=${1:?usage: check-optee-host.sh OPTEE_CLIENT_DIR [BUILD_DIR]}
build=${2:-build-optee-host}
client_src=$(cd "$client_src" && pwd)
mkdir -p "$build"
build=$(cd "$build" && pwd)

cmake -S "$client_src" -B "$build/optee_client" -DBUILD_SHARED_LIBS=ON -DWITH_TEEACL=OFF >/dev/null
cmake --build "$build/optee_client" -j"$(nproc)" --target teec >/dev/null
libteec=$(find "$build/optee_client" -name 'libteec.so' | head -1)
[ -n "$libteec" ] || { echo "check-optee-host: libteec.so was not built" >&2; exit 1; }

cmake -S . -B "$build/signer" -DCMAKE_BUILD_TYPE=Release -DTS_WERROR=ON -DTS_TEE_BACKEND=optee \
    -DTS_LIBTEEC="$libteec" -DTS_LIBTEEC_INCLUDE="$client_src/libteec/include" \
    -DTS_BUILD_TESTS=OFF -DTS_BUILD_BENCH=OFF >/dev/null
cmake --build "$build/signer" -j"$(nproc)" --target tee-signer >/dev/null
signer=$build/signer/cli/tee-signer
ldd "$signer" | grep -q "libteec.so" || { echo "check-optee-host: tee-signer does not link libteec" >&2; exit 1; }

if ls /dev/tee* >/dev/null 2>&1; then
    echo "check-optee-host: built and linked; this machine has a TEE device, run the signer by hand"
    exit 0
fi
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
set +e
out=$(LD_LIBRARY_PATH=$(dirname "$libteec") timeout 20 "$signer" serve --tee optee \
    --data-dir "$data" --rpc-port 0 --unix-socket "$data/signer.sock" 2>&1)
rc=$?
set -e
if [ "$rc" -eq 1 ] && grep -q "no OP-TEE device" <<<"$out"; then
    rev=$(git -C "$client_src" log -1 --format=%h 2>/dev/null || echo "?")
    echo "check-optee-host: ok (built against optee_client $rev libteec; without a device: $(tail -1 <<<"$out" | sed 's/.*critical //'))"
    exit 0
fi
echo "check-optee-host: unexpected result (exit $rc):" >&2
echo "$out" >&2
exit 1
