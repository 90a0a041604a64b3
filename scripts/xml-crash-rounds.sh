#!/usr/bin/env bash
# Kills a process that saves to an XML store with SIGKILL, ROUNDS times (default 1000), and
# checks after each kill that every acknowledged save is there in full, no file is torn, and
# the next save works. CI runs 50 rounds as part of scripts/test.sh.
#   scripts/xml-crash-rounds.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-1000}"
cmake --preset default >/dev/null
cmake --build --preset default --target durable_xml_tests
DURABLE_CRASH_ROUNDS="$rounds" ./build/default/tests/xml/durable_xml_tests \
  --run_test=processes/sigkill_during_saves_loses_nothing_acknowledged --log_level=message --report_level=short
