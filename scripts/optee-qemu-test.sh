#!/usr/bin/env bash
# Runs the signer on real OP-TEE in QEMU (arm64 `virt`, TrustZone on) and checks
# it from the host; docs/testing-on-optee.md is the guide. Not part of CI.
#
# You bring the firmware: build OP-TEE (optee_os) and TF-A as their own
# documentation describes (docs/testing-on-optee.md, section 1, has the
# versions and flags this was run with) and give the folder holding bl1.bin and
# either fip.bin or the separate images (bl2.bin, bl31.bin, bl32.bin,
# bl32_extra1.bin, bl32_extra2.bin, bl33.bin). This script builds nothing from
# upstream and fetches no firmware: it assembles the normal-world guest from
# Debian 12's arm64 packages (kernel 6.1 with tee.ko/optee.ko, tee-supplicant,
# libteec1, busybox-static; `apt-get download`) plus our TA
# (scripts/build-optee-ta.sh) and our arm64 `tee-signer` (the `optee-aarch64`
# CMake preset), boots QEMU with a timeout, and drives these checks from the
# host against `tee-signer serve --tee optee` in the guest, reached over TLS
# with a bearer token through QEMU user networking (hostfwd on 127.0.0.1 only,
# virtio-net MMIO device):
#   health           GET /health answers ok, backend optee
#   session-keys     `tee-signer session-keys` (author_rotateKeys), author_hasSessionKeys
#   attest           signer_attest with a fresh nonce, verified on the host by
#                    `tee-signer verify-attestation`: the TA's statement, OP-TEE's
#                    attestation PTA signatures (RSASSA-PSS) over the report data,
#                    the TA header digest equal to the installed .ta file's; a second
#                    answer with the PTA key and TA memory measurement of the first
#                    pinned; the saved answer checked against another nonce must fail
#   service-tests    tests/node/service.test.mjs against the guest's signer (SKIP without
#                    tests/node/node_modules)
#   simulate         `tee-signer simulate`: typed GRANDPA/BABE/BEEFY/para signing by two
#                    racing nodes, every conflict refused once, every signature verified
#   opaque-refused   keystore_sign of an opaque GRANDPA message is refused by policy
#   grandpa-conflict a GRANDPA prevote signs, a conflicting one is refused
#   kill-9           `kill -9` of the signer in the middle of `simulate`: it is
#                    restarted, keys and protection (the conflict) intact
#   tee-error        OP-TEE's REE FS read-only (secure-storage writes fail inside the
#                    TEE): rotateKeys and a new vote answer errors, no key is added; with
#                    the storage writable again the same vote signs
#   supplicant-stop  tee-supplicant stopped during author_rotateKeys: the call waits for
#                    it; restarted, the call completes with a whole key set or none
#   reboot           the guest is powered off and booted again: same keys, earlier
#                    votes sign again, conflicting ones still refused (state on a
#                    virtio disk, OP-TEE's REE FS under /data/tee); the attestation
#                    verifies with the PTA key and TA measurement pinned before
# and prints one line per check and a verdict (exit 0 only when all pass).
#
#   scripts/optee-qemu-test.sh --firmware DIR [options]
# Options:
#   --firmware DIR   bl1.bin + fip.bin, or bl1.bin + bl2/bl31/bl32*/bl33 images (required)
#   --ta FILE        the signed TA (default build-optee-ta/ta/<uuid>.ta)
#   --signer FILE    arm64 tee-signer (default build-optee-aarch64/cli/tee-signer)
#   --cli FILE       host tee-signer for the client checks (default build-ci/cli/tee-signer,
#                    else build/cli/tee-signer)
#   --work DIR       work directory (default build-optee-qemu; the state disk is kept there)
#   --debs DIR       Debian arm64 .debs to use instead of `apt-get download`
#   --timeout S      boot timeout per boot in seconds (default 300)
#   --port N         host port forwarded to the signer (default 19955, on 127.0.0.1)
#   --fresh          start with an empty state disk (default: keep the previous one)
#   --client-timeout S  seconds a host client waits for one request (session-keys,
#                    simulate, verify-attestation, curl, the service tests' WsProvider;
#                    default 600: emulation is slow)
# Needs: qemu-system-arm, curl, jq, openssl, cpio, e2fsprogs, aarch64-linux-gnu binutils,
# and Debian's arm64 architecture enabled (dpkg --add-architecture arm64) for apt-get download.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
uuid=286496c0-e466-46b0-9ef1-8d9e504801d9

