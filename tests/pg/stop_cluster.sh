#!/usr/bin/env bash
# Stops a cluster made by start_cluster.sh and removes its directory.
#
#     tests/pg/stop_cluster.sh [DIRECTORY]    # default: $DURABLE_PG_CLUSTER
#
# Refuses a directory that start_cluster.sh did not make (it carries a marker file), so a wrong
# argument cannot remove anything else. Safe to run twice.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
dir=${1:-${DURABLE_PG_CLUSTER:-}}
if [[ -z $dir ]]; then
    echo "stop_cluster: no cluster directory given and DURABLE_PG_CLUSTER is not set" >&2
    exit 1
fi
if [[ ! -e $dir ]]; then
    echo "stop_cluster: $dir is already gone" >&2
    exit 0
fi
if [[ ! -f $dir/.durable-throwaway-cluster ]]; then
    echo "stop_cluster: $dir was not made by start_cluster.sh; not touching it" >&2
    exit 1
fi

run_as=()
[[ $(id -u) -eq 0 ]] && run_as=(runuser -u postgres --)
if [[ -f $dir/data/postmaster.pid ]]; then
    # -w waits for the pid file to go, which is enough even if the postmaster lingers as a zombie.
    "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" stop -m fast -w -t 60 >/dev/null 2>&1 ||
        "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate -w -t 60 >/dev/null 2>&1 || {
            echo "stop_cluster: the server in $dir would not stop" >&2
            exit 1
        }
fi
rm -rf "$dir"
echo "stop_cluster: removed $dir" >&2
