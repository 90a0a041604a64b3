#!/usr/bin/env bash
# Runs psql_install_test.sh against a throwaway PostgreSQL 15 cluster of its own (start_cluster.sh)
# and removes that cluster afterwards, whether the test passes, fails, times out or is
# interrupted: no server keeps running and no directory stays behind. This is the step
# scripts/test.sh runs; it needs postgresql-15 and postgresql-client-15 (scripts/install-deps.sh).
# As root, the server runs as the postgres user (see start_cluster.sh).
#
#     tests/pg/run_install_test.sh
#
# DURABLE_PG_TEST_TIMEOUT: seconds before a hanging test is stopped (default 600; it takes ~15 s).
# PG_BIN: the PostgreSQL binaries (default /usr/lib/postgresql/15/bin); psql and pg_dump are
# taken from there too. Exits 0 when the test passed and the cluster was removed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PATH=$PG_BIN:$PATH
timeout_seconds=${DURABLE_PG_TEST_TIMEOUT:-600}

say() { echo "pg install test: $*" >&2; }

cluster=""
scratch=""
test_pid=""
started_at=$SECONDS

finish() {
    local status=$?
    set +e
    # A second interrupt must not cut the clean-up short; every wait below is bounded.
    trap '' INT TERM HUP
    if [[ -n $test_pid ]] && kill -0 "$test_pid" 2>/dev/null; then
        say "stopping the test (pid $test_pid)"
        kill -TERM "$test_pid" 2>/dev/null  # timeout passes it on, and kills after 10 s
        wait "$test_pid" 2>/dev/null
    fi
    if [[ -n $cluster ]]; then
        say "stopping the throwaway cluster"
        if ! "$here/stop_cluster.sh" "$cluster"; then
            say "FAILED to stop the cluster in $cluster"
            ((status != 0)) || status=1
        fi
    fi
    [[ -z $scratch ]] || rm -rf "$scratch"
    if ((status == 0)); then
        say "passed in $((SECONDS - started_at)) s"
    else
        say "FAILED (exit status $status) after $((SECONDS - started_at)) s"
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say "starting a throwaway PostgreSQL cluster ($PG_BIN)"
# An assignment keeps start_cluster.sh's exit status (eval "$(...)" would lose it).
exports=$("$here/start_cluster.sh") || { say "could not start the cluster (start_cluster.sh removed what it made)"; exit 1; }
eval "$exports"
cluster=$DURABLE_PG_CLUSTER

# The test's own temporary files go to a directory removed here, even if the test is killed.
scratch=$(mktemp -d /tmp/dpgt.XXXXXX)

say "running psql_install_test.sh (timeout ${timeout_seconds} s)"
# In the background with wait, so that an interrupt reaches the trap at once.
TMPDIR=$scratch timeout --kill-after=10 "$timeout_seconds" bash "$here/psql_install_test.sh" &
test_pid=$!
status=0
wait "$test_pid" || status=$?
test_pid=""
if ((status == 124)); then
    say "the test did not finish within $timeout_seconds s"
fi
exit "$status"
