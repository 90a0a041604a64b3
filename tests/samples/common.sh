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

run_ok() {
    local pattern=$1
    shift
    echo "\$ $(basename "$1") ${*:2}"
    local status=0
    "$@" >"$work_dir/out" 2>"$work_dir/err" || status=$?
    sed 's/^/  | /' "$work_dir/out" "$work_dir/err"
    [[ $status -eq 0 ]] || fail "exit status $status, expected 0"
    grep -Eq -- "$pattern" "$work_dir/out" || fail "the output does not say: $pattern"
}

run_refused() {
    local pattern=$1
    shift
    echo "\$ $(basename "$1") ${*:2}"
    local status=0
    "$@" >"$work_dir/out" 2>"$work_dir/err" || status=$?
    sed 's/^/  | /' "$work_dir/out" "$work_dir/err"
    [[ $status -eq 1 ]] || fail "exit status $status, expected 1 (a refusal)"
    grep -Eq -- "$pattern" "$work_dir/err" || fail "the error does not say: $pattern"
}
