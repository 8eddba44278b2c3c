#!/usr/bin/env bash
# One command for the devnet (docs/devnet.md): builds the signer and the devnet
# node, then runs demo/devnet.mjs: 4 validators on 5 nodes on loopback, two on
# local keystores, two on tee-signer (one of them a redundant pair of nodes),
# a kill -9 of one signer mid-run, and a verdict. Extra arguments go to
# devnet.mjs (--minutes N, --kill-at S, --down-for S, --dir DIR, --keep).
#
# Needs what scripts/install-deps.sh installs, Debian's protobuf-compiler
# (installed here if missing), and rustup's wasm32v1-none target for the
# runtime's WebAssembly (added here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# litep2p's build script compiles protobuf definitions with protoc.
if ! command -v protoc >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get install -y -qq --no-install-recommends protobuf-compiler
fi
if command -v rustup >/dev/null; then
    rustup target list --installed | grep -qx 'wasm32v1-none' ||
        rustup target add wasm32v1-none
fi

cmake --preset default >/dev/null
cmake --build --preset default -j"$(nproc)" --target tee-signer ts-softtee-ta
# The runtime's wasm build looks for the workspace's Cargo.lock from the target
# directory, which may be elsewhere (CARGO_TARGET_DIR).
export WASM_BUILD_WORKSPACE_HINT="$root/node"
(cd node && cargo build --locked -p tee-devnet-node)

target_dir=$(cd node && cargo metadata --format-version 1 --no-deps |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
exec node demo/devnet.mjs --node-bin "$target_dir/debug/tee-devnet-node" \
    --signer-bin "$root/build/cli/tee-signer" "$@"
