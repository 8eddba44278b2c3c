#!/usr/bin/env bash
# CPU per request of a signing load (unprotected by default), by process
# (docs/PERFORMANCE.md, "Where the time goes"). Starts
# `tee-signer serve` (soft TEE, fresh storage, database "none" unless
# PROTECTION_DB says otherwise) and ts-loadgen, and reads utime+stime and the
# voluntary context switches of the signer, its TA process and the load
# generator from /proc over a window in the middle of the run. CPU time is far
# less disturbed by other jobs on the machine than latency is.
#
#   bash bench/cpu-per-request.sh [build-dir] [clients] [seconds]   (default build-bench 16 6)
# Environment: WORKERS=64, IO_THREADS=2, TRANSPORT=ws, MIX=unprotected (or
# protected, realistic), RATE=N (open loop at N requests/s), PROTECTION_DB=none
# (or sqlite), PERF=1 (record the signer and, through inheritance, its TA
# process with `perf record -e cpu-clock --call-graph dwarf` into
# <build>/perf-signer.data; see bench/perf-stages.py; recording inflates the CPU
# figures, so take them from a run without PERF).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-signer.sh
build=${1:-build-bench}
clients=${2:-16}
secs=${3:-6}
[ "$secs" -ge 4 ] || { echo "seconds: at least 4" >&2; exit 2; }
signer_workdir cpu
trap signer_cleanup EXIT
signer_config workers="${WORKERS:-64}" io_threads="${IO_THREADS:-2}" \
    max_inflight_per_connection=64 database="${PROTECTION_DB:-none}" ta="$(realpath "${TA:-$build/tee/ts-softtee-ta}")"
if [ -n "${PERF:-}" ]; then
    signer_start perf record -F 1000 -e cpu-clock --call-graph dwarf,16384 \
        -o "$build/perf-signer.data" --
else
    signer_start
fi
signer=$pid
[ -n "${PERF:-}" ] && signer=$(pgrep -P "$pid" -x tee-signer | head -1)
ta=$(pgrep -P "$signer" | head -1)
"$build/bench/ts-loadgen" --unix "$work/rpc.sock" --duration "$secs" --warmup 1 --json \
    --transport "${TRANSPORT:-ws}" --clients "$clients" --mix "${MIX:-unprotected}" ${RATE:+--rate "$RATE"} >"$work/out.json" &
lg=$!
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
csw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; }
sleep 2
a=("$(cpu "$signer")" "$(cpu "$ta")" "$(cpu "$lg")" "$(csw "$signer")" "$(csw "$ta")" "$(date +%s.%N)")
sleep $((secs - 2))
b=("$(cpu "$signer")" "$(cpu "$ta")" "$(cpu "$lg")" "$(csw "$signer")" "$(csw "$ta")" "$(date +%s.%N)")
wait "$lg" || { echo "loadgen reported errors" >&2; }
python3 - "$work/out.json" "${a[@]}" "${b[@]}" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
a = [float(x) for x in sys.argv[2:8]]
b = [float(x) for x in sys.argv[8:14]]
n = r["per_second"] * (b[5] - a[5])  # requests in the window
hz = os.sysconf("SC_CLK_TCK")
us = [(b[i] - a[i]) / hz / n * 1e6 for i in range(3)]
sw = [(b[i] - a[i]) / n for i in (3, 4)]
print(f"{r['clients']} clients: {r['per_second']:.0f}/s p50 {r['p50_us']} us p99 {r['p99_us']} us, "
      f"errors {r['errors']} | CPU per request: signer {us[0]:.1f} us, TA {us[1]:.1f} us, "
      f"loadgen {us[2]:.1f} us | voluntary switches per request: signer {sw[0]:.2f}, TA {sw[1]:.2f} "
      f"| load average {open('/proc/loadavg').read().split()[0]}")
PY