fw="" ta="build-optee-ta/ta/$uuid.ta" signer=build-optee-aarch64/cli/tee-signer cli=""
work=build-optee-qemu debs="" timeout=300 port=19955 fresh=0 client_timeout=600
while [ $# -gt 0 ]; do
    case $1 in
    --firmware) fw=$2; shift 2 ;;
    --ta) ta=$2; shift 2 ;;
    --signer) signer=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --debs) debs=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --client-timeout) client_timeout=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "optee-qemu-test: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done
if [ -z "$fw" ]; then
    echo "optee-qemu-test: no firmware given (--firmware DIR with bl1.bin and fip.bin or the" \
        "bl2/bl31/bl32/bl33 images). Build OP-TEE and TF-A by their own documentation;" \
        "docs/testing-on-optee.md, section 1, lists versions and flags. Nothing was run." >&2
    exit 2
fi
[ -f "$fw/bl1.bin" ] || { echo "optee-qemu-test: no $fw/bl1.bin" >&2; exit 2; }
for f in "$ta" "$signer"; do
    [ -s "$f" ] || { echo "optee-qemu-test: missing $f (scripts/build-optee-ta.sh," \
        "cmake --preset optee-aarch64)" >&2; exit 2; }
done
if [ -z "$cli" ]; then
    for c in build-ci/cli/tee-signer build/cli/tee-signer; do [ -x "$c" ] && { cli=$c; break; }; done
fi
[ -x "$cli" ] || { echo "optee-qemu-test: no host tee-signer (--cli)" >&2; exit 2; }
fw=$(cd "$fw" && pwd) ta=$(realpath "$ta") signer=$(realpath "$signer") cli=$(realpath "$cli")
mkdir -p "$work"
work=$(cd "$work" && pwd)
kver=""

# ---- 1. Debian's arm64 packages ------------------------------------------------
if [ -z "$debs" ]; then
    debs=$work/debs
    mkdir -p "$debs"
    if ! ls "$debs"/linux-image-6*.deb >/dev/null 2>&1; then
        (
            cd "$debs"
            apt-get download -q linux-image-arm64:arm64 tee-supplicant:arm64 libteec1:arm64 \
                busybox-static:arm64
            kpkg=$(dpkg-deb -f linux-image-arm64_*_arm64.deb Depends | grep -o 'linux-image-[0-9][^ ,]*')
            apt-get download -q "$kpkg:arm64"
        ) >"$work/apt-download.log" 2>&1 || { cat "$work/apt-download.log" >&2; exit 2; }
    fi
fi
deb=$work/debroot
rm -rf "$deb"
mkdir -p "$deb"
for d in "$debs"/linux-image-6*_arm64.deb "$debs"/tee-supplicant_*_arm64.deb \
    "$debs"/libteec1_*_arm64.deb "$debs"/busybox-static_*_arm64.deb; do
    [ -f "$d" ] || { echo "optee-qemu-test: no $d" >&2; exit 2; }
    dpkg-deb -x "$d" "$deb"
done
kver=$(basename "$(ls -d "$deb"/lib/modules/*)")

# ---- 2. The guest: initramfs with our TA and signer, state on a virtio disk ------
root=$work/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,data,mods,etc/signer,lib/optee_armtz,lib/aarch64-linux-gnu,usr/bin}
cp "$deb/bin/busybox" "$root/bin/busybox"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
cp "$ta" "$root/lib/optee_armtz/"
cp "$deb/usr/sbin/tee-supplicant" "$root/sbin/"
cp "$signer" "$root/usr/bin/tee-signer"

