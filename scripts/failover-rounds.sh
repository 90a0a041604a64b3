#!/usr/bin/env bash
# Repeated SIGKILL rounds over many instances of the failover sample, then the invariants:
# every step of every instance counted exactly once (never lost, never twice), no two workers
# ever running steps of one instance at the same time (the step log), every instance finished,
# and the surviving workers stopping gracefully.
#
#     scripts/failover-rounds.sh [ROUNDS]      # default 100 (about 5 minutes); CI runs 3
#
# Each round starts a few instances, waits 1-2.5 s, kills a random worker with SIGKILL (it
# holds instances: workers keep them loaded between steps) and starts a replacement, so three
# workers always run. A killed worker's instances wait for its lease to run out (31 s: the
# sample renews every second) and then go to the others, while the rounds go on.
#
# Environment:
#   FAILOVER_BIN          the failover program (default: build/default/samples/failover/failover)
#   FAILOVER_STORE        the --store value; default: DURABLE_PG_TEST_URL, or else a throwaway
#                         PostgreSQL cluster this script starts and removes (tests/pg/start_cluster.sh);
#                         an XML store directory works too
#   FAILOVER_REQUIRE_URL  1: fail when neither FAILOVER_STORE nor DURABLE_PG_TEST_URL is set
#                         (the CI test sets it, so it never starts a cluster of its own)
#   FAILOVER_WORKERS      workers running at once (default 3)
#   FAILOVER_PER_ROUND    instances started per round (default 6)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

rounds=${1:-100}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]  (a whole number, at least 1)" >&2; exit 2; }
bin=${FAILOVER_BIN:-$repo/build/default/samples/failover/failover}
workers=${FAILOVER_WORKERS:-3}
per_round=${FAILOVER_PER_ROUND:-6}
steps=4
[[ -x $bin ]] || { echo "failover-rounds: $bin is missing: build it (cmake --build --preset default --target failover)" >&2; exit 1; }

work=$(mktemp -d /tmp/durable-failover-rounds.XXXXXX)
cluster=""
declare -A worker_pid=()  # name -> pid of the live workers
cleanup() {
    for pid in "${worker_pid[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [[ -n $cluster ]]; then bash "$repo/tests/pg/stop_cluster.sh" "$cluster" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

store=${FAILOVER_STORE:-${DURABLE_PG_TEST_URL:-}}
if [[ -z $store ]]; then
    if [[ ${FAILOVER_REQUIRE_URL:-0} == 1 ]]; then
        echo "failover-rounds: DURABLE_PG_TEST_URL is not set: this run needs a database (scripts/test.sh starts one)" >&2
        exit 1
    fi
    exports=$(bash "$repo/tests/pg/start_cluster.sh")
    eval "$exports"
    cluster=$DURABLE_PG_CLUSTER
    store="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
fi

batch="rounds-$$-$RANDOM"
log=$work/steps.log
next_worker=1

start_worker() {
    local name="w$next_worker"
    next_worker=$((next_worker + 1))
    "$bin" --store "$store" worker --name "$name" --log "$log" >"$work/$name.out" 2>&1 &
    worker_pid[$name]=$!
}

show_worker_tails() {
    for out in "$work"/w*.out; do
        echo "--- $(basename "$out" .out) (last lines)"
        tail -n 5 "$out"
    done
}

started=$SECONDS
echo "failover-rounds: $rounds round(s), $workers workers, $per_round instance(s) of $steps steps per round, batch $batch"
for _ in $(seq 1 "$workers"); do start_worker; done

kills=0
for round in $(seq 1 "$rounds"); do
    first=$(((round - 1) * per_round + 1))
    "$bin" --store "$store" start --count "$per_round" --first "$first" --batch "$batch" --steps "$steps" \
        --pause 500ms --step-time 100ms >"$work/start.out" 2>&1 || {
        cat "$work/start.out"
        echo "failover-rounds: round $round: starting instances failed" >&2
        exit 1
    }
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"
    names=("${!worker_pid[@]}")
    victim=${names[RANDOM % ${#names[@]}]}
    kill -KILL "${worker_pid[$victim]}"
    wait "${worker_pid[$victim]}" 2>/dev/null || true
    unset "worker_pid[$victim]"
    kills=$((kills + 1))
    start_worker
    if ((round % 10 == 0 || round == rounds)); then
        echo "round $round: killed $victim; $((round * per_round)) instance(s) started, $((SECONDS - started)) s so far"
    fi
done

total=$((rounds * per_round))
echo "failover-rounds: waiting for all $total instance(s) to finish (a killed worker's instances wait out its 31 s lease)"
if ! "$bin" --store "$store" check --count "$total" --batch "$batch" --steps "$steps" --wait 150s --log "$log" \
        >"$work/check.out" 2>&1; then
    grep -v "each once" "$work/check.out"
    show_worker_tails
    echo "failover-rounds: FAILED after $((SECONDS - started)) s" >&2
    exit 1
fi
grep -Ev "\(each once\)" "$work/check.out"

# The survivors stop gracefully: each unloads what it holds and deletes its owner.
failed_stop=0
for name in "${!worker_pid[@]}"; do kill -TERM "${worker_pid[$name]}"; done
for name in "${!worker_pid[@]}"; do
    status=0
    wait "${worker_pid[$name]}" || status=$?
    if [[ $status -ne 0 ]] || ! grep -q "stopped gracefully" "$work/$name.out"; then
        echo "failover-rounds: worker $name did not stop gracefully (status $status):" >&2
        tail -n 20 "$work/$name.out" >&2
        failed_stop=1
    fi
done
worker_pid=()
((failed_stop == 0)) || exit 1
echo "failover-rounds: PASS: $rounds round(s), $kills SIGKILL(s), $total instance(s) x $steps steps each counted once," \
    "no instance run by two workers at once, in $((SECONDS - started)) s"
