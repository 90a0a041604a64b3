#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster for tests and prints the PG* exports to use it:
#
#     eval "$(tests/pg/start_cluster.sh)"     # sets PGHOST PGPORT PGUSER PGDATABASE DURABLE_PG_CLUSTER
#     ...                                     # tests talk to it through the PG* variables
#     tests/pg/stop_cluster.sh                # stops it and removes its directory
#
# Follows ../shared/reference/postgres-notes.md: initdb and postgres refuse to run as root, so as
# root they run as the postgres user; the directory is short and under /tmp (a socket path must
# fit in 107 bytes and every parent must be traversable by that user); --no-locale -E UTF8
# because only C, C.UTF-8 and POSIX exist here; the socket lives in that directory; the TCP port
# is a free one, retried on a start failure. fsync, synchronous_commit and full_page_writes are
# off: this cluster is for functional tests, never for benchmarks. DURABLE_PG_SERVER_OPTIONS
# replaces those three settings (bench/run-pg.sh keeps PostgreSQL's durable defaults).
#
# Only stdout carries the exports; progress and errors go to stderr. Exits non-zero with a
# message when the cluster cannot be started, leaving nothing behind.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
for tool in initdb pg_ctl; do
    if [[ ! -x $PG_BIN/$tool ]]; then
        echo "start_cluster: $PG_BIN/$tool is missing: install postgresql-15 (apt-get install -y postgresql-15)" >&2
        exit 1
    fi
done

# As root, the server runs as postgres; otherwise as whoever runs this script.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        echo "start_cluster: running as root, but there is no postgres user to run the server as (postgresql-15 creates it)" >&2
        exit 1
    fi
    run_as=(runuser -u postgres --)
fi

dir=""
cleanup_on_failure() {
    [[ -n $dir ]] || return 0
    "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate -w >/dev/null 2>&1 || true
    rm -rf "$dir"
}
# A failure or an interrupt (INT, TERM, HUP) stops the server and removes the directory. The
# traps stay set to the very end, also after the exports are printed: whenever this script exits
# non-zero nothing is left, and whenever it exits 0 the caller holds the exports of what runs.
trap cleanup_on_failure ERR
trap 'cleanup_on_failure; exit 130' INT
trap 'cleanup_on_failure; exit 143' TERM
trap 'cleanup_on_failure; exit 129' HUP

dir=$(mktemp -d /tmp/dpg.XXXXXX)
# Marks the directory as ours, so stop_cluster.sh removes only what this script made.
touch "$dir/.durable-throwaway-cluster"
if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
fi

if ! "${run_as[@]}" "$PG_BIN/initdb" -D "$dir/data" --no-locale -E UTF8 --auth=trust --username=postgres \
        >"$dir/initdb.log" 2>&1; then
    echo "start_cluster: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    cleanup_on_failure
    exit 1
fi

port_is_free() {
    ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

server_options=${DURABLE_PG_SERVER_OPTIONS-"-c fsync=off -c synchronous_commit=off -c full_page_writes=off"}
started=""
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    port_is_free "$port" || continue
    if "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
            "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir \
             $server_options" >/dev/null 2>&1; then
        started=$port
        break
    fi
    echo "start_cluster: could not start on port $port, trying another" >&2
done
if [[ -z $started ]]; then
    echo "start_cluster: the server did not start; its log:" >&2
    cat "$dir/server.log" >&2 || true
    cleanup_on_failure
    exit 1
fi

echo "start_cluster: PostgreSQL running in $dir on port $started (socket in the same directory)" >&2
cat <<EXPORTS
export PGHOST=$dir
export PGPORT=$started
export PGUSER=postgres
export PGDATABASE=postgres
export DURABLE_PG_CLUSTER=$dir
EXPORTS
