#!/usr/bin/env bash
# Stops a PgBouncer made by start_pgbouncer.sh and removes its directory.
#
#     tests/pg/stop_pgbouncer.sh [DIRECTORY]    # default: $DURABLE_PGBOUNCER_DIR
#
# Refuses a directory that start_pgbouncer.sh did not make (it carries a marker file). Safe to
# run twice.
set -euo pipefail

dir=${1:-${DURABLE_PGBOUNCER_DIR:-}}
if [[ -z $dir ]]; then
    echo "stop_pgbouncer: no directory given and DURABLE_PGBOUNCER_DIR is not set" >&2
    exit 1
fi
if [[ ! -e $dir ]]; then
    echo "stop_pgbouncer: $dir is already gone" >&2
    exit 0
fi
if [[ ! -f $dir/.durable-throwaway-pgbouncer ]]; then
    echo "stop_pgbouncer: $dir was not made by start_pgbouncer.sh; not touching it" >&2
    exit 1
fi
if [[ -f $dir/pgbouncer.pid ]]; then
    pid=$(cat "$dir/pgbouncer.pid")
    # SIGINT: safe shutdown (waits for the transactions in flight, which are none by now).
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 0.5
    fi
fi
rm -rf "$dir"
echo "stop_pgbouncer: removed $dir" >&2
