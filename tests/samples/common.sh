# Shared by the end-to-end sample tests (sourced). Each test runs sample programs as separate
# processes, so every restart in them is a real one.
#
# sample_store xml|pg   prints the --store value: a fresh XML store directory (removed when the
#                       test exits), or DURABLE_PG_TEST_URL, which scripts/test.sh exports; a
#                       PostgreSQL test fails, never skips, without it.
# run_ok PATTERN CMD... runs CMD, which must exit 0 and print PATTERN (grep -E) on stdout
# run_refused PATTERN CMD...
#                       CMD must exit 1 (a clear refusal, not a crash or a signal) and print
#                       PATTERN on stderr
# Both echo what ran and what it printed, so a failing test's log tells the story.

work_dir=$(mktemp -d /tmp/durable-e2e.XXXXXX)
cleanup_work_dir() { rm -rf "$work_dir"; }
trap cleanup_work_dir EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

sample_store() {
    case $1 in
        xml) echo "$work_dir/store" ;;
        pg)
            [[ -n ${DURABLE_PG_TEST_URL:-} ]] ||
                fail "DURABLE_PG_TEST_URL is not set: the PostgreSQL sample tests need a database (scripts/test.sh starts one)"
            echo "$DURABLE_PG_TEST_URL"
            ;;
        *) fail "unknown store kind '$1' (xml or pg)" ;;
    esac
}

# run_expecting STATUS STREAM PATTERN COMMAND...: runs COMMAND, shows what it printed, and fails
# unless it exited with STATUS and its STREAM (out or err) matches PATTERN.
run_expecting() {
    local want=$1 stream=$2 pattern=$3
    shift 3
    echo "\$ $(basename "$1") ${*:2}"
    local status=0
    "$@" >"$work_dir/out" 2>"$work_dir/err" || status=$?
    sed 's/^/  | /' "$work_dir/out" "$work_dir/err"
    [[ $status -eq $want ]] || fail "exit status $status, expected $want"
    local what=output
    if [[ $stream == err ]]; then what=error; fi
    grep -Eq -- "$pattern" "$work_dir/$stream" || fail "the $what does not say: $pattern"
}

run_ok() { run_expecting 0 out "$@"; }
run_refused() { run_expecting 1 err "$@"; }  # 1: a refusal
