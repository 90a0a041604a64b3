#!/usr/bin/env bash
# The README's test command: installs what is missing, applies and checks the SQL scripts with
# psql on a throwaway PostgreSQL 15 cluster (tests/pg/run_install_test.sh), builds, and runs every
# test suite, then builds and runs the unit, conformance, XML, PostgreSQL and host suites again under ASan + UBSan
# (g++), the conformance suites under ThreadSanitizer, the test suites once more with clang 14, and each fuzz target for a short while
# (libFuzzer, clang 14, ASan + UBSan). DURABLE_FUZZ_SECONDS sets the fuzzing time per target
# (default 30). The PostgreSQL suites (conformance.pg, pg) run against a throwaway cluster that
# this script starts before the test run and removes afterwards, also when a test fails; they
# find it through DURABLE_PG_TEST_URL and fail (never skip) without it. The PostgreSQL
# conformance suite runs a second time through a transaction-pooling PgBouncer
# (tests/pg/start_pgbouncer.sh), stopped and removed afterwards like the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

step() { printf '\n== %s\n' "$*"; }

step "SQL install test: sql/scripts with psql on a throwaway PostgreSQL 15 cluster (tests/pg)"
bash tests/pg/run_install_test.sh

step "configure and build (RelWithDebInfo, g++)"
cmake --preset default
cmake --build --preset default

step "start a throwaway PostgreSQL 15 cluster for the PostgreSQL suites (tests/pg/start_cluster.sh)"
pg_cluster=""
stop_pg_cluster() {
  [[ -n $pg_cluster ]] || return 0
  bash tests/pg/stop_cluster.sh "$pg_cluster" || echo "test.sh: could not remove the cluster in $pg_cluster" >&2
  pg_cluster=""
}
pgbouncer_dir=""
stop_pgbouncer() {
  [[ -n $pgbouncer_dir ]] || return 0
  bash tests/pg/stop_pgbouncer.sh "$pgbouncer_dir" || echo "test.sh: could not remove the PgBouncer in $pgbouncer_dir" >&2
  pgbouncer_dir=""
}
# PgBouncer first: it sits in front of the cluster.
trap 'stop_pgbouncer; stop_pg_cluster' EXIT
# An assignment keeps start_cluster.sh's exit status (eval "$(...)" would lose it).
pg_exports=$(bash tests/pg/start_cluster.sh)
eval "$pg_exports"
pg_cluster=$DURABLE_PG_CLUSTER
export DURABLE_PG_TEST_URL="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"

step "run all tests"
ctest --preset default

step "the PostgreSQL conformance suite through PgBouncer 1.18 (transaction pooling: prepared statements and LISTEN off)"
pgbouncer_exports=$(bash tests/pg/start_pgbouncer.sh)
eval "$pgbouncer_exports"
pgbouncer_dir=$DURABLE_PGBOUNCER_DIR
DURABLE_PG_TEST_URL="$DURABLE_PGBOUNCER_URL" DURABLE_PG_TEST_POOLING=transaction \
  build/default/tests/conformance/durable_conformance_pg --log_level=test_suite --report_level=short
stop_pgbouncer

step "build and run the unit, conformance, XML, PostgreSQL and host tests under ASan + UBSan"
cmake --preset sanitize
cmake --build --preset sanitize --target durable_unit_tests durable_conformance_memory durable_conformance_xml \
  durable_xml_tests durable_conformance_pg durable_pg_tests durable_host_tests
ctest --preset sanitize -L "unit|conformance|xml|pg|host"
stop_pg_cluster

step "build and run the conformance suites under ThreadSanitizer (a multi-threaded io_context)"
cmake --preset tsan
cmake --build --preset tsan --target durable_conformance_memory durable_conformance_xml
# Debian 12 kernels randomise mmap with more bits than this TSan's shadow layout allows: run
# with address randomisation off for the test processes only.
setarch "$(uname -m)" -R ctest --preset tsan

step "build and run the test suites with clang 14 (the second compiler)"
cmake --preset clang
cmake --build --preset clang --target durable_unit_tests durable_conformance_memory durable_conformance_xml durable_xml_tests \
  durable_host_tests
ctest --preset clang -L "unit|conformance|xml|host"

step "fuzz the codec and the XML record reader (${DURABLE_FUZZ_SECONDS:-30} s per target)"
bash scripts/fuzz.sh "${DURABLE_FUZZ_SECONDS:-30}"

step "all suites passed"
