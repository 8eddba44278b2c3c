#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan; preset "fuzz") and run each
# for SECONDS (default 60) on a scratch copy of its seed corpus
# fuzz/corpus/<name>/ plus its saved reproducers fuzz/regressions/<name>/ (the
# files in the repository are left untouched).
#
#   fuzz/run.sh [SECONDS] [FILTER]
#
# FILTER (an extended regular expression, e.g. "ta_|sealed" or "scale") selects
# targets by name without the fuzz_ prefix. Environment:
#   TS_FUZZ_JOBS=N        run N targets at a time (default 1; libFuzzer itself
#                         uses one core per target)
#   TS_FUZZ_NO_BUILD=1    skip the build step
#   TS_FUZZ_KEEP_CORPUS=1 merge newly found inputs back into fuzz/corpus/<name>/
#   TS_FUZZ_LOG_DIR=DIR   keep each target's libFuzzer log as DIR/<name>.log
# A crash, leak, timeout or broken invariant leaves the input in
# fuzz/artifacts/<target>-crash-*, prints the end of the log and makes the
# script fail. Replay one with: build-fuzz/fuzz/<target> fuzz/artifacts/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
FILTER=${2:-}
JOBS=${TS_FUZZ_JOBS:-1}

if [ -z "${TS_FUZZ_NO_BUILD:-}" ]; then
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j"$(nproc)"
fi
mkdir -p fuzz/artifacts
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

max_len_for() {
    case "$1" in
        jsonrpc | softtee_frame) echo 65536 ;;  # whole request bodies / frame streams
        *) echo 4096 ;;
    esac
}

run_one() {
    local target=$1 name
    name=$(basename "$target")
    local short=${name#fuzz_}
    local work="$results/$short"
    mkdir -p "$work/corpus"
    [ -d "fuzz/corpus/$short" ] && cp -r "fuzz/corpus/$short/." "$work/corpus/"
    # Saved reproducers are replayed first, with the seeds (fuzz/regressions/README.md).
    [ -d "fuzz/regressions/$short" ] && cp -r "fuzz/regressions/$short/." "$work/corpus/"
    local seeds
    seeds=$(find "$work/corpus" -type f | wc -l)
    local start=$SECONDS status=ok
    if ! "$target" -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len_for "$short")" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="fuzz/artifacts/$name-" "$work/corpus" >"$work/log" 2>&1; then
        status=FAILED
    fi
    local execs cov ft corp
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$work/log" | tail -1 | cut -d' ' -f2)
    corp=$(find "$work/corpus" -type f | wc -l)
    local elapsed=$((SECONDS - start))
    [ "$elapsed" -gt 0 ] || elapsed=1
    printf '%-22s %-6s %10s %8s %6s %6s %5s -> %-5s\n' "$name" "$status" "${execs:-0}" \
        "$(( ${execs:-0} / elapsed ))" "${cov:-?}" "${ft:-?}" "$seeds" "$corp" >"$work/result"
    if [ "$status" != ok ]; then
        {
            echo "!! $name failed; its input is in fuzz/artifacts/$name-*; end of the log:"
            grep -vE '^(INFO|#[0-9]+ )' "$work/log" | tail -40
        } >"$work/failure"
    fi
    if [ -n "${TS_FUZZ_LOG_DIR:-}" ]; then
        mkdir -p "$TS_FUZZ_LOG_DIR"
        cp "$work/log" "$TS_FUZZ_LOG_DIR/$name.log"
    fi
    if [ -n "${TS_FUZZ_KEEP_CORPUS:-}" ] && [ "$status" = ok ]; then
        mkdir -p "fuzz/corpus/$short"
        "$target" -merge=1 "fuzz/corpus/$short" "$work/corpus" >/dev/null 2>&1 || true
    fi
}

targets=()
for target in build-fuzz/fuzz/fuzz_*; do
    [ -x "$target" ] && [ -f "$target" ] || continue
    short=$(basename "$target")
    short=${short#fuzz_}
    if [ -n "$FILTER" ] && ! [[ "$short" =~ $FILTER ]]; then continue; fi
    targets+=("$target")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz target matches '${FILTER}'" >&2
    exit 2
fi

echo "running ${#targets[@]} target(s), ${SECONDS_PER_TARGET}s each, ${JOBS} at a time"
running=0
for target in "${targets[@]}"; do
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

printf '%-22s %-6s %10s %8s %6s %6s %5s    %-5s\n' target status execs exec/s cov ft seeds corpus
status=0
for target in "${targets[@]}"; do
    short=$(basename "$target")
    short=${short#fuzz_}
    cat "$results/$short/result"
    if [ -f "$results/$short/failure" ]; then
        cat "$results/$short/failure" >&2
        status=1
    fi
done
exit $status
