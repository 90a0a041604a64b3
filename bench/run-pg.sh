#!/usr/bin/env bash
# Runs durable-bench's PostgreSQL scenarios against a throwaway PostgreSQL 15 cluster with the
# server's durable defaults (fsync, synchronous_commit and full_page_writes on: unlike the test
# cluster), removed afterwards, also on failure or interrupt. Arguments go to durable-bench.
#
#     bench/run-pg.sh [BUILD_DIR] [durable-bench options...]   # BUILD_DIR default build/default
#     bench/run-pg.sh build/default --only save --sizes 4 --threads 1,16
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/default
if [[ $# -gt 0 && $1 != --* ]]; then
    build=$1
    shift
fi
bench=$build/bench/durable-bench
[[ -x $bench ]] || { echo "run-pg: $bench is missing: cmake --build $build --target durable-bench" >&2; exit 1; }

cluster=""
stop() {
    [[ -n $cluster ]] || return 0
    bash tests/pg/stop_cluster.sh "$cluster" || true
    cluster=""
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The store's pool and pgbench each open up to 64 connections, side by side.
exports=$(DURABLE_PG_SERVER_OPTIONS="-c max_connections=200" bash tests/pg/start_cluster.sh)
eval "$exports"
cluster=$DURABLE_PG_CLUSTER
"$bench" --pg "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" "$@"
