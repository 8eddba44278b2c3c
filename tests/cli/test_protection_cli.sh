#!/usr/bin/env bash
# tee-signer protection export|import|inspect|convert, end to end:
#   1. offline: a hand-written JSON interchange document (docs/protection-interchange.md)
#      validates, converts to the binary Document and back unchanged; malformed
#      documents are refused with exit 2 and one "error:" line naming the location;
#   2. migration: signer 1 signs one GRANDPA prevote, BABE header, BEEFY commitment
#      and para dispute vote; its history is exported and imported into a fresh
#      signer 2 holding the same (dev) keys; there the conflicting payloads are
#      refused with -32010 and the identical ones signed again; a second import
#      adds nothing; an import that conflicts with local history is reported.
#
# Usage: tests/cli/test_protection_cli.sh path/to/tee-signer path/to/ts-softtee-ta-test
# (the test TA: dev keys from secret URIs, so that both signers hold //Alice). Needs curl.
set -u

BIN=${1:?usage: test_protection_cli.sh tee-signer ts-softtee-ta-test}
TA=${2:?usage: test_protection_cli.sh tee-signer ts-softtee-ta-test}
# shellcheck source=tests/cli/harness.sh
source "$(dirname "$0")/harness.sh"
expect_rc() {  # expect_rc CODE DESCRIPTION
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2: exit $RC, want $1 (stderr: $(cat "$TMP/err"))"; fi
}
expect_out() {  # expect_out FIXED-STRING DESCRIPTION
    if grep -qF -- "$1" "$TMP/out"; then ok; else bad "$2: stdout lacks '$1': $(head -c 600 "$TMP/out")"; fi
}
# expect_bad_doc DESCRIPTION WANT-IN-MESSAGE FILE: inspect refuses FILE with exit 2,
# no stdout and one "error:" line that contains WANT-IN-MESSAGE.
expect_bad_doc() {
    run protection inspect "$3"
    expect_rc 2 "$1"
    if [ -s "$TMP/out" ]; then bad "$1: unexpected stdout"; else ok; fi
    if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^error: ' "$TMP/err" &&
        grep -qF -- "$2" "$TMP/err"; then
        ok
    else
        bad "$1: want one 'error:' line containing '$2', got: $(cat "$TMP/err")"
    fi
}

# //Alice (subkey): ed25519, sr25519, ecdsa public keys.
ALICE_ED=0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee
ALICE_SR=0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d
ALICE_EC=0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1
rep() { printf "%0.s$1" $(seq 1 "$2"); }  # rep STRING COUNT
H11=0x$(rep 11 32)
H22=0x$(rep 22 32)
H33=0x$(rep 33 32)

# ---------------------------------------------------------------------------
# 1. Offline

cat >"$TMP/good.json" <<EOF
{
  "format": "tee-signer-protection",
  "version": 1,
  "exported_at": "2025-01-31T12:00:00Z",
  "comment": "unknown top-level fields are ignored",
  "keys": [
    { "rule": "grandpa", "public_key": "$ALICE_ED",
      "watermark": { "set_id": "3", "round": "118" },
      "records": [
        { "set_id": "3", "round": "121", "kind": "precommit", "target_hash": "$H22",
          "target_number": 22512346, "payload_hash": "$H33" },
        { "set_id": "3", "round": "120", "kind": "prevote", "target_hash": "$H11",
          "target_number": 22512345, "payload_hash": "$H22" } ] },
    { "rule": "babe", "public_key": "$ALICE_SR", "watermark": { "slot": 0 },
      "records": [ { "slot": "18446744073709551615", "pre_hash": "$H11" } ] },
    { "rule": "beefy", "public_key": "$ALICE_EC",
      "watermark": { "set_id": "0", "block_number": 0 },
      "records": [ { "set_id": "3141", "block_number": 4294967295, "payload_hash": "$H22" } ] },
    { "rule": "para", "public_key": "$ALICE_SR", "watermark": { "session": 40 },
      "records": [
        { "session": 41, "candidate_hash": "$H11", "sides": ["valid"],
          "first_statement": "approval", "payload_hash": "$H33" },
        { "session": 41, "candidate_hash": "$H22", "sides": ["valid", "invalid"],
          "first_statement": "dispute_invalid", "payload_hash": "$H11" } ] }
  ]
}
EOF