# Shared libraries: every DT_NEEDED, from the debs or Debian's multiarch arm64 libraries.
libpath=("$deb/usr/lib/aarch64-linux-gnu" "$deb/lib/aarch64-linux-gnu" /usr/lib/aarch64-linux-gnu /lib/aarch64-linux-gnu)
declare -A have=()
add_libs() {  # add_libs <elf>: copy its DT_NEEDED closure into the guest
    local lib dir
    for lib in $(aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -n "${have[$lib]:-}" ] && continue
        have[$lib]=1
        for dir in "${libpath[@]}"; do
            if [ -e "$dir/$lib" ]; then
                cp -L "$dir/$lib" "$root/lib/aarch64-linux-gnu/"
                add_libs "$dir/$lib"
                continue 2
            fi
        done
        echo "optee-qemu-test: no arm64 $lib for $1 (install its :arm64 package)" >&2
        exit 2
    done
}
add_libs "$root/sbin/tee-supplicant"
add_libs "$root/usr/bin/tee-signer"
cp -L /usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 "$root/lib/"

# Kernel modules, dependencies first (from each module's .modinfo "depends=").
moddir=$deb/lib/modules/$kver
: >"$root/mods/order"
declare -A loaded=()
add_mod() {
    local m=$1 f dep
    [ -n "${loaded[$m]:-}" ] && return
    f=$(find "$moddir" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "optee-qemu-test: no module $m in $kver" >&2; exit 2; }
    for dep in $(strings -a "$f" | sed -n 's/^depends=//p' | tr , ' '); do add_mod "$dep"; done
    loaded[$m]=1
    cp "$f" "$root/mods/"
    echo "$m" >>"$root/mods/order"
}
for m in virtio_mmio virtio_blk virtio_net crc32c_generic ext4 tee optee; do add_mod "$m"; done

# TLS certificate for 127.0.0.1 and a bearer token: a non-loopback listener needs both.
if [ ! -f "$work/tls/ca.pem" ]; then
    mkdir -p "$work/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj /CN=tee-signer-qemu -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$work/tls/key.pem" -out "$work/tls/ca.pem" >/dev/null 2>&1
    printf 'host:%s\n' "$(openssl rand -hex 24)" >"$work/tls/tokens"
    cut -d: -f2 "$work/tls/tokens" >"$work/tls/token"
    chmod 600 "$work/tls/token"
