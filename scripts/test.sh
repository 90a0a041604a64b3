#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test suite,
# then builds and runs the unit and conformance suites again under ASan + UBSan (g++), and the
# test suites once more with clang 14.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

step() { printf '\n== %s\n' "$*"; }

step "configure and build (RelWithDebInfo, g++)"
cmake --preset default
cmake --build --preset default

step "run all tests"
ctest --preset default

step "build and run unit + conformance tests under ASan + UBSan"
cmake --preset sanitize
cmake --build --preset sanitize --target durable_unit_tests durable_conformance_memory durable_conformance_xml
ctest --preset sanitize -L "unit|conformance"

step "build and run the test suites with clang 14 (the second compiler)"
cmake --preset clang
cmake --build --preset clang --target durable_unit_tests durable_conformance_memory durable_conformance_xml durable_xml_tests
ctest --preset clang -L "unit|conformance|xml"

step "all suites passed"
