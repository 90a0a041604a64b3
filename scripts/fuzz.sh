#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang 14, ASan + UBSan) and runs each one for
# the given number of seconds, starting from seeds the current code writes. Exits non-zero on
# any finding (crash, sanitizer report, leak, timeout, a single allocation over 256 MiB) and
# prints the path of the input that caused it. The corpus grows in a temporary directory, never
# in the repository.
#
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
#
# DURABLE_FUZZ_BUILD_DIR overrides the build directory (default build/fuzz);
# CMAKE_BUILD_PARALLEL_LEVEL limits the build's jobs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(durable_fuzz_codec durable_fuzz_xml_records)
build_dir="${DURABLE_FUZZ_BUILD_DIR:-build/fuzz}"

cmake --preset fuzz -B "$build_dir"
cmake --build "$build_dir" --target "${targets[@]}" durable_fuzz_seeds

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$build_dir/tests/fuzz/durable_fuzz_seeds" "$work/seeds"

# Findings outlive the run (CI can keep them); they go beside the build, which git ignores.
findings="$build_dir/fuzz-findings"
failed=0
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "$findings/$target"
  cp -r "$work/seeds/$target/." "$corpus/"
  log="$findings/$target/last-run.log"
  printf '\n== %s: %s s from %s seeds\n' "$target" "$seconds" "$(ls "$corpus" | wc -l)"
  if "$build_dir/tests/fuzz/$target" "$corpus" \
      -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$findings/$target/" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
    printf '%s: no finding (%s inputs in the corpus)\n' "$target" "$(ls "$corpus" | wc -l)"
  else
    failed=1
    tail -n 40 "$log"
    crash="$(grep -o 'Test unit written to .*' "$log" | sed 's/^Test unit written to //' | tail -n 1)"
    printf '\n%s: FINDING; input: %s\n  reproduce: %s %s\n  full log: %s\n' \
      "$target" "${crash:-(none written; see the log)}" "$build_dir/tests/fuzz/$target" "${crash:-}" "$log"
  fi
done
exit "$failed"
