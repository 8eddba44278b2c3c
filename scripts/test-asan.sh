#!/usr/bin/env bash
# The whole test suite (unit tests, soft TEE + TA end to end, CLI, Node
# cross-checks) built with AddressSanitizer and UndefinedBehaviorSanitizer
# (preset "asan": Debug, -fsanitize=address,undefined, -fno-sanitize-recover=all,
# warnings as errors). Any sanitizer report fails the test that triggered it.
#
#   scripts/test-asan.sh [extra ctest arguments, e.g. -R SoftTee]
#
# The sanitizer options come from the "asan" test preset (CMakePresets.json):
# leak detection, strict string checks, initialization order, stack
# use-after-return; $ASAN_OPTIONS / $UBSAN_OPTIONS are appended, so what you set
# there wins. The soft TEE's TA process runs in
# its seccomp sandbox in this build too: tee/src/sandbox.cpp lets a sanitizer
# report print completely there and turns LeakSanitizer off for that process
# only (it cannot stop the world inside the sandbox); see its comments.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake --preset asan
cmake --build --preset asan -j"$jobs"
ctest --preset asan -j"$jobs" "$@"
