#!/usr/bin/env bash
# tee-signer keys list|retire against a running signer (soft TEE, Unix socket),
# with a retirement window of 2 sessions of 3 seconds ([keys] in the config):
#   an old session's keys that signed a moment ago are refused (exit 1, each key
#   printed with its reason, nothing retired); after the window the whole set is
#   retired and no longer listed or usable, the newest set stays; the newest set
#   is refused without --force; bad input is exit 2 with one "error:" line.
# Also `tee-signer verify-attestation` against it (self-attested: refused unless
# --allow-self-attested; a saved answer fails with another nonce).
#
# Usage: tests/cli/test_keys_cli.sh path/to/tee-signer. Needs curl.
set -u

BIN=${1:?usage: test_keys_cli.sh tee-signer}
# shellcheck source=tests/cli/harness.sh
source "$(dirname "$0")/harness.sh"
expect_rc() {
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2: exit $RC, want $1 (stdout: $(head -c 600 "$TMP/out") stderr: $(cat "$TMP/err"))"; fi
}
expect_out() {
    if grep -qF -- "$1" "$TMP/out"; then ok; else bad "$2: stdout lacks '$1': $(head -c 900 "$TMP/out")"; fi
}
expect_no_out() {
    if grep -qF -- "$1" "$TMP/out"; then bad "$2: stdout has '$1'"; else ok; fi
}
expect_one_error() {
    if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^error: ' "$TMP/err"; then ok; else
        bad "$1: want one 'error:' line, got: $(cat "$TMP/err")"
    fi
}

if ! command -v curl >/dev/null; then
    bad "curl is not installed (apt-get install curl)"
    echo "test_keys_cli: $PASS passed, $FAIL failed"
    exit 1
fi

SOCK="$TMP/s.sock"
printf '[keys]\nretire_min_idle_sessions = 2\nsession_seconds = 3\n' >"$TMP/s.toml"
"$BIN" serve --config "$TMP/s.toml" --data-dir "$TMP/s" --rpc-port 0 --unix-socket "$SOCK" \
    >"$TMP/s.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
    grep -q 'tee-signer ready' "$TMP/s.log" && break
    sleep 0.1
done
grep -q 'tee-signer ready' "$TMP/s.log" || { bad "signer did not start: $(cat "$TMP/s.log")"; exit 1; }

