#!/usr/bin/env bash
# Resident memory of the signer with 1,000 keys and 1,000 idle connections
# (docs/PERFORMANCE.md): starts `tee-signer serve` on a fresh soft-TEE storage,
# generates the keys through keystore_generateNew, opens the connections
# (WebSocket over the Unix socket, each used once) and prints VmRSS / VmHWM of
# the signer process and of its TA process.
#
#   bash bench/measure-memory.sh [build-dir]      (default: build-bench)
# KEYS=1000 CONNECTIONS=1000 override the counts; SKIP_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib-signer.sh
build=${1:-build-bench}
keys=${KEYS:-1000}
conns=${CONNECTIONS:-1000}
signer_build
signer_workdir mem
hold=
cleanup() {
    [ -n "$hold" ] && kill "$hold" 2>/dev/null || true
    signer_cleanup
    wait 2>/dev/null || true
}
trap cleanup EXIT
signer_config max_connections=$((conns + 64))
ulimit -n $((conns * 2 + 256)) 2>/dev/null || ulimit -n 4096
signer_start

rss() {  # rss <pid>: "VmRSS / VmHWM"
    awk '/^VmRSS|^VmHWM/ {printf "%s %s %s  ", $1, $2, $3}' "/proc/$1/status"
}
ta_pid() { pgrep -P "$pid" | head -1; }

echo "after start:        signer $(rss "$pid")| TA $(rss "$(ta_pid)")"
start=$(date +%s)
"$build/bench/ts-loadgen" --unix "$work/rpc.sock" --generate-keys "$keys"
echo "after $keys keys ($(($(date +%s) - start)) s): signer $(rss "$pid")| TA $(rss "$(ta_pid)")"
# Sign once with every kind of key so the TA has touched its state.
"$build/bench/ts-loadgen" --unix "$work/rpc.sock" --clients 4 --duration 2 --warmup 0 \
    --mix realistic >/dev/null
"$build/bench/ts-loadgen" --unix "$work/rpc.sock" --idle "$conns" --duration 30 &
hold=$!
for _ in $(seq 60); do
    n=$(ls "/proc/$pid/fd" | wc -l)
    [ "$n" -ge "$conns" ] && break
    sleep 0.5
done
sleep 2
echo "with $conns idle connections (signer fds: $(ls "/proc/$pid/fd" | wc -l)): signer $(rss "$pid")| TA $(rss "$(ta_pid)")"
total=$(( $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status") + $(awk '/^VmRSS/ {print $2}' "/proc/$(ta_pid)/status") ))
echo "total VmRSS signer + TA: $((total / 1024)) MiB ($total kB)"
