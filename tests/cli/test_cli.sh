#!/usr/bin/env bash
# End-to-end checks of the tee-signer CLI: subkey-compatible output for the
# well-known dev keys, JSON field names, sign/verify exit codes, and exactly one
# "error: ..." line on stderr (exit 2) for bad input.
#
# Usage: tests/cli/test_cli.sh path/to/tee-signer
#
# Expected values: //Alice public keys and the dev phrase seed are the
# well-known subkey values (also @polkadot/keyring); SIG1/SIG2 are the Alice
# sr25519 signatures from polkadot-sdk substrate/client/cli/src/commands/verify.rs
# tests; SS58 strings from @polkadot/util-crypto encodeAddress.
set -u

BIN=${1:?usage: test_cli.sh path/to/tee-signer}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

# run ARGS...: runs the binary with stdin from $STDIN (default empty), leaving
# $TMP/out, $TMP/err and $RC.
STDIN=/dev/null
run() {
    "$BIN" "$@" <"$STDIN" >"$TMP/out" 2>"$TMP/err"
    RC=$?
}

expect_rc() {  # expect_rc CODE DESCRIPTION
    if [ "$RC" -eq "$1" ]; then ok; else bad "$2: exit $RC, want $1 (stderr: $(cat "$TMP/err"))"; fi
}
expect_out() {  # expect_out FIXED-STRING DESCRIPTION
    if grep -qF -- "$1" "$TMP/out"; then ok; else bad "$2: stdout lacks '$1'"; fi
}
expect_no_secret_out() {  # expect_no_secret_out STRING DESCRIPTION
    if grep -qF -- "$1" "$TMP/out" "$TMP/err"; then bad "$2: output contains '$1'"; else ok; fi
}
# Bad input: exit CODE, nothing on stdout, exactly one stderr line "error: ...".
expect_error() {  # expect_error CODE DESCRIPTION ARGS...
    local code=$1 what=$2
    shift 2
    run "$@"
    expect_rc "$code" "$what"
    if [ -s "$TMP/out" ]; then bad "$what: unexpected stdout: $(head -c 200 "$TMP/out")"; else ok; fi
    local lines
    lines=$(wc -l <"$TMP/err")
    if [ "$lines" -eq 1 ] && grep -q '^error: ' "$TMP/err"; then
        ok
    else
        bad "$what: want one 'error:' line on stderr, got: $(cat "$TMP/err")"
    fi
}

DEV="bottom drive obey lake curtain smoke basket hold race lonely fit walk"
ALICE_SR=0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d
ALICE_ED=0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee
ALICE_EC=0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1
ALICE_SS58=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
SIG1=0x4eb25a2285a82374888880af0024eb30c3a21ce086eae3862888d345af607f0ad6fb081312f11730932564f24a9f8ebcee2d46861413ae61307eca58db2c3e81
SIG2=0x026342225155056ea797118c1c8c8b3cc002aa2020c36f4217fa3c302783a572ad3dcd38c231cbaf86cadb93984d329c963ceac0685cc1ee4c1ed50fa443a68f

