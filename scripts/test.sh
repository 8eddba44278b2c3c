#!/usr/bin/env bash
# The whole default test suite: build with warnings as errors, run every test
# (unit tests, CLI tests, Node cross-checks), and prove core/ cross-compiles
# for an aarch64 OP-TEE trusted application.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$(nproc)"
bash scripts/cross-compile-core.sh
ctest --preset ci -j"$(nproc)"
