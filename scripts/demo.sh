#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs the store-basics
# sample (the raw store API: owner, save, unload, load, load by key, complete).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target store-basics
./build/default/samples/store-basics/store-basics