fi
cp "$work/tls/ca.pem" "$root/etc/signer/cert.pem"
cp "$work/tls/key.pem" "$root/etc/signer/key.pem"
cp "$work/tls/tokens" "$root/etc/signer/tokens"
chmod 600 "$root/etc/signer/"*

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
for m in $(cat /mods/order); do insmod /mods/$m.ko; done
mdev -s 2>/dev/null
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /data || echo "TS-ERROR: cannot mount the state disk"
mkdir -p /data/tee /data/signer
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2
# tee-supplicant serves OP-TEE's REE FS from the state disk, restarted when it
# exits, as an init system would (Debian's 3.19 exits when a client dies during
# one of its requests); /tmp/no-supplicant holds it down (supplicant-stop check).
(
    while :; do
        [ -e /tmp/no-supplicant ] || tee-supplicant --fs-parent-path=/data/tee >>/data/tee-supplicant.log 2>&1
        [ -e /tmp/no-supplicant ] || echo "TS-SUPPLICANT-EXIT $?"
        sleep 1
    done
) &
i=0
while [ ! -e /dev/teepriv0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
# The signer, restarted when it dies (the kill -9 check).
(
    while :; do
        tee-signer serve --tee optee --data-dir /data/signer --rpc-addr 0.0.0.0 --rpc-port 9955 \
            --tls-cert /etc/signer/cert.pem --tls-key /etc/signer/key.pem \
            --tokens-file /etc/signer/tokens --log-level info >>/data/signer.log 2>&1
        echo "TS-SIGNER-EXIT $?"
        sleep 1
    done
) &
echo "TS-BOOTED $(cut -d' ' -f1 /proc/uptime)"
exec sh
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initramfs.cpio.gz"
# Debian's arm64 vmlinuz is a plain Image (EFI stub); older ones were gzip'ed.
if gzip -t "$deb/boot/vmlinuz-$kver" 2>/dev/null; then
    zcat "$deb/boot/vmlinuz-$kver" >"$work/Image"
else
    cp "$deb/boot/vmlinuz-$kver" "$work/Image"
fi

state=$work/state.img
if [ "$fresh" = 1 ] || [ ! -f "$state" ]; then
    rm -f "$state"
    truncate -s 256M "$state"
    mkfs.ext4 -q -L ts-state "$state"
fi

# The firmware: one flash image (bl1 at 0, the FIP at 0x40000, where TF-A's
# qemu platform looks for it), or the separate images by semihosting from the
# firmware folder.
if [ -f "$fw/fip.bin" ]; then
    rm -f "$work/flash.bin"
    dd if="$fw/bl1.bin" of="$work/flash.bin" bs=4096 conv=notrunc status=none
    dd if="$fw/fip.bin" of="$work/flash.bin" seek=64 bs=4096 conv=notrunc status=none
    bios=(-bios "$work/flash.bin")
    fwdir=$work
else
    bios=(-bios "$fw/bl1.bin" -semihosting-config enable=on,target=native)
    fwdir=$fw
fi

# ---- 3. Boot, console, JSON-RPC ------------------------------------------------
rm -f "$work"/boot*.log "$work"/secure*.log
token=$(cat "$work/tls/token")
url=https://127.0.0.1:$port
qemu_pid="" boot=0
console=$work/console.fifo
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

boot_guest() {  # boot_guest <n>: QEMU in the background, console on a FIFO, log in boot<n>.log
    boot=$1
    rm -f "$console"
    mkfifo "$console"
    exec 3<>"$console"
    local t0
    t0=$(now)
    (cd "$fwdir" && exec qemu-system-aarch64 -machine virt,secure=on,gic-version=3,acpi=off \
        -cpu max,pauth-impdef=on -smp 2 -m 1024 -display none -monitor none \
        -serial stdio -serial "file:$work/secure$boot.log" "${bios[@]}" \
        -kernel "$work/Image" -initrd "$work/initramfs.cpio.gz" \
        -append "console=ttyAMA0 quiet" \
        -drive "if=none,id=state,format=raw,file=$state" -device virtio-blk-device,drive=state \
        -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-10.0.2.15:9955" \
        -device virtio-net-device,netdev=net0) <"$console" >"$work/boot$boot.log" 2>&1 &
    qemu_pid=$!
    local deadline=$(($(date +%s) + timeout))
    until grep -q TS-BOOTED "$work/boot$boot.log" 2>/dev/null; do
        if ! kill -0 "$qemu_pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            echo "optee-qemu-test: boot $boot failed or timed out; tail of $work/boot$boot.log:" >&2
            tail -20 "$work/boot$boot.log" >&2
            return 1
        fi
        sleep 0.5
    done
    boot_shell=$(since "$t0")
    wait_health || return 1
    boot_ready=$(since "$t0")
    echo "boot $boot: shell after ${boot_shell} s, signer ready after ${boot_ready} s (emulated)"
}
wait_health() {
    local deadline=$(($(date +%s) + timeout))
    until curl -fsS --max-time 10 --cacert "$work/tls/ca.pem" -H "Authorization: Bearer $token" \
        "$url/health" >"$work/health.json" 2>/dev/null; do
        if ! kill -0 "$qemu_pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            echo "optee-qemu-test: the signer did not become healthy; tail of the console:" >&2
            tail -20 "$work/boot$boot.log" >&2
            return 1
        fi
        sleep 1
    done
}
guest() { printf '%s\n' "$*" >&3; }  # a command line for the guest's shell
stop_guest() {
    [ -n "$qemu_pid" ] || return 0
    guest "sync; poweroff -f"
    local i=0
    while kill -0 "$qemu_pid" 2>/dev/null && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=""
    exec 3>&-
}
trap 'stop_guest >/dev/null 2>&1 || true' EXIT

rpc() {  # rpc <method> <params JSON>: the whole JSON-RPC response
    curl -sS --max-time "$client_timeout" --cacert "$work/tls/ca.pem" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url/"
}
client=(--ca-file "$work/tls/ca.pem" --token-file "$work/tls/token")
results=()
failed=0
result() {  # result <check> <PASS|FAIL> <detail>
    results+=("$(printf '%-17s %-4s %s' "$1" "$2" "$3")")
    printf '%-17s %-4s %s\n' "$1" "$2" "$3"
    [ "$2" = PASS ] || [ "$2" = SKIP ] || failed=1
}
timed() {  # timed <var> <command...>: run, store seconds in <var>
    local var=$1 t0 rc=0
    shift
    t0=$(now)
    "$@" || rc=$?
    printf -v "$var" '%s' "$(since "$t0")"
    return $rc
}
keys_snapshot() {  # every public key per type and scheme, one line each
    local kt sc
    for kt in gran babe para asgn audi beef; do
        for sc in sr25519 ed25519 ecdsa; do
            printf '%s %s %s\n' "$kt" "$sc" "$(rpc keystore_publicKeys "[\"$kt\",\"$sc\"]" | jq -c .result)"
        done
    done
}

# A GRANDPA prevote for (round 7, set 3): Message::Prevote(hash, number) ++ round ++ set_id.
prevote() { printf '0x00%s%s%s%s' "$(printf "$1%.0s" {1..32})" 0a000000 0700000000000000 0300000000000000; }
vote1=$(prevote aa) vote2=$(prevote bb)

echo "optee-qemu-test: firmware $fw, kernel $kver, TA $ta"
echo "                 signer $signer, host client $cli, work $work"
boot_guest 1 || { result boot FAIL "see $work/boot1.log"; exit 1; }
result boot PASS "shell ${boot_shell} s, signer healthy ${boot_ready} s"

# health
if jq -e '.status == "ok" and .tee == "optee"' "$work/health.json" >/dev/null; then
    result health PASS "$(jq -c . "$work/health.json")"
else
    result health FAIL "$(cat "$work/health.json")"
fi

# session-keys (author_rotateKeys) and author_hasSessionKeys
blob=""
if timed t_rotate "$cli" session-keys --rpc "$url" "${client[@]}" --timeout "$client_timeout" >"$work/session-keys.txt" 2>&1; then
    blob=$(sed -n 's/^Session keys:[[:space:]]*\(0x[0-9a-f]*\)$/\1/p' "$work/session-keys.txt")
    has=$(rpc author_hasSessionKeys "[\"$blob\"]" | jq -r .result)
    if [ -n "$blob" ] && [ "$has" = true ]; then
        result session-keys PASS "rotateKeys+setKeys call data ${t_rotate} s; hasSessionKeys true"
    else
        result session-keys FAIL "blob '$blob' hasSessionKeys '$has'"
    fi
else
    result session-keys FAIL "$(tail -3 "$work/session-keys.txt")"
fi
gran=0x${blob:2:64}

# attestation bound to a nonce, verified on the host with the CLI verifier: the TA's
# statement, OP-TEE's attestation PTA signatures over the report data, the header
# digest of the .ta file we installed. The first answer's PTA key and TA memory
# measurement are then pinned for a second answer (and after the reboot).
attest_verify() {  # attest_verify <out-prefix> [verify-attestation options]: verify a fresh answer
    local out=$1
    shift
    "$cli" verify-attestation --rpc-url "$url" "${client[@]}" --timeout "$client_timeout" \
        --nonce "0x$(openssl rand -hex 16)" --save "$out.json" --expect-ta-file "$ta" "$@" \
        >"$out.txt" 2>&1
}
rm -f "$work/pta-pubkey.pem"
if timed t_att attest_verify "$work/attest1" --write-pubkey "$work/pta-pubkey.pem"; then
    ta_memory=$(sed -n 's/^TA memory measurement (signed): *//p' "$work/attest1.txt")
    if timed t_att2 attest_verify "$work/attest2" --expect-pubkey "$work/pta-pubkey.pem" \
        --expect-ta-memory "$ta_memory"; then
        # The same answer checked against another nonce must be refused.
        if "$cli" verify-attestation --file "$work/attest2.json" --nonce 0x00 \
            --expect-pubkey "$work/pta-pubkey.pem" >"$work/attest-wrong-nonce.txt" 2>&1; then
            result attest FAIL "an answer verified against another nonce"
        else
            result attest PASS "kind $(jq -r .kind "$work/attest1.json"), $(jq -r .tee.publicKey.bits "$work/attest1.json")-bit PTA key; first answer ${t_att} s, second (key and TA memory $ta_memory pinned) ${t_att2} s; TA header digest = the .ta file's; another nonce refused ($(grep -c '^FAIL' "$work/attest-wrong-nonce.txt") checks failed)"
        fi
    else
        result attest FAIL "second answer: $(grep -E '^FAIL|^error' "$work/attest2.txt" | head -3 | tr '\n' ' ')"
    fi
else
    result attest FAIL "$(grep -E '^FAIL|^error|^result' "$work/attest1.txt" | head -4 | tr '\n' ' ') $(jq -r '.teeUnavailable // empty' "$work/attest1.json" 2>/dev/null)"
fi

# The project's own service tests (tests/node/service.test.mjs) against this signer:
# polkadot-js WsProvider/HttpProvider, session.setKeys decoding, signatures verified
# with @polkadot/util-crypto, bad input; those needing the local process are skipped.
if command -v node >/dev/null && [ -d tests/node/node_modules/@polkadot ]; then
    if timed t_node env TS_CLI="$cli" TS_SERVICE_URL="$url/" TS_SERVICE_CA="$work/tls/ca.pem" \
        TS_SERVICE_TIMEOUT_MS=$((client_timeout * 1000)) \
        NODE_EXTRA_CA_CERTS="$work/tls/ca.pem" TS_SERVICE_TOKEN_FILE="$work/tls/token" \
        node --test tests/node/service.test.mjs >"$work/service-tests.txt" 2>&1; then
        result service-tests PASS "tests/node/service.test.mjs in ${t_node} s: $(grep -E '^# (pass|fail|skipped)' "$work/service-tests.txt" | tr '\n' ' ')"
    else
        result service-tests FAIL "$(grep -E '^# (pass|fail|skipped)|^not ok' "$work/service-tests.txt" | head -8 | tr '\n' ' ')"
    fi
else
    result service-tests SKIP "node or tests/node/node_modules missing (npm ci --prefix tests/node)"
fi

# simulate: typed signing under protection by two racing nodes, verified on the host
if timed t_sim "$cli" simulate --rpc-url "$url" "${client[@]}" --timeout "$client_timeout" --rounds 10 --seed 7 >"$work/simulate1.txt" 2>&1; then
    result simulate PASS "10 rounds in ${t_sim} s: $(grep -E '^total|^result' "$work/simulate1.txt" | tr '\n' ' ')"
else
    result simulate FAIL "$(tail -5 "$work/simulate1.txt" | tr '\n' ' ')"
fi

# opaque bytes for a GRANDPA key through keystore_sign: refused by policy (a parseable
# GRANDPA message through keystore_sign is signed under protection instead)
r=$(rpc keystore_sign "[\"gran\",\"ed25519\",\"$gran\",\"0x0102\"]")
if jq -e '.error.code == -32011' <<<"$r" >/dev/null; then
    result opaque-refused PASS "$(jq -c '.error | {code, message, data}' <<<"$r" | cut -c1-160)"
else
    result opaque-refused FAIL "$r"
fi

# A prevote signs, a conflicting one (same round and set, other block) is refused
timed t_vote rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote1\"]" >"$work/vote1.json" || true
r2=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote2\"]")
if jq -e '.result' "$work/vote1.json" >/dev/null && jq -e '.error.code == -32010' <<<"$r2" >/dev/null; then
    result grandpa-conflict PASS "vote signed in ${t_vote} s; conflict refused: $(jq -c .error.data <<<"$r2" | cut -c1-120)"
else
    result grandpa-conflict FAIL "$(cat "$work/vote1.json") / $r2"
fi

# kill -9 of the signer in the middle of simulate's requests
keys_snapshot >"$work/keys-before-kill.txt"
"$cli" simulate --rpc-url "$url" "${client[@]}" --timeout "$client_timeout" --rounds 200 --seed 9 >"$work/simulate-killed.txt" 2>&1 &
sim_pid=$!
sleep 8
guest 'kill -9 $(pidof tee-signer); echo TS-KILLED'
wait "$sim_pid" 2>/dev/null || true
t0=$(now)
wait_health
t_restart=$(since "$t0")
keys_snapshot >"$work/keys-after-kill.txt"
r1=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote1\"]")
r2=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote2\"]")
# Keys held before the kill are all still there (simulate may have added keys before it).
lost=$(paste "$work/keys-before-kill.txt" "$work/keys-after-kill.txt" |
    awk -F'\t' '{ split($1, a, " "); split($2, b, " "); n = split(a[3], k, ","); for (i = 1; i <= n; i++) { gsub(/[][\"]/, "", k[i]); if (k[i] != "" && index(b[3], k[i]) == 0) print k[i] } }')
