#!/usr/bin/env bash
# CI's short fuzzing pass: build every libFuzzer target (preset "fuzz": clang,
# libFuzzer, ASan + UBSan) and run each for TS_FUZZ_SMOKE_SECONDS (default 20)
# on its seed corpus, as many at a time as there are cores. Any crash, leak,
# timeout or broken invariant fails the job (inputs land in fuzz/artifacts/).
# About 6 minutes on 2 cores from a clean tree (build ~2 min, 20 targets x 20 s
# two at a time ~3.5 min); TS_FUZZ_SMOKE_SECONDS shortens it.
#   scripts/fuzz-smoke.sh [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
export TS_FUZZ_JOBS=${TS_FUZZ_JOBS:-$(nproc)}
start=$SECONDS
bash fuzz/run.sh "${TS_FUZZ_SMOKE_SECONDS:-20}" "${1:-}"
echo "fuzz smoke: passed in $((SECONDS - start))s"
