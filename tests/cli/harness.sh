# Shared by the CLI test scripts that start signers: a temporary directory and
# the signer processes (PIDS) cleaned up at exit, pass/fail counters, and
# run(): the CLI with its stdout, stderr and exit code in $TMP/out, $TMP/err, $RC.
# Source it after setting BIN (the tee-signer binary).
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
run() {
    "$BIN" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    RC=$?
}
