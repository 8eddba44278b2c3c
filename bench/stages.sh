#!/usr/bin/env bash
# Where the latency of a loaded signer goes (docs/PERFORMANCE.md): one run of
# ts-loadgen against a fresh `tee-signer serve` (soft TEE, Unix socket), then
# the signer's own stage histograms from /metrics beside the client's figures.
# Not part of ctest: its figures depend on the machine.
#
#   bash bench/stages.sh [build-dir] [mix] [rate] [clients] [seconds]
#        (default: build-bench protected 2000 32 6; rate 0 = closed loop)
# Environment:
#   PROTECTION_DB=none  the host-side protection database (none | sqlite)
#   TS_BENCH_TMP=DIR    where the signer's storage goes (default /var/tmp;
#                       /dev/shm takes the disk out of the figures)
#   SKIP_BUILD=1        use the binaries already in the build directory
#
# Stage quantiles are the upper bounds of the histogram buckets they fall in
# (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25 ms ...), so they bound, not measure.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-signer.sh
build=${1:-build-bench}
mix=${2:-protected}
rate=${3:-2000}
clients=${4:-32}
secs=${5:-6}

signer_build
signer_workdir stages
trap signer_cleanup EXIT
signer_config workers=64 io_threads=2 max_inflight_per_connection=64 \
    database="${PROTECTION_DB:-none}"
signer_start
rate_args=()
[ "$rate" != 0 ] && rate_args=(--rate "$rate")
report=$("$build/bench/ts-loadgen" --unix "$work/rpc.sock" --duration "$secs" --warmup 1 --json \
    --clients "$clients" --mix "$mix" "${rate_args[@]}") || true
metrics=$(curl -sf --unix-socket "$work/rpc.sock" http://localhost/metrics)
signer_stop

REPORT=$report METRICS=$metrics python3 - <<'PY'
import collections, json, os, re

r = json.loads(os.environ["REPORT"])
print(f"client: {r['per_second']:.0f}/s, p50 {r['p50_us']} us, p99 {r['p99_us']} us, "
      f"p99.9 {r['p999_us']} us, max {r['max_us']} us, errors {r['errors']}")
if "send_late" in r:
    s = r["send_late"]
    print(f"  sent late by the client itself: p50 {s['p50_us']} us, p99 {s['p99_us']} us, "
          f"p99.9 {s['p999_us']} us")
if "machine" in r:
    m = r["machine"]
    print(f"  machine: CPU busy {m['busy_percent']:.1f} %, stolen {m['steal_percent']:.1f} %")

# The request's way through the signer, in order.
stages = [
    ("teesigner_rpc_worker_queue_seconds", "waiting for an RPC worker"),
    ("teesigner_protection_db_check_seconds", "host protection database"),
    ("teesigner_tee_queue_wait_seconds", "waiting for the TA"),
    ("teesigner_tee_command_duration_seconds", "TA command (per batch)"),
    ("teesigner_tee_batch_requests", "requests per TA command"),
    ("teesigner_rpc_reply_queue_seconds", "answer waiting for its connection"),
    ("teesigner_rpc_request_duration_seconds", "whole call, by method"),
]
hist = collections.defaultdict(lambda: {"buckets": [], "sum": 0.0, "count": 0.0})
for line in os.environ["METRICS"].splitlines():
    m = re.match(r"(\w+)_(bucket|sum|count)(\{[^}]*\})? (\S+)$", line)
    if not m:
        continue
    name, kind, labels, value = m.groups()
    method = re.search(r'method="([^"]+)"', labels or "")
    key = (name, method.group(1) if method else "")
    if kind == "bucket":
        le = re.search(r'le="([^"]+)"', labels).group(1)
        hist[key]["buckets"].append((float("inf") if le == "+Inf" else float(le), float(value)))
    else:
        hist[key][kind] = float(value)

def bound(buckets, count, q):
    for le, n in sorted(buckets):
        if n >= q * count:
            return le
    return float("inf")

for name, what in stages:
    for (n, method), h in sorted(hist.items()):
        if n != name or not h["count"] or (method and h["count"] < 100):
            continue
        scale, unit = (1, "") if name.endswith("_requests") else (1e3, " ms")
        label = f"{what} ({method})" if method else what
        qs = ", ".join(f"p{p} <= {bound(h['buckets'], h['count'], p / 100) * scale:g}{unit}"
                       for p in (50, 90, 99))
        print(f"  {label}: n {h['count']:.0f}, mean {h['sum'] / h['count'] * scale:.3g}{unit}, {qs}")
PY