if grep -q TS-SIGNER-EXIT "$work/boot1.log" && [ -z "$lost" ] &&
    jq -e .result <<<"$r1" >/dev/null && jq -e '.error.code == -32010' <<<"$r2" >/dev/null &&
    "$cli" simulate --rpc-url "$url" "${client[@]}" --timeout "$client_timeout" --rounds 5 --seed 11 >"$work/simulate2.txt" 2>&1; then
    result kill-9 PASS "$(grep -c TS-SUPPLICANT-EXIT "$work/boot1.log" || true) tee-supplicant restarts; killed mid-simulate (client: $(tail -1 "$work/simulate-killed.txt" | cut -c1-100)); healthy again after ${t_restart} s; keys kept; vote re-signed, conflict refused; simulate 5 rounds PASS"
else
    result kill-9 FAIL "lost keys [$lost]; $r1 / $r2; $(tail -2 "$work/simulate2.txt" 2>/dev/null | tr '\n' ' ')"
fi

# TEE errors: OP-TEE's REE FS made read-only under tee-supplicant (a bind mount
# remounted ro), so every secure-storage write fails inside the TEE.
vote3=$(prevote cc | sed 's/0700000000000000/0800000000000000/')   # round 8: a new vote, needs a write
keys_snapshot >"$work/keys-before-tee-error.txt"
guest 'mount --bind /data/tee /data/tee && mount -o remount,bind,ro /data/tee && echo TS-REEFS-RO'
sleep 2
timed t_err rpc author_rotateKeys '[]' >"$work/rotate-ro.json" || true
vote_ro=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote3\"]")
keys_snapshot >"$work/keys-during-tee-error.txt"
guest 'umount /data/tee && echo TS-REEFS-RW'
sleep 2
vote_rw=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote3\"]")
rotate_rw=$(rpc author_rotateKeys '[]')
if jq -e .error "$work/rotate-ro.json" >/dev/null && jq -e .error <<<"$vote_ro" >/dev/null &&
    cmp -s "$work/keys-before-tee-error.txt" "$work/keys-during-tee-error.txt" &&
    jq -e .result <<<"$vote_rw" >/dev/null && jq -e .result <<<"$rotate_rw" >/dev/null; then
    result tee-error PASS "storage read-only: rotateKeys -> $(jq -c '.error | {code, message}' "$work/rotate-ro.json" | cut -c1-120) (${t_err} s), new vote -> $(jq -c '.error | {code, message}' <<<"$vote_ro" | cut -c1-120); no key added; writable again: the same vote signs, rotateKeys works"