run protection inspect "$TMP/good.json"
expect_rc 0 "inspect a valid document"
expect_out "4 key histories, 6 records" "inspect: totals"
expect_out "watermark: set 3 round 118" "inspect: grandpa watermark"
expect_out "(set 3 round 120 ... set 3 round 121)" "inspect: records sorted by position"
expect_out "candidates with both sides (frozen): 1" "inspect: frozen para candidate"

# JSON -> binary Document (hex) -> JSON equals JSON -> JSON: nothing lost either way.
run protection convert "$TMP/good.json" --to hex
expect_rc 0 "convert to hex"
cp "$TMP/out" "$TMP/good.hex"
if grep -q '^0x54535058' "$TMP/good.hex"; then ok; else bad "hex document does not start with TSPX"; fi
run protection convert "$TMP/good.hex" --to json -o "$TMP/from_hex.json"
expect_rc 0 "convert hex to json"
run protection convert "$TMP/good.json" --to json -o "$TMP/from_json.json"
expect_rc 0 "convert json to json"
if cmp -s "$TMP/from_hex.json" "$TMP/from_json.json"; then ok; else
    bad "JSON -> binary -> JSON differs: $(diff "$TMP/from_hex.json" "$TMP/from_json.json" | head -20)"
fi
if grep -q '"round": "120"' "$TMP/from_hex.json" && grep -q '"block_number": 4294967295' \
    "$TMP/from_hex.json" && grep -q '"slot": "18446744073709551615"' "$TMP/from_hex.json"; then
    ok
else
    bad "converted JSON lacks the u64-as-string / u32 values: $(head -c 800 "$TMP/from_hex.json")"
fi

# Malformed documents: each differs from good.json in one place.
mutate() {  # mutate NAME SED-EXPRESSION
    sed -e "$2" "$TMP/good.json" >"$TMP/$1.json"
}
mutate fmt 's/"tee-signer-protection"/"eth-slashing-protection"/'
expect_bad_doc "wrong format" "format: expected \"tee-signer-protection\"" "$TMP/fmt.json"
mutate ver 's/"version": 1/"version": 2/'
expect_bad_doc "wrong version" "version: unsupported version 2" "$TMP/ver.json"
mutate pk "s/$ALICE_EC/0x0a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1/"
expect_bad_doc "ecdsa key of 32 bytes" "keys[2].public_key: expected 33 bytes" "$TMP/pk.json"
mutate big 's/"slot": "18446744073709551615"/"slot": "18446744073709551616"/'
expect_bad_doc "u64 overflow" "keys[1].records[0].slot" "$TMP/big.json"
mutate unsafe 's/"slot": "18446744073709551615"/"slot": 9007199254740993/'
expect_bad_doc "u64 number above 2^53" "keys[1].records[0].slot: a u64 above 2^53 - 1" "$TMP/unsafe.json"
mutate u32 's/"block_number": 4294967295/"block_number": 4294967296/'
expect_bad_doc "u32 overflow" "keys[2].records[0].block_number: expected a u32" "$TMP/u32.json"
mutate kind 's/"kind": "precommit"/"kind": "primary"/'
expect_bad_doc "bad grandpa kind" "keys[0].records[0].kind" "$TMP/kind.json"
mutate extra 's/"pre_hash"/"bogus": 1, "pre_hash"/'
expect_bad_doc "unknown record field" "keys[1].records[0]: unknown field \"bogus\"" "$TMP/extra.json"
mutate missing 's/"target_number": 22512345, //'
expect_bad_doc "missing field" "keys[0].records[1]: missing field \"target_number\"" "$TMP/missing.json"
mutate dup 's/"watermark": { "session": 40 }/"watermark": { "session": 40, "session": 39 }/'
expect_bad_doc "duplicate member" "member \"session\" appears twice" "$TMP/dup.json"
mutate sides 's/"sides": \["valid"\]/"sides": ["valid", "valid"]/'
expect_bad_doc "side listed twice" "keys[3].records[0].sides" "$TMP/sides.json"
mutate first 's/"first_statement": "dispute_invalid"/"first_statement": "dispute_valid"/; s/\["valid", "invalid"\]/["invalid"]/'
expect_bad_doc "first statement not among the sides" "keys[3].records[1]: first_statement" "$TMP/first.json"
mutate hexdigit "s/$H33/0x$(rep 3g 32)/"
expect_bad_doc "bad hex digit" "payload_hash: invalid hex digit" "$TMP/hexdigit.json"
mutate rule 's/"rule": "beefy"/"rule": "beefy2"/'
expect_bad_doc "unknown rule" "keys[2].rule: unknown rule" "$TMP/rule.json"
printf '{"format": "tee-signer-protection", "version": 1, "keys": [' >"$TMP/trunc.json"
expect_bad_doc "truncated JSON" "not valid JSON" "$TMP/trunc.json"
expect_bad_doc "missing file" "cannot read" "$TMP/nonexistent.json"
printf '0x5453505801' >"$TMP/trunc.hex"
expect_bad_doc "truncated binary document" "not a valid binary protection Document" "$TMP/trunc.hex"

