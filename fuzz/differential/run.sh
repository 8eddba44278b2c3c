#!/usr/bin/env bash
# Differential fuzzing of sr25519 verify: run fuzz_sr25519_verify for SECONDS
# (default 60) recording every verdict, then recheck them (up to the limits in
# sr25519.mjs) with @polkadot/util-crypto and @scure/sr25519 (needs node and
# `npm ci --prefix tests/node`). Fails on any disagreement.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-60}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r fuzz/corpus/sr25519_verify/. "$work/corpus/" 2>/dev/null || { mkdir -p "$work/corpus"; cp -r fuzz/corpus/sr25519_verify/. "$work/corpus/"; }
TS_FUZZ_DIFF_OUT="$work/verdicts" build-fuzz/fuzz/fuzz_sr25519_verify \
    -max_total_time="$SECONDS_TO_RUN" -max_len=4096 "$work/corpus" 2>"$work/log" || {
    tail -40 "$work/log" >&2
    exit 1
}
grep -E "^#[0-9]+ +DONE" "$work/log" | tail -1 || true
node fuzz/differential/sr25519.mjs "$work/verdicts"
