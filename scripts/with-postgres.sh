#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server:
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# initdb into a fresh temporary directory, start postgres listening only on a
# Unix socket in that directory, create the database "teesigner", export
# TS_TEST_POSTGRES_URL for COMMAND, and stop and delete the cluster afterwards
# (also when COMMAND fails or the script is interrupted). Exits with COMMAND's
# status.
#
# As root (CI), initdb and postgres run as the "postgres" user the Debian
# package creates (initdb refuses to run as root). Binaries are found under
# /usr/lib/postgresql/*/bin (newest first) or on PATH.
#
# If PostgreSQL cannot start, this fails: tests never skip silently. On a
# developer machine without PostgreSQL, TS_TEST_POSTGRES_SKIP=1 runs nothing
# and exits 77 (ctest reports the test as skipped).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
if [ "${TS_TEST_POSTGRES_SKIP:-}" = "1" ]; then
    echo "with-postgres: TS_TEST_POSTGRES_SKIP=1: skipping $1" >&2
    exit 77
fi

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir="$d"; break; fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null; then bindir="$(dirname "$(command -v initdb)")"; fi
if [ -z "$bindir" ]; then
    echo "with-postgres: PostgreSQL server binaries not found (apt-get install postgresql," \
         "or set TS_TEST_POSTGRES_SKIP=1 to skip these tests)" >&2
    exit 1
fi

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root and there is no \"postgres\" user to run the server" >&2
        exit 1
    fi
    as_owner=(runuser -u postgres --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/ts-pg.XXXXXX")"
chmod 755 "$dir"
mkdir "$dir/data" "$dir/run"
if [ "${#as_owner[@]}" -gt 0 ]; then chown postgres: "$dir/data" "$dir/run"; fi

cleanup() {
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
        --no-instructions -E UTF8 >"$dir/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi
# Unix socket only (no TCP port to collide with); durability is irrelevant for a
# throwaway test cluster, so fsync is off to keep the tests fast.
if ! "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/run/postgres.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir/run' -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
        start >/dev/null; then
    echo "with-postgres: postgres did not start:" >&2
    cat "$dir/run/postgres.log" >&2 || true
    exit 1
fi
"${as_owner[@]}" "$bindir/createdb" -h "$dir/run" -U postgres teesigner

export TS_TEST_POSTGRES_URL="postgresql:///teesigner?host=$dir/run&user=postgres"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $dir/run" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