else
    result tee-error FAIL "ro rotate: $(head -c 200 "$work/rotate-ro.json"); ro vote: $(head -c 200 <<<"$vote_ro"); keys same: $(cmp -s "$work/keys-before-tee-error.txt" "$work/keys-during-tee-error.txt" && echo yes || echo no); rw vote: $(head -c 200 <<<"$vote_rw"); rw rotate: $(head -c 100 <<<"$rotate_rw")"
fi

# tee-supplicant stopped during a request: OP-TEE's storage call waits for it
keys_snapshot >"$work/keys-before-supplicant.txt"
guest 'touch /tmp/no-supplicant; kill $(pidof tee-supplicant); echo TS-SUPPLICANT-STOPPED'
sleep 2
t0=$(now)
rpc author_rotateKeys '[]' >"$work/rotate-no-supplicant.json" 2>&1 &
pending=$!
sleep 15
if kill -0 "$pending" 2>/dev/null; then waiting="still waiting after 15 s"; else waiting="answered within 15 s"; fi
guest 'rm /tmp/no-supplicant; echo TS-SUPPLICANT-RELEASED'
wait "$pending" || true
t_pending=$(since "$t0")
keys_snapshot >"$work/keys-after-supplicant.txt"
added=$(($(grep -o 0x "$work/keys-after-supplicant.txt" | wc -l) - $(grep -o 0x "$work/keys-before-supplicant.txt" | wc -l)))
if jq -e .result "$work/rotate-no-supplicant.json" >/dev/null; then outcome="rotateKeys answered a key set after ${t_pending} s"
else outcome="rotateKeys answered $(head -c 120 "$work/rotate-no-supplicant.json") after ${t_pending} s"; fi
if { [ "$added" -eq 0 ] || [ "$added" -eq 6 ]; } && wait_health; then
    result supplicant-stop PASS "$waiting; supplicant restarted: $outcome; $added keys added (whole set or none)"