# Bad documents never reach a signer: import refuses before connecting.
run protection import "$TMP/dup.json" --unix-socket "$TMP/nobody.sock"
expect_rc 2 "import of a bad document"

# ---------------------------------------------------------------------------
# 2. Migration between two signers

if ! command -v curl >/dev/null; then
    bad "curl is not installed (apt-get install curl)"
    echo "test_protection_cli: $PASS passed, $FAIL failed"
    exit 1
fi

start_signer() {  # start_signer N: data dir $TMP/sN, socket $TMP/sN.sock
    local n=$1
    printf '[softtee]\nta = "%s"\n' "$TA" >"$TMP/s$n.toml"
    "$BIN" serve --config "$TMP/s$n.toml" --data-dir "$TMP/s$n" --rpc-port 0 \
        --unix-socket "$TMP/s$n.sock" --allow-dev-seeds >"$TMP/s$n.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 300); do
        grep -q 'tee-signer ready' "$TMP/s$n.log" && return 0
        sleep 0.1
    done
    bad "signer $n did not start: $(cat "$TMP/s$n.log")"
    return 1
}
rpc() {  # rpc N METHOD PARAMS-JSON: the answer in $ANSWER
    ANSWER=$(curl -s --unix-socket "$TMP/s$1.sock" -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" http://localhost/)
}
expect_signed() {  # expect_signed DESCRIPTION
    if grep -q '"result"' <<<"$ANSWER"; then ok; else bad "$1: not signed: $ANSWER"; fi
}
expect_refused() {  # expect_refused DESCRIPTION CODE
    if grep -q '"code":-32010' <<<"$ANSWER" && grep -qF "\"$2\"" <<<"$ANSWER"; then
        ok
    else
        bad "$1: want -32010 $2, got: $ANSWER"
    fi
}
dev_keys() {  # the //Alice keys under gran, babe, para, beef
    rpc "$1" keystore_generateNew '["gran","ed25519","//Alice"]'
    grep -qF "$ALICE_ED" <<<"$ANSWER" || bad "signer $1: //Alice gran: $ANSWER"
    rpc "$1" keystore_generateNew '["babe","sr25519","//Alice"]'
    rpc "$1" keystore_generateNew '["para","sr25519","//Alice"]'
    rpc "$1" keystore_generateNew '["beef","ecdsa","//Alice"]'
    grep -qF "$ALICE_EC" <<<"$ANSWER" || bad "signer $1: //Alice beef: $ANSWER"
}

# SCALE payloads: a prevote (round 10, set 3, target #100), an unsealed header
# in slot 1234, a BEEFY commitment for block 500 of set 7, a dispute vote on a
# candidate in session 77. X and Y differ in one field: they conflict.
LE100=64000000
GRANDPA_X=0x00$(rep 11 32)${LE100}0a000000000000000300000000000000
GRANDPA_Y=0x00$(rep 22 32)${LE100}0a000000000000000300000000000000
header() { echo "0x$(rep 01 32)9101$(rep "$1" 32)$(rep 00 32)040642414245340200000000d204000000000000"; }
BABE_X=$(header aa)
BABE_Y=$(header bb)
commitment() { echo "0x046d6880$(rep "$1" 32)f40100000700000000000000"; }
BEEFY_X=$(commitment cc)
BEEFY_Y=$(commitment dd)
PARA_X=0x4449535001$(rep ee 32)4d000000
PARA_Y=0x4449535000$(rep ee 32)4d000000

start_signer 1 || exit 1
dev_keys 1
rpc 1 signer_signGrandpaVote "[\"gran\",\"$ALICE_ED\",\"$GRANDPA_X\"]"; expect_signed "signer 1 prevote"
rpc 1 signer_signBabeHeader "[\"babe\",\"$ALICE_SR\",\"$BABE_X\"]"; expect_signed "signer 1 BABE"
rpc 1 signer_signBeefyCommitment "[\"beef\",\"$ALICE_EC\",\"$BEEFY_X\"]"; expect_signed "signer 1 BEEFY"
rpc 1 signer_signParaStatement "[\"para\",\"$ALICE_SR\",\"$PARA_X\"]"; expect_signed "signer 1 para"
# Signer 1 itself refuses the conflicting ones (the baseline signer 2 must match).
rpc 1 signer_signGrandpaVote "[\"gran\",\"$ALICE_ED\",\"$GRANDPA_Y\"]"
expect_refused "signer 1 conflicting prevote" grandpa_prevote_equivocation

run protection export --unix-socket "$TMP/s1.sock" --out "$TMP/history.json"
expect_rc 0 "export from signer 1"
if grep -q 'exported 4 key histories with 4 records' "$TMP/err"; then ok; else
    bad "export summary: $(cat "$TMP/err")"
fi
run protection inspect "$TMP/history.json"
expect_rc 0 "inspect the export"
expect_out "4 key histories, 4 records" "export holds the four records"
expect_out "set 3 round 10" "export holds the prevote"

start_signer 2 || exit 1
dev_keys 2
run protection export --unix-socket "$TMP/s2.sock"
expect_rc 0 "export from the fresh signer 2"
expect_out '"keys": []' "fresh signer 2 has no history"

run protection import "$TMP/history.json" --unix-socket "$TMP/s2.sock"
expect_rc 0 "import into signer 2"
expect_out "records added:       4" "import report: 4 records added"
expect_out "records conflicting: 0" "import report: no conflicts"

rpc 2 signer_signGrandpaVote "[\"gran\",\"$ALICE_ED\",\"$GRANDPA_Y\"]"
expect_refused "signer 2 conflicting prevote" grandpa_prevote_equivocation
rpc 2 keystore_sign "[\"gran\",\"ed25519\",\"$ALICE_ED\",\"$GRANDPA_Y\"]"
expect_refused "signer 2 conflicting prevote via keystore_sign" grandpa_prevote_equivocation
rpc 2 signer_signBabeHeader "[\"babe\",\"$ALICE_SR\",\"$BABE_Y\"]"
expect_refused "signer 2 conflicting BABE header" babe_equivocation
rpc 2 signer_signBeefyCommitment "[\"beef\",\"$ALICE_EC\",\"$BEEFY_Y\"]"
expect_refused "signer 2 conflicting BEEFY commitment" beefy_equivocation
rpc 2 signer_signParaStatement "[\"para\",\"$ALICE_SR\",\"$PARA_Y\"]"
expect_refused "signer 2 invalid vote on a candidate voted valid" para_valid_invalid
rpc 2 signer_signGrandpaVote "[\"gran\",\"$ALICE_ED\",\"$GRANDPA_X\"]"; expect_signed "signer 2 identical prevote"
rpc 2 signer_signBabeHeader "[\"babe\",\"$ALICE_SR\",\"$BABE_X\"]"; expect_signed "signer 2 identical header"
rpc 2 signer_signBeefyCommitment "[\"beef\",\"$ALICE_EC\",\"$BEEFY_X\"]"; expect_signed "signer 2 identical commitment"
rpc 2 signer_signParaStatement "[\"para\",\"$ALICE_SR\",\"$PARA_X\"]"; expect_signed "signer 2 identical para vote"

# Importing again changes nothing.
run protection import "$TMP/history.json" --unix-socket "$TMP/s2.sock" --output-type json
expect_rc 0 "second import"
expect_out '"recordsAdded": 0' "second import adds nothing"

# A document whose prevote for round 10 differs from signer 2's: reported, local kept.
sed -e "s/$(rep 11 32)/$(rep 44 32)/" "$TMP/history.json" >"$TMP/conflict.json"
run protection import "$TMP/conflict.json" --unix-socket "$TMP/s2.sock"
expect_rc 0 "conflicting import is not an error"
expect_out "records conflicting: 1" "conflicting import is reported"
if grep -q '^warning: 1 imported record' "$TMP/err"; then ok; else bad "no conflict warning: $(cat "$TMP/err")"; fi
rpc 2 signer_signGrandpaVote "[\"gran\",\"$ALICE_ED\",\"$GRANDPA_X\"]"; expect_signed "local record kept"

# A large history (4 rules, 3706 records, about 320 KB as a binary Document): import splits it
# into several documents, export reads several pages and merges the para
# buckets; what comes back is exactly what went in. Limits kept: 128 GRANDPA
# rounds, 1024 BABE slots, 256 BEEFY blocks, 8 para sessions (nothing is pruned).
awk -v PK1="0x$(rep a1 32)" -v PK2="0x$(rep a2 32)" -v PK3="0x02$(rep a3 32)" -v PK4="0x$(rep a4 32)" '
function h(tag, i) { return sprintf("0x%02x%02x%060x", i % 256, tag, i) }
BEGIN {
  printf "{\"format\": \"tee-signer-protection\", \"version\": 1, \"keys\": [\n"
  printf "{\"rule\": \"grandpa\", \"public_key\": \"%s\", \"watermark\": {\"set_id\": \"9\", \"round\": \"0\"}, \"records\": [", PK1
  for (i = 0; i < 256; i++)
    printf "%s{\"set_id\": \"9\", \"round\": \"%d\", \"kind\": \"%s\", \"target_hash\": \"%s\", \"target_number\": %d, \"payload_hash\": \"%s\"}", (i ? "," : ""), 1000 + int(i / 2), (i % 2 ? "precommit" : "prevote"), h(1, i), 5000 + i, h(2, i)
  printf "]},\n{\"rule\": \"babe\", \"public_key\": \"%s\", \"watermark\": {\"slot\": \"0\"}, \"records\": [", PK2
  for (i = 0; i < 1000; i++)
    printf "%s{\"slot\": \"%d\", \"pre_hash\": \"%s\"}", (i ? "," : ""), 300000000 + i, h(3, i)
  printf "]},\n{\"rule\": \"beefy\", \"public_key\": \"%s\", \"watermark\": {\"set_id\": \"0\", \"block_number\": 0}, \"records\": [", PK3
  for (i = 0; i < 250; i++)
    printf "%s{\"set_id\": \"4\", \"block_number\": %d, \"payload_hash\": \"%s\"}", (i ? "," : ""), 70000 + 8 * i, h(4, i)
  printf "]},\n{\"rule\": \"para\", \"public_key\": \"%s\", \"watermark\": {\"session\": 0}, \"records\": [", PK4
  for (i = 0; i < 2200; i++)
    printf "%s{\"session\": %d, \"candidate_hash\": \"%s\", \"sides\": [\"valid\"], \"first_statement\": \"approval\", \"payload_hash\": \"%s\"}", (i ? "," : ""), 600 + i % 8, h(5, i), h(6, i)
  printf "]}\n]}\n"
}' >"$TMP/big.json"
start_signer 3 || exit 1
run protection import "$TMP/big.json" --unix-socket "$TMP/s3.sock" --output-type json
expect_rc 0 "import a large history"
expect_out '"recordsAdded": 3706' "large import: every record added"
if grep -q '"documents": [2-9]' "$TMP/out"; then ok; else bad "large import in one document: $(cat "$TMP/out")"; fi
run protection export --unix-socket "$TMP/s3.sock" --out "$TMP/big-export.json"
expect_rc 0 "export a large history"
if grep -q 'exported 4 key histories with 3706 records ([2-9][0-9]* pages)' "$TMP/err"; then ok; else
    bad "large export summary: $(cat "$TMP/err")"
fi
run protection convert "$TMP/big.json" --to json -o "$TMP/big-expected.json"
grep -v '"exported_at"' "$TMP/big-export.json" >"$TMP/big-export-cmp.json"
if cmp -s "$TMP/big-expected.json" "$TMP/big-export-cmp.json"; then ok; else
    bad "large history changed on the way: $(diff "$TMP/big-expected.json" "$TMP/big-export-cmp.json" | head -10)"
fi

# An unreachable signer is exit 1, one error line.
run protection export --unix-socket "$TMP/nobody.sock"
expect_rc 1 "export from nowhere"
if grep -q '^error: cannot reach the signer' "$TMP/err"; then ok; else bad "unreachable: $(cat "$TMP/err")"; fi

echo "test_protection_cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