# --- inspect: text, as subkey prints it -------------------------------------
run inspect //Alice
expect_rc 0 "inspect //Alice"
cat >"$TMP/want" <<EOF
Secret Key URI \`//Alice\` is account:
  Network ID:        substrate
  Secret seed:       0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a
  Public key (hex):  $ALICE_SR
  Account ID:        $ALICE_SR
  Public key (SS58): $ALICE_SS58
  SS58 Address:      $ALICE_SS58
EOF
if diff -u "$TMP/want" "$TMP/out" >"$TMP/diff"; then ok; else bad "inspect //Alice text: $(cat "$TMP/diff")"; fi

run inspect --scheme ed25519 //Alice
expect_rc 0 "inspect ed25519"
expect_out "Public key (hex):  $ALICE_ED" "inspect ed25519 public"
expect_out "Public key (SS58): 5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu" "inspect ed25519 ss58"

run inspect --scheme ecdsa //Alice
expect_rc 0 "inspect ecdsa"
expect_out "Public key (hex):  $ALICE_EC" "inspect ecdsa public"
expect_out "Account ID:        0x01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed" \
    "inspect ecdsa account id (blake2_256 of the key)"
expect_out "Public key (SS58): KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL" "inspect ecdsa ss58 key"
expect_out "SS58 Address:      5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X" "inspect ecdsa address"

run inspect --scheme ECDSA --network Kusama //Alice
expect_rc 0 "inspect flags are case-insensitive"
expect_out "Network ID:        kusama" "inspect kusama network id"
expect_out "Public key (SS58): tHsFGA2BfG62RaZjiCCzuPQVaUACck5vVSowrvHnXp72WSsp" "inspect kusama ecdsa key"
expect_out "SS58 Address:      CcogsRk8xzpfweM7Ak3Ds9nw2DemLhCC6gbisMpBhptpgcr" "inspect kusama ecdsa address"

run inspect -n polkadot //Alice
expect_out "SS58 Address:      15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5" "inspect polkadot"

run inspect "$DEV"
expect_rc 0 "inspect phrase"
expect_out "Secret phrase:       $DEV" "inspect phrase header"
expect_out "Secret seed:       0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e" \
    "inspect phrase seed"

run inspect "//Alice/0"
expect_rc 0 "inspect soft path"
expect_out "Secret seed:       n/a" "soft-derived sr25519 key has no seed"
expect_out "0x9057db4878163172ea51d570612043a98971737bf608b544991130ac110b0801" "inspect //Alice/0"

run inspect --password password //Alice
expect_out "Public key (hex):  0x32fc18294f88e02ec071e59bb3996aa21f4519d92593dc6e01fda2921d459b23" \
    "--password equals ///password"
run inspect "//Alice///password"
expect_out "Public key (hex):  0x32fc18294f88e02ec071e59bb3996aa21f4519d92593dc6e01fda2921d459b23" \
    "inspect ///password"

STDIN="$TMP/uri"
printf '//Alice\n' >"$TMP/uri"
run inspect
expect_rc 0 "inspect URI from stdin"
expect_out "Public key (hex):  $ALICE_SR" "inspect URI from stdin"
STDIN=/dev/null
run inspect "$TMP/uri"
expect_out "Public key (hex):  $ALICE_SR" "inspect URI from a file"

run inspect --public $ALICE_SR
expect_rc 0 "inspect --public"
expect_out "Network ID/Version: substrate" "inspect --public header"
expect_out "Public key (SS58):  $ALICE_SS58" "inspect --public ss58"

run inspect $ALICE_SS58
expect_rc 0 "inspect SS58 address"
expect_out "Public Key URI \`$ALICE_SS58\` is account:" "inspect SS58 header"
expect_out "Public key (hex):   $ALICE_SR" "inspect SS58 key"

# --- inspect / generate: JSON field names ------------------------------------
run inspect --output-type json //Alice
expect_rc 0 "inspect json"
for field in '"secretKeyUri": "//Alice"' '"networkId": "substrate"' \
    '"secretSeed": "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a"' \
    "\"publicKey\": \"$ALICE_SR\"" "\"accountId\": \"$ALICE_SR\"" \
    "\"ss58Address\": \"$ALICE_SS58\"" "\"ss58PublicKey\": \"$ALICE_SS58\""; do
    expect_out "$field" "inspect json field $field"
done

run generate --output-type json --scheme ed25519 --words 24
expect_rc 0 "generate json"
for field in secretPhrase secretSeed publicKey accountId ss58Address ss58PublicKey networkId; do
    expect_out "\"$field\": " "generate json field $field"
done
PHRASE=$(sed -n 's/.*"secretPhrase": "\(.*\)",/\1/p' "$TMP/out")
PUB=$(sed -n 's/.*"publicKey": "\(.*\)",/\1/p' "$TMP/out")
if [ "$(echo "$PHRASE" | wc -w)" -eq 24 ]; then ok; else bad "generate --words 24 gave '$PHRASE'"; fi
run inspect --scheme ed25519 "$PHRASE"
expect_out "Public key (hex):  $PUB" "generated phrase inspects to the same key"

run generate
expect_rc 0 "generate text"
expect_out "Secret phrase:       " "generate text header"
if [ "$(sed -n 's/^Secret phrase: *//p' "$TMP/out" | wc -w)" -eq 12 ]; then ok; else bad "generate default 12 words"; fi

# --- sign / verify ------------------------------------------------------------
run verify $SIG1 $ALICE_SS58 --message "test message"
expect_rc 0 "verify subkey SIG1"
expect_out "Signature verifies correctly." "verify message"
STDIN="$TMP/msg"
printf 'test message' >"$TMP/msg"
run verify $SIG1 $ALICE_SR
expect_rc 0 "verify SIG1, message on stdin, hex public key"
printf '0xaABBcC\n' >"$TMP/msg"
run verify $SIG2 $ALICE_SS58 --hex
expect_rc 0 "verify SIG2 --hex on stdin"
STDIN=/dev/null
run verify $SIG2 $ALICE_SS58 --hex --message aabbcc
expect_rc 0 "verify SIG2 --hex"
expect_error 1 "verify wrong message" verify $SIG1 $ALICE_SS58 --message "test messagf"
expect_error 1 "verify wrong key" verify $SIG1 $ALICE_ED --message "test message"

for scheme in sr25519 ed25519 ecdsa; do
    run sign --scheme $scheme --suri //Alice --message "tee-signer"
    expect_rc 0 "sign $scheme"
    SIG=$(cat "$TMP/out")
    expect_no_secret_out "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a" \
        "sign prints no seed"
    case $scheme in
        sr25519) PUB=$ALICE_SR LEN=130 ;;
        ed25519) PUB=$ALICE_ED LEN=130 ;;
        ecdsa) PUB=$ALICE_EC LEN=132 ;;
    esac
    if [ ${#SIG} -eq $LEN ] && [[ $SIG == 0x* ]]; then ok; else bad "sign $scheme output '$SIG'"; fi
    run verify --scheme $scheme "$SIG" $PUB --message "tee-signer"
    expect_rc 0 "verify own $scheme signature"
    expect_error 1 "verify $scheme, other message" verify --scheme $scheme "$SIG" $PUB --message "x"
done
# ecdsa verifies against the 33-byte key's SS58 too.
run sign --scheme ecdsa --suri //Alice --message m
run verify --scheme ecdsa "$(cat "$TMP/out")" KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL --message m
expect_rc 0 "verify ecdsa with SS58 public key"
# ed25519 signatures are deterministic (RFC 8032 TEST 1 through a hex seed).
run sign --scheme ed25519 --suri 0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 --message ""
expect_out 0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b \
    "ed25519 RFC 8032 signature"
STDIN="$TMP/msg"
printf 'from stdin' >"$TMP/msg"
run sign --suri //Alice
expect_rc 0 "sign message from stdin"
SIG=$(cat "$TMP/out")
STDIN=/dev/null
run verify "$SIG" $ALICE_SS58 --message "from stdin"
expect_rc 0 "verify signature of stdin message"

# --- bad input: one error line, exit 2 -----------------------------------------
expect_error 2 "bad checksum phrase" inspect "bottom drive obey lake curtain smoke basket hold race lonely fit fit"
expect_error 2 "unknown word" inspect "bottom drive obey lake curtain smoke basket hold race lonely fit walkz"
expect_error 2 "malformed URI" inspect "//Alice//"
expect_error 2 "bad characters" inspect "bottom.drive"
expect_error 2 "short hex seed" inspect 0x1234
expect_error 2 "bad hex seed" inspect 0xzz61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
expect_error 2 "bad SS58 checksum" inspect 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ
expect_error 2 "soft path ed25519" inspect --scheme ed25519 //Alice/0
expect_error 2 "soft path ecdsa" sign --scheme ecdsa --suri //Alice/0 --message m
expect_error 2 "unknown scheme" inspect --scheme secp //Alice
expect_error 2 "unknown network" inspect --network mars //Alice
expect_error 2 "unknown output type" inspect --output-type xml //Alice
expect_error 2 "bad public hex" inspect --public 0xzz
expect_error 2 "short public key" inspect --public 0x1234
expect_error 2 "unknown flag" inspect --frobnicate //Alice
expect_error 2 "unknown command" frobnicate
expect_error 2 "no command"
expect_error 2 "bad word count" generate --words 13
expect_error 2 "non-numeric word count" generate --words many
expect_error 2 "bad message hex" sign --suri //Alice --hex --message 0xzz
expect_error 2 "sign with bad URI" sign --suri "not a phrase" --message m
expect_error 2 "short signature" verify 0x1234 $ALICE_SS58 --message m
expect_error 2 "bad signature hex" verify 0xzz $ALICE_SS58 --message m
expect_error 2 "short ecdsa signature" verify --scheme ecdsa $SIG1 $ALICE_EC --message m
expect_error 2 "bad verify key" verify $SIG1 0x1234 --message m
expect_error 2 "bad verify SS58" verify $SIG1 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ --message m
expect_error 2 "verify missing public" verify $SIG1
expect_error 2 "sign without URI or message" sign

echo "test_cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