else
    result supplicant-stop FAIL "$waiting; $outcome; $added keys added"
fi

# reboot: same keys and protection history from the virtio disk. (Not compared
# through signer_exportProtection: exporting the whole history through the TEE
# took over 5 minutes under emulation.)
keys_snapshot >"$work/keys-before-reboot.txt"
stop_guest
boot_guest 2 || { result reboot FAIL "second boot failed"; exit 1; }
keys_snapshot >"$work/keys-after-reboot.txt"
vote4=$(prevote dd | sed 's/0700000000000000/0800000000000000/')   # conflicts with vote3
r1=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote1\"]")
r2=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote2\"]")
r3=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote3\"]")
r4=$(rpc signer_signGrandpaVote "[\"gran\",\"$gran\",\"$vote4\"]")
nkeys=$(grep -o '0x' "$work/keys-after-reboot.txt" | wc -l)
# The PTA's key lives in OP-TEE's secure storage and the TA is the same binary:
# both pins of the first boot must hold after the reboot.
attest_pinned=no
if [ -s "$work/pta-pubkey.pem" ] && [ -n "${ta_memory:-}" ] &&
    attest_verify "$work/attest-reboot" --expect-pubkey "$work/pta-pubkey.pem" \
        --expect-ta-memory "$ta_memory"; then
    attest_pinned=yes