rotate() {  # rotate: a new session key set, its blob in $BLOB and audi key in $AUDI
    run session-keys --rpc "unix:$SOCK" --output-type json
    expect_rc 0 "session-keys"
    BLOB=$(sed -n 's/.*"sessionKeys": "\(0x[0-9a-f]*\)".*/\1/p' "$TMP/out")
    AUDI=$(grep -A2 '"keyType": "audi"' "$TMP/out" | sed -n 's/.*"public": "\(0x[0-9a-f]*\)".*/\1/p')
    [ ${#BLOB} -eq 388 ] && [ ${#AUDI} -eq 66 ] && ok || bad "rotate: blob '$BLOB' audi '$AUDI'"
}
rotate
OLD=$BLOB
OLD_AUDI=$AUDI
rotate
NEW=$BLOB
NEW_AUDI=$AUDI

sign() {  # sign PUBLIC: keystore_sign with the audi key, the answer in $ANSWER
    ANSWER=$(curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"keystore_sign\",\"params\":[\"audi\",\"sr25519\",\"$1\",\"0x0102\"]}" \
        http://localhost/)
}
sign "$OLD_AUDI"
grep -q '"result"' <<<"$ANSWER" && ok || bad "old audi key does not sign: $ANSWER"

# keys list: both sets.
run keys list --unix-socket "$SOCK" --network kusama
expect_rc 0 "keys list"
expect_out "12 key(s)" "keys list count"
expect_out "$OLD_AUDI" "keys list old audi"
expect_out "$NEW_AUDI" "keys list new audi"
run keys list --unix-socket "$SOCK" --output-type json
expect_rc 0 "keys list json"
expect_out "\"keyType\": \"beef\"" "keys list json beef"

# At once: refused, the signature a moment ago is within the window.
run keys retire --unix-socket "$SOCK" --session-keys "$OLD"
expect_rc 1 "retire right after signing"
expect_out "Nothing retired" "refusal summary"
expect_out "refused: signed_recently" "refusal reason"
expect_out "$OLD_AUDI" "refused key printed"
run keys list --unix-socket "$SOCK"
expect_out "12 key(s)" "nothing retired"

# After the window (6 s): the old set goes, the new one stays and signs.
sleep 6.5
run keys retire --unix-socket "$SOCK" --session-keys "$OLD"
expect_rc 0 "retire after the window"
expect_out "Retired 6 key(s)" "retire summary"
run keys list --unix-socket "$SOCK"
expect_out "6 key(s)" "keys left"
expect_no_out "$OLD_AUDI" "old audi gone"
expect_out "$NEW_AUDI" "new audi kept"
sign "$OLD_AUDI"
grep -q '"code":-32003' <<<"$ANSWER" && ok || bad "retired key still signs: $ANSWER"
sign "$NEW_AUDI"
grep -q '"result"' <<<"$ANSWER" && ok || bad "new audi key does not sign: $ANSWER"
run keys retire --unix-socket "$SOCK" --session-keys "$OLD" --output-type json
expect_rc 0 "retire again"
expect_out '"status": "absent"' "retire again: absent"

# The newest set: refused even with --force while it signs, and without --force at all.
run keys retire --unix-socket "$SOCK" --key "$NEW_AUDI:audi" --force
expect_rc 1 "retire newest set"
expect_out "signed_recently" "newest set just signed"
sleep 6.5
run keys retire --unix-socket "$SOCK" --session-keys "$NEW"
expect_rc 1 "retire newest set after the window"
expect_out "refused: newest_set" "newest set reason"
run keys retire --unix-socket "$SOCK" --session-keys "$NEW" --force
expect_rc 0 "retire newest set with --force"
expect_out "Retired 6 key(s)" "forced retire summary"

# Bad input: exit 2, one error line.
run keys retire --unix-socket "$SOCK"
expect_rc 2 "retire without keys"
expect_one_error "retire without keys"
run keys retire --unix-socket "$SOCK" --key "$NEW_AUDI:aud"
expect_rc 2 "retire with a bad key type"
expect_one_error "retire with a bad key type"
run keys retire --unix-socket "$SOCK" --session-keys "${OLD:0:386}"
expect_rc 2 "retire a 192-byte blob"
if grep -qF "keys: expected 193 bytes, got 192" "$TMP/err"; then ok; else bad "192-byte blob: $(cat "$TMP/err")"; fi
run keys retire --unix-socket "$TMP/nobody.sock" --session-keys "$OLD"
expect_rc 1 "unreachable signer"
expect_one_error "unreachable signer"

# verify-attestation against the soft TEE: self-attested only, so it fails unless
# --allow-self-attested; a saved answer verifies with its nonce, not with another.
run verify-attestation --unix-socket "$SOCK" --nonce 0x0102 --save "$TMP/attest.json"
expect_rc 1 "verify-attestation, soft TEE, TEE evidence required"
expect_out "FAIL tee-evidence: kind \"self-attested\", no TEE evidence (the soft TEE has no attestation service)" "no TEE evidence"
expect_out "PASS ta-signature" "statement signature verified"
run verify-attestation --file "$TMP/attest.json" --nonce 0x0102 --allow-self-attested
expect_rc 0 "verify-attestation --allow-self-attested"
expect_out "result: PASS" "self-attested accepted"
ATT_KEY=$(sed -n 's/.*"attestationKey": "\(0x[0-9a-f]*\)".*/\1/p' "$TMP/attest.json")
run verify-attestation --file "$TMP/attest.json" --nonce 0x0102 --allow-self-attested --expect-attestation-key "$ATT_KEY"
expect_rc 0 "verify-attestation with the attestation key pinned"
run verify-attestation --file "$TMP/attest.json" --nonce 0x0103 --allow-self-attested
expect_rc 1 "verify-attestation with another nonce"
expect_out "FAIL nonce" "another nonce"
run verify-attestation --file "$TMP/attest.json" --allow-self-attested
expect_rc 2 "verify-attestation --file without --nonce"
expect_one_error "verify-attestation --file without --nonce"

echo "test_keys_cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
