#!/usr/bin/env bash
# Compiles every core/ source with aarch64-linux-gnu-g++ as it would be built
# for an OP-TEE TA: no exceptions, no RTTI. Only the libsodium and
# libsecp256k1 headers are borrowed from the host (they are architecture
# independent); the host's other headers are kept out of the include path.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CROSS_CXX:-aarch64-linux-gnu-g++}
READELF=${CROSS_READELF:-aarch64-linux-gnu-readelf}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/include"
ln -s /usr/include/sodium.h /usr/include/sodium "$out/include/"
ln -s /usr/include/secp256k1*.h "$out/include/"
count=0
for src in core/src/*.cpp; do
    "$CXX" -std=c++20 -O2 -fno-exceptions -fno-rtti -Wall -Wextra -Werror \
        -Icore/include -I"$out/include" -c "$src" -o "$out/$(basename "$src" .cpp).o"
    count=$((count + 1))
done
for obj in "$out"/*.o; do  # readelf, not file(1), which a fresh machine may lack
    "$READELF" -h "$obj" | grep -q 'Machine: *AArch64' || { echo "not an aarch64 object: $obj" >&2; exit 1; }
done
echo "cross-compiled $count core sources for aarch64"
