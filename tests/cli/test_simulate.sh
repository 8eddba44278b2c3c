#!/usr/bin/env bash
# tee-signer simulate: two nodes with diverging chain views against one spawned
# signer must PASS (no equivocation signed, every conflict refused once, every
# signature valid); and the checker must FAIL on doctored event logs, so that a
# PASS means something.
#
# Usage: tests/cli/test_simulate.sh path/to/tee-signer [ROUNDS]
set -u

BIN=${1:?usage: test_simulate.sh path/to/tee-signer [ROUNDS]}
ROUNDS=${2:-30}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

"$BIN" simulate --spawn --rounds "$ROUNDS" --seed 3 --events "$TMP/events.jsonl" >"$TMP/out" 2>"$TMP/err"
RC=$?
cat "$TMP/out"
if [ "$RC" -eq 0 ]; then ok; else bad "simulate exited $RC: $(cat "$TMP/err")"; fi
grep -q '^result: PASS$' "$TMP/out" && ok || bad "no 'result: PASS'"
grep -q '^equivocations signed:     0$' "$TMP/out" && ok || bad "equivocations reported"
# The workload must actually have produced conflicts, and each must have been caught.
conflicts=$(sed -n 's/^conflicting votes: *\([0-9]*\).*/\1/p' "$TMP/out")
caught=$(sed -n 's/^  refused exactly once: *\([0-9]*\)$/\1/p' "$TMP/out")
if [ -n "$conflicts" ] && [ "$conflicts" -gt 0 ] && [ "$conflicts" = "$caught" ]; then
    ok
else
    bad "conflicts '$conflicts', caught '$caught'"
fi
# Every type of payload took part, and refusals happened for the slashable ones only.
for t in babe_claim_vrf babe_seal grandpa_prevote grandpa_precommit backing_seconded \
    backing_valid approval dispute_invalid beefy_vote assignment_vrf authority_discovery; do
    grep -q "^$t " "$TMP/out" && ok || bad "no $t requests"
done
refused=$(awk '$1=="grandpa_prevote"{print $3+$6}' "$TMP/out")
if [ -n "$refused" ] && [ "$refused" -gt 0 ]; then ok; else bad "no GRANDPA prevote refused"; fi

# The same log through --check-events: still PASS.
"$BIN" simulate --check-events "$TMP/events.jsonl" >"$TMP/check" 2>&1
[ $? -eq 0 ] && ok || bad "--check-events on the real log failed: $(tail -5 "$TMP/check")"

# Doctored: the first refused conflicting request marked as signed -> equivocation.
sed '0,/"errorCode":-32010/{/"errorCode":-32010/s/"signed":false/"signed":true/}' \
    "$TMP/events.jsonl" >"$TMP/equivocation.jsonl"
if cmp -s "$TMP/events.jsonl" "$TMP/equivocation.jsonl"; then bad "nothing to doctor"; fi
"$BIN" simulate --check-events "$TMP/equivocation.jsonl" >"$TMP/check" 2>&1
RC=$?
[ "$RC" -eq 1 ] && ok || bad "doctored equivocation: exit $RC, want 1"
grep -q '^EQUIVOCATION: ' "$TMP/check" && ok || bad "doctored equivocation not reported"
grep -q '^result: FAIL$' "$TMP/check" && ok || bad "doctored equivocation: no FAIL"

# Doctored: an assignment VRF (never slashable) marked as refused -> false positive.
sed '0,/"type":"assignment_vrf"/{/"type":"assignment_vrf"/s/"signed":true/"errorCode":-32010,"signed":false/}' \
    "$TMP/events.jsonl" >"$TMP/falsepositive.jsonl"
"$BIN" simulate --check-events "$TMP/falsepositive.jsonl" >"$TMP/check" 2>&1
RC=$?
[ "$RC" -eq 1 ] && ok || bad "doctored refusal: exit $RC, want 1"
grep -q 'an unprotected payload was refused' "$TMP/check" && ok || bad "false positive not reported"

# Doctored: one hex digit of the first *signed* prevote's signature flipped
# (0<->1, 2<->3, ...) -> does not verify. The first prevote in the log may be a
# refused one, which carries no signature, so the signed one is looked for.
awk 'done || !/"type":"grandpa_prevote"/ || !/"signature":"0x/ { print; next }
     { i = index($0, "\"signature\":\"0x") + 15
       c = substr($0, i, 1); d = index("0123456789abcdef", c) - 1
       f = substr("1032547698badcfe", d + 1, 1)
       print substr($0, 1, i - 1) f substr($0, i + 1); done = 1 }' \
    "$TMP/events.jsonl" >"$TMP/badsig.jsonl"
if cmp -s "$TMP/events.jsonl" "$TMP/badsig.jsonl"; then bad "no signed prevote to doctor"; fi
"$BIN" simulate --check-events "$TMP/badsig.jsonl" >"$TMP/check" 2>&1
RC=$?
[ "$RC" -eq 1 ] && ok || bad "doctored signature: exit $RC, want 1"
grep -q 'signature does not verify' "$TMP/check" && ok || bad "bad signature not reported"

# Bad options: exit 2, one error line.
"$BIN" simulate --spawn --unix-socket /nonexistent >"$TMP/out" 2>"$TMP/err"
RC=$?
[ "$RC" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && ok || bad "--spawn with --unix-socket: exit $RC"
"$BIN" simulate --unix-socket "$TMP/nobody.sock" >"$TMP/out" 2>"$TMP/err"
RC=$?
[ "$RC" -eq 2 ] && grep -q '^error: cannot reach the signer' "$TMP/err" && ok ||
    bad "unreachable signer: exit $RC: $(cat "$TMP/err")"

echo "test_simulate: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
