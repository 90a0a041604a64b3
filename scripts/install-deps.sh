#!/usr/bin/env bash
# Installs the Debian packages durable needs, when any is missing. Boost 1.81 replaces the
# default 1.74 packages (1.74 lacks any_completion_handler, deferred and per-operation
# cancellation).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-14
  libboost1.81-dev libboost-test1.81-dev
  libpq-dev libpugixml-dev zlib1g-dev libzstd-dev
  # tests: expat checks that every XML file is well-formed; locales gives localedef a
  # decimal-comma locale to build; libclang-rt-14-dev is libFuzzer and clang's sanitizers
  libexpat1-dev locales libclang-rt-14-dev
  # g++'s sanitizer runtimes (ASan + UBSan; TSan for the multi-threaded conformance run);
  # util-linux gives setarch, which runs the TSan tests without address randomisation
  libasan8 libubsan1 libtsan2 util-linux
  # the SQL install test (tests/pg): initdb, pg_ctl, postgres, psql and pg_dump in
  # /usr/lib/postgresql/15/bin (the server package also creates the postgres user the server runs
  # as under root); iproute2 gives ss, which start_cluster.sh uses to pick a free port
  postgresql-15 postgresql-client-15 iproute2
  # the PgBouncer test (tests/pg/start_pgbouncer.sh): Debian's pgbouncer 1.18, transaction pooling
  pgbouncer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
