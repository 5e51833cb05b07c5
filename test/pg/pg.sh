#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests, from Debian's binaries (package postgresql).
#   test/pg/pg.sh start        - initdb + pg_ctl in a fresh /tmp/verifyd-pg-XXXXXX, print the URL
#   test/pg/pg.sh stop URL|DIR - stop that server and remove its directory (no leftovers)
# The server listens on a Unix socket in its directory and on a free TCP port of 127.0.0.1, trusts
# local connections (nothing but the tests can reach it), keeps fsync on (durability tests need
# it) and small shared_buffers. PostgreSQL refuses to run as root: as root the server runs as the
# system user verifyd-test (created with useradd --system when missing).
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
user=verifyd-test

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    [ -x "$bin/initdb" ] || { echo "pg.sh: $bin/initdb not found (apt-get install postgresql)" >&2; exit 1; }
    if [ "$(id -u)" -eq 0 ] && ! id "$user" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    fi
    local dir port
    dir=$(mktemp -d /tmp/verifyd-pg-XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown "$user" "$dir"
    chmod 700 "$dir"
    local db_user
    db_user=$([ "$(id -u)" -eq 0 ] && echo "$user" || id -un)
    as_owner "$bin/initdb" -D "$dir/data" -U "$db_user" -A trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
            "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=on -c shared_buffers=16MB \
             -c max_connections=60" >/dev/null 2>&1; then
            as_owner "$bin/psql" -q -h "$dir" -p "$port" -U "$db_user" -d postgres \
                -c "CREATE DATABASE verifyd" >/dev/null
            echo "postgresql://$db_user@127.0.0.1:$port/verifyd?host=$dir"
            return 0
        fi
    done
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    echo "pg.sh: cannot start PostgreSQL" >&2
    exit 1
}

stop() {
    local arg=${1:?usage: pg.sh stop URL|DIR} dir
    case "$arg" in
        *host=*) dir=${arg##*host=}; dir=${dir%%&*} ;;
        *) dir=$arg ;;
    esac
    case "$dir" in
        /tmp/verifyd-pg-*) ;;
        *) echo "pg.sh: $dir is not a directory this script made" >&2; exit 1 ;;
    esac
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: $0 start | stop URL|DIR" >&2; exit 2 ;;
esac
