#!/usr/bin/env bash
# End-to-end load figures for docs/PERFORMANCE.md: starts `tee-signer serve`
# (soft TEE, Unix socket and TCP, fresh storage) and runs ts-loadgen against it.
# Not part of ctest: it takes minutes and its figures depend on the machine.
#
#   bash bench/run-load.sh [build-dir]            (default: build-bench)
# Environment:
#   SECONDS_PER_RUN=10   measured seconds per run (after 1 s warm-up)
#   REPEAT=3             runs per configuration (report the median yourself,
#                        or read the JSON lines in <build>/load-*.jsonl)
#   CLIENTS="1 16 64"    client counts for the closed-loop unprotected runs
#   PROTECTION_DB=none   the host-side protection database for the runs
#                        (none: the TEE's records only; sqlite: add the host DB)
#   WORKERS=64           signerd RPC worker threads (requests in the TEE at once
#                        wait in the group-commit queue, so more workers = larger
#                        batches)
#   ONLY=REGEX           run only the configurations whose label matches
#   SKIP_BUILD=1         use the binaries already in the build directory
#   STRICT=1             exit 1 when any run reports an error (the ctest smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-signer.sh
build=${1:-build-bench}
secs=${SECONDS_PER_RUN:-10}
repeat=${REPEAT:-3}
clients=${CLIENTS:-"1 16 64"}
db=${PROTECTION_DB:-none}
workers=${WORKERS:-64}

signer_build
loadgen=$build/bench/ts-loadgen

signer_workdir load
trap signer_cleanup EXIT
signer_config workers="$workers" io_threads=2 max_inflight_per_connection=64 database="$db"

out=$build/load-$(date -u +%Y%m%dT%H%M%SZ).jsonl
failed=0
echo "load: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), protection db: $db, workers: $workers"
run() {  # run <label> <loadgen args...>
    local label=$1
    shift
    if [ -n "${ONLY:-}" ] && ! [[ $label =~ $ONLY ]]; then return 0; fi
    for i in $(seq "$repeat"); do
        signer_start
        line=$("$loadgen" --unix "$work/rpc.sock" --duration "$secs" --json "$@") || {
            echo "$label: loadgen reported errors: $line" >&2
            failed=1
        }
        signer_stop
        echo "{\"label\":\"$label\",\"run\":$i,\"loadavg\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"report\":$line}" >>"$out"
        echo "$label #$i: $(echo "$line" | head -c 400)"
    done
}

for c in $clients; do
    run "unprotected ws c=$c" --transport ws --clients "$c" --mix unprotected
done
run "unprotected http c=16" --transport http --clients 16 --mix unprotected
run "protected ws c=64" --transport ws --clients 64 --mix protected
run "protected ws c=1" --transport ws --clients 1 --mix protected
run "realistic ws c=64" --transport ws --clients 64 --mix realistic
run "realistic ws c=64 one session" --transport ws --clients 64 --mix realistic --session-requests 0
# The targets of issue 6 as fixed rates (open loop: latency counted from when
# each request was due): unprotected 15,000/s, protected 2,000/s.
run "unprotected ws rate=15000 c=32" --transport ws --clients 32 --mix unprotected --rate 15000
run "protected ws rate=2000 c=32" --transport ws --clients 32 --mix protected --rate 2000
echo "JSON lines: $out"
if [ -n "${STRICT:-}" ] && [ "$failed" != 0 ]; then exit 1; fi
