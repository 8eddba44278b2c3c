#!/usr/bin/env bash
# Build (clang, libFuzzer + ASan + UBSan) and run every fuzz target for
# SECONDS each (default 60) on its seed corpus. Crashes are left in
# fuzz/artifacts/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
mkdir -p fuzz/artifacts
status=0
for target in build-fuzz/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus="fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
    echo "== $name (${SECONDS_PER_TARGET}s)"
    if ! "$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
            -artifact_prefix=fuzz/artifacts/"$name"- -print_final_stats=1 "$work" 2>"$work.log"; then
        echo "!! $name failed; see fuzz/artifacts and the log below" >&2
        tail -50 "$work.log" >&2
        status=1
    else
        grep -E "stat::number_of_executed_units|cov:" "$work.log" | tail -2
    fi
    rm -rf "$work" "$work.log"
done
exit $status
