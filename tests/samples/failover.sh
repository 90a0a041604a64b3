#!/usr/bin/env bash
# failover: worker A takes every instance of a batch and keeps it loaded between steps. A is
# killed with SIGKILL while it holds them all, and worker B starts; once A's lease has run out
# (about 31 s) B finishes them. Every step must be counted exactly once, the takeover must show
# in the instances' traces (steps run by A, then by B), no two workers may have run steps of one
# instance at once, and B must stop gracefully on SIGTERM.
#
#     failover.sh PATH/TO/failover xml|pg
set -euo pipefail
. "$(dirname "$0")/common.sh"
bin=$1
store=$(sample_store "$2")
batch="e2e-$$-$RANDOM"
count=4
steps=5
log=$work_dir/steps.log

pids=()
stop_workers() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    cleanup_work_dir
}
trap stop_workers EXIT

# wait_for SECONDS FILE PATTERN [COUNT]: until FILE has COUNT lines matching PATTERN
wait_for() {
    local deadline=$((SECONDS + $1)) file=$2 pattern=$3 want=${4:-1}
    until [[ -f $file ]] && (($(grep -Ec -- "$pattern" "$file" || true) >= want)); do
        ((SECONDS < deadline)) || fail "gave up after $1 s waiting for $want line(s) '$pattern' in $file"
        sleep 0.1
    done
}

started=$SECONDS
"$bin" --store "$store" worker --name A --log "$log" >"$work_dir/A.out" 2>&1 &
pids+=($!)
a_pid=$!
wait_for 20 "$work_dir/A.out" "worker running"
run_ok "started $count instance" "$bin" --store "$store" start --count "$count" --batch "$batch" --steps "$steps" \
    --pause 1s --step-time 200ms
# Every instance has run a step on A, which now holds them all (idle: persist). A is killed at
# once, before B starts: however slowly B starts on a loaded machine, A cannot have finished them.
wait_for 30 "$log" "^failover/$batch/[0-9]+ 1 A " "$count"
kill -KILL "$a_pid"
killed_at=$SECONDS
echo "killed worker A (process $a_pid) with SIGKILL while it held the $count instances"
"$bin" --store "$store" worker --name B --log "$log" >"$work_dir/B.out" 2>&1 &
pids+=($!)
b_pid=$!
wait_for 20 "$work_dir/B.out" "worker running"

run_ok "all $count instance\(s\) of batch $batch finished; every step was counted exactly once" \
    "$bin" --store "$store" check --count "$count" --batch "$batch" --steps "$steps" --wait 120s --log "$log"
grep -Eq "@A .*@B" "$work_dir/out" || fail "no instance shows steps by A and then by B"
echo "B finished them $((SECONDS - killed_at)) s after the kill"

kill -TERM "$b_pid"
status=0
wait "$b_pid" || status=$?
sed 's/^/  B | /' "$work_dir/B.out"
[[ $status -eq 0 ]] || fail "worker B exited with status $status after SIGTERM"
grep -q "B: stopped gracefully" "$work_dir/B.out" || fail "worker B did not say it stopped gracefully"
echo "PASS in $((SECONDS - started)) s"
