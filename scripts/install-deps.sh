#!/usr/bin/env bash
# Installs everything tee-signer needs on a fresh Debian 12 machine (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential cmake pkg-config git ca-certificates curl \
    g++-aarch64-linux-gnu clang libclang-rt-dev \
    libsodium-dev libsecp256k1-dev libssl-dev \
    nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev \
    libboost-dev libsqlite3-dev libpq-dev libseccomp-dev \
    libgtest-dev libgmock-dev libbenchmark-dev \
    postgresql >/dev/null

# Node.js runs the cross-checks against @polkadot/* and @scure/sr25519.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --prefix tests/node --no-audit --no-fund --loglevel=error

# Rust builds the node-side keystore (node/). A machine with a Rust toolchain
# (cargo 1.85 or newer) keeps it; otherwise Debian's rustc-web/cargo-web carry a
# current rustc (1.96 in bookworm-security) as /usr/bin/rustc and /usr/bin/cargo.
if ! command -v cargo >/dev/null || ! cargo --version | awk '{split($2, v, "."); exit !(v[1] > 1 || v[2] >= 85)}'; then
    $SUDO apt-get install -y -qq --no-install-recommends rustc-web cargo-web >/dev/null
fi
# The crates of node/Cargo.lock, fetched once so that the build and tests run offline.
(cd node && cargo fetch --locked -q)
