#!/usr/bin/env bash
# Starts PgBouncer (Debian's 1.18) in transaction pooling mode in front of a cluster made by
# start_cluster.sh, and prints the exports to reach the cluster through it:
#
#     eval "$(tests/pg/start_pgbouncer.sh)"   # sets DURABLE_PGBOUNCER_DIR and DURABLE_PGBOUNCER_URL
#     ...                                     # DURABLE_PG_TEST_URL=$DURABLE_PGBOUNCER_URL with
#                                             # DURABLE_PG_TEST_POOLING=transaction
#     tests/pg/stop_pgbouncer.sh              # stops it and removes its directory
#
# Reads PGHOST (the cluster's socket directory) and PGPORT. Transaction pooling hands each
# transaction whatever server connection is free: no session state survives a transaction, so
# the store runs with named prepared statements off and LISTEN off (runnable detection polls).
# PgBouncer refuses to run as root: as root it runs as the postgres user. It listens on a free
# TCP port of 127.0.0.1 (retried on a start failure) and on a socket in its own directory.
#
# Only stdout carries the exports. Exits non-zero with a message when it cannot start, leaving
# nothing behind.
set -euo pipefail

PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
if [[ ! -x $PGBOUNCER ]]; then
    echo "start_pgbouncer: $PGBOUNCER is missing: install pgbouncer (apt-get install -y pgbouncer)" >&2
    exit 1
fi
: "${PGHOST:?start_pgbouncer: PGHOST (the cluster, from start_cluster.sh) is not set}"
: "${PGPORT:?start_pgbouncer: PGPORT is not set}"

run_as=()
if [[ $(id -u) -eq 0 ]]; then
    run_as=(runuser -u postgres --)
fi

dir=""
cleanup_on_failure() {
    [[ -n $dir ]] || return 0
    if [[ -f $dir/pgbouncer.pid ]]; then
        kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup_on_failure ERR
trap 'cleanup_on_failure; exit 130' INT
trap 'cleanup_on_failure; exit 143' TERM
trap 'cleanup_on_failure; exit 129' HUP

dir=$(mktemp -d /tmp/dpgb.XXXXXX)
touch "$dir/.durable-throwaway-pgbouncer"
# The throwaway cluster trusts local connections; PgBouncer trusts the users its auth_file lists.
cat >"$dir/userlist.txt" <<USERS
"postgres" ""
USERS

port_is_free() {
    ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

started=""
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    port_is_free "$port" || continue
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
; the tests open many connections (pools, blocking callers, set-up): enough for all of them
max_client_conn = 1000
default_pool_size = 20
; libpq sends none of these by default; drivers and tools that do are let in
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$dir"
    if "${run_as[@]}" "$PGBOUNCER" -d "$dir/pgbouncer.ini" >/dev/null 2>&1; then
        # -d returns once it has forked; wait until it accepts connections.
        for _ in $(seq 1 50); do
            if [[ -f $dir/pgbouncer.pid ]] && ! port_is_free "$port"; then
                started=$port
                break
            fi
            sleep 0.1
        done
        [[ -n $started ]] && break
        if [[ -f $dir/pgbouncer.pid ]]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
    fi
    echo "start_pgbouncer: could not start on port $port, trying another" >&2
    rm -f "$dir/pgbouncer.pid"
done
if [[ -z $started ]]; then
    echo "start_pgbouncer: PgBouncer did not start; its log:" >&2
    cat "$dir/pgbouncer.log" >&2 || true
    cleanup_on_failure
    exit 1
fi

echo "start_pgbouncer: PgBouncer (transaction pooling) in $dir on 127.0.0.1:$started, in front of $PGHOST:$PGPORT" >&2
cat <<EXPORTS
export DURABLE_PGBOUNCER_DIR=$dir
export DURABLE_PGBOUNCER_URL="host=127.0.0.1 port=$started user=${PGUSER:-postgres} dbname=${PGDATABASE:-postgres}"
EXPORTS
