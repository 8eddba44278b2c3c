#!/usr/bin/env bash
# The whole default test suite: build with warnings as errors, run every test
# (unit tests, CLI tests, Node cross-checks), and prove core/ cross-compiles
# for an aarch64 OP-TEE trusted application that references nothing beyond
# the GP API and a short allow-list (scripts/check-ta-symbols.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$(nproc)"
bash scripts/cross-compile-core.sh
bash scripts/check-ta-symbols.sh
ctest --preset ci -j"$(nproc)"