fi
if cmp -s "$work/keys-before-reboot.txt" "$work/keys-after-reboot.txt" &&
    jq -e .result <<<"$r1" >/dev/null && jq -e '.error.code == -32010' <<<"$r2" >/dev/null &&
    jq -e .result <<<"$r3" >/dev/null && jq -e '.error.code == -32010' <<<"$r4" >/dev/null &&
    [ "$attest_pinned" = yes ]; then
    result reboot PASS "$nkeys keys identical after reboot; both earlier votes sign again, both conflicting ones refused; attestation verifies with the first boot's PTA key and TA measurement pinned"
else
    result reboot FAIL "keys same: $(cmp -s "$work/keys-before-reboot.txt" "$work/keys-after-reboot.txt" && echo yes || echo no); attestation pinned: $attest_pinned ($(grep -E '^FAIL|^error' "$work/attest-reboot.txt" 2>/dev/null | head -2 | tr '\n' ' ')); $r1 / $r2 / $r3 / $r4"
fi
stop_guest

echo
echo "== OP-TEE's console (secure$boot.log and before): TA panics (GP: the TA's answer to a storage"
echo "   error outside the listed ones, or a lost supplicant; the signer reopens the session):"
cat "$work"/secure*.log | grep -E 'TA panicked|Cannot parse ELF' | sort | uniq -c || echo "   none"
echo
echo "== OP-TEE in QEMU: $(grep -c . <<<"$(printf '%s\n' "${results[@]}")") checks"
printf '%s\n' "${results[@]}"
if [ $failed -eq 0 ]; then
    echo "optee-qemu-test: PASS"
else
    echo "optee-qemu-test: FAIL (logs in $work)"
fi
exit $failed
