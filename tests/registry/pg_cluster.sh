#!/bin/sh
# A throwaway PostgreSQL 15 cluster for tests, reachable only on a Unix socket in DIR.
#   pg_cluster.sh start DIR [durable] -> prints a libpq conninfo on stdout; without
#                             "durable" the server runs with fsync=off (tests only)
#   pg_cluster.sh stop DIR    -> stops the server and removes DIR
# Root cannot run postgres, so as root the server runs as the "postgres" user.
# Exit 77 when PostgreSQL 15's server binaries are not installed.
set -eu
bin=/usr/lib/postgresql/15/bin
cmd=$1
dir=$2
sync="-c fsync=off"
[ "${3:-}" = durable ] && sync="-c fsync=on -c synchronous_commit=on"
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
    [ -x "$bin/initdb" ] || { echo "pg_cluster: $bin/initdb missing (apt-get install postgresql)" >&2; exit 77; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' $sync -c max_connections=300" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "host=$dir port=5432 user=postgres dbname=postgres"
    ;;
stop)
    if [ -d "$dir/data" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg_cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
