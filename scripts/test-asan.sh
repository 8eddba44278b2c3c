#!/usr/bin/env bash
# The test suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (preset "asan": Debug, -fsanitize=address,undefined, -fno-sanitize-recover=all,
# warnings as errors). Any sanitizer report fails the test that triggered it.
#
#   scripts/test-asan.sh [extra ctest arguments, e.g. -R SoftTee]
#       everything: unit tests, soft TEE + TA end to end, CLI, Node cross-checks
#   scripts/test-asan.sh --ci [extra ctest arguments]
#       what CI runs (.ci/run): builds only the unit test executables
#       (tests/unit/test_*.cpp) and the TEE tests (test_softtee, test_batch_tee,
#       test_protection_tee, with both TA process binaries), and runs every
#       GoogleTest case of them (ctest -R '\.': GoogleTest names are
#       Suite.Name; the Node, CLI and database tests have no dot in their names).
#
# The sanitizer options come from the "asan" test preset (CMakePresets.json):
# leak detection, strict string checks, initialization order, stack
# use-after-return; $ASAN_OPTIONS / $UBSAN_OPTIONS are appended, so what you set
# there wins. The soft TEE's TA process runs in its seccomp sandbox in this
# build too: tee/softtee/sandbox.cpp lets a sanitizer report print completely there
# and turns LeakSanitizer off for that process only (it cannot stop the world
# inside the sandbox); see its comments.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
start=$SECONDS
if [ "${1:-}" = "--ci" ]; then
    shift
    targets=(test_softtee test_protection_tee test_batch_tee)
    for src in tests/unit/test_*.cpp; do
        name=$(basename "$src" .cpp)
        [ "$name" = test_main ] && continue  # the shared gtest main, not a test
        targets+=("$name")
    done
    cmake --preset asan >/dev/null
    cmake --build --preset asan -j"$jobs" --target "${targets[@]}"
    echo "test-asan: built ${#targets[@]} test executables in $((SECONDS - start))s"
    ctest --preset asan -j"$jobs" -R '\.' "$@"
else
    cmake --preset asan
    cmake --build --preset asan -j"$jobs"
    echo "test-asan: built in $((SECONDS - start))s"
    ctest --preset asan -j"$jobs" "$@"
fi
echo "test-asan: passed in $((SECONDS - start))s"
