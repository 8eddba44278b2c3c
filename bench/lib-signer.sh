# A `tee-signer serve` for the bench scripts (run-load.sh, cpu-per-request.sh,
# measure-memory.sh), which source this file from the repository root after
# `set -euo pipefail`. The functions use the caller's variables
#   build   the build directory (binaries in $build/cli, $build/tee)
#   work    the scratch directory (signer_workdir sets it)
#   pid     the started process (signer_start sets it, signer_stop clears it)
# so a script can have `trap signer_cleanup EXIT`.

# signer_build: configure and build the binaries the scripts run, unless
# SKIP_BUILD is set.
signer_build() {
    [ -z "${SKIP_BUILD:-}" ] || return 0
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTS_BUILD_BENCH=ON >/dev/null
    cmake --build "$build" -j"$(nproc)" --target tee-signer ts-loadgen ts-softtee-ta
}

# signer_workdir NAME: a fresh $work, /var/tmp/ts-NAME-XXXXXX (on disk, not
# tmpfs: fsync must cost what it costs). TS_BENCH_TMP=/dev/shm puts it on tmpfs
# instead, to tell the disk's share of a latency from the rest.
signer_workdir() {
    work=$(mktemp -d "${TS_BENCH_TMP:-/var/tmp}/ts-$1-XXXXXX")
    pid=
}

# signer_config [SETTING=VALUE...]: write $work/signer.toml, storage in
# $work/data, the Unix socket $work/rpc.sock, TCP on an ephemeral port, no rate
# limit. Settings (unset: the signer's default):
#   ta=PATH                       the TA (default $build/tee/ts-softtee-ta)
#   max_connections=N             in all, per address and per identity (4096)
#   workers=N io_threads=N        [rpc]
#   max_inflight_per_connection=N [limits]
#   database=none|sqlite|...      [protection]
signer_config() {
    local ta=$build/tee/ts-softtee-ta max_connections=4096 workers= io_threads= inflight= db=
    local setting
    for setting in "$@"; do
        case $setting in
            ta=*) ta=${setting#*=} ;;
            max_connections=*) max_connections=${setting#*=} ;;
            workers=*) workers=${setting#*=} ;;
            io_threads=*) io_threads=${setting#*=} ;;
            max_inflight_per_connection=*) inflight=${setting#*=} ;;
            database=*) db=${setting#*=} ;;
            *) echo "signer_config: unknown setting $setting" >&2; return 2 ;;
        esac
    done
    {
        echo "data_dir = \"$work/data\""
        echo 'log_level = "warn"'
        echo '[rpc]'
        echo 'port = 0'
        echo "unix_socket = \"$work/rpc.sock\""
        [ -z "$workers" ] || echo "workers = $workers"
        [ -z "$io_threads" ] || echo "io_threads = $io_threads"
        echo '[limits]'
        echo "max_connections = $max_connections"
        echo "max_connections_per_ip = $max_connections"
        echo "max_connections_per_identity = $max_connections"
        echo 'rate_limit_per_second = 0'
        [ -z "$inflight" ] || echo "max_inflight_per_connection = $inflight"
        echo '[softtee]'
        echo "ta = \"$ta\""
        if [ -n "$db" ]; then
            echo '[protection]'
            echo "database = \"$db\""
        fi
    } >"$work/signer.toml"
}

# signer_start [WRAPPER...]: start `tee-signer serve` on $work/signer.toml with
# fresh storage (through WRAPPER, e.g. perf record ... --, when given), its
# stderr in $work/signer.log, and wait up to 10 s for its Unix socket; exit 1
# with the log if it does not come. pid is the process started.
signer_start() {
    rm -rf "$work/data"
    "$@" "$build/cli/tee-signer" serve --config "$work/signer.toml" 2>"$work/signer.log" &
    pid=$!
    for _ in $(seq 100); do
        [ -S "$work/rpc.sock" ] && return 0
        sleep 0.1
    done
    echo "signer did not start:" >&2
    cat "$work/signer.log" >&2
    exit 1
}

# signer_stop: stop the signer (when started) and remove its socket.
signer_stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=
    rm -f "$work/rpc.sock"
}

# signer_cleanup: signer_stop, then remove $work.
signer_cleanup() {
    signer_stop
    rm -rf "$work"
}
