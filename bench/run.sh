#!/usr/bin/env bash
# Reproduce docs/PERFORMANCE.md: a Release build of bench_crypto and the Node
# figures, measured in the same run, then one Markdown table with the ratios.
#   bash bench/run.sh [build-dir]       (default: build-bench)
# Needs the Node packages of the cross-checks: npm ci --prefix tests/node
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTS_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_crypto
"$build/bench/bench_crypto" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$build/bench_crypto.json" --benchmark_out_format=json
node bench/node/bench.mjs --json >"$build/bench_node.json"
node bench/node/report.mjs "$build/bench_crypto.json" "$build/bench_node.json"
