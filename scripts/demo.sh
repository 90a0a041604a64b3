#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, runs the store-basics sample (the
# raw store API: owner, save, unload, load, load by key, complete), then shows a workflow that
# outlives its process: order-approval across real process restarts on the XML store, and a
# reminder (a durable timer) that fires in a later process. Everything it writes goes to a
# temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target store-basics order-approval reminder
./build/default/samples/store-basics/store-basics

samples=$PWD/build/default/samples
demo_dir=$(mktemp -d /tmp/durable-demo.XXXXXX)
trap 'rm -rf "$demo_dir"' EXIT
store=$demo_dir/store

bold=""
plain=""
if [[ -t 1 ]]; then
    bold=$(tput bold 2>/dev/null || true)
    plain=$(tput sgr0 2>/dev/null || true)
fi
title() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '\n%s\n' "$*"; }
# Runs one sample process, showing the command as typed (the store path shortened).
run() {
    local program=$1
    shift
    printf '%s$ %s --store $STORE%s%s\n' "$bold" "$program" "$(printf ' %q' "$@")" "$plain"
    "$samples/$program/$program" --store "$store" "$@" 2>&1
}

title "A workflow that outlives its process: order-approval on the XML store"
say "The store is a directory of XML files, STORE=$store; no server is involved.
Each command below is a new process: it registers as a host, does one thing, saves what it holds, and exits."

say "1. Start the approval workflow for order 42. Its first step records the request, then the
workflow waits for one of two bookmarks, \"approve\" or \"reject\". Waiting is a persistence point:
the host saves the instance with its correlation key order/42 and unloads it."
run order-approval start --order 42 --amount 99.50

say "That process has exited. The workflow now exists only in the store's files:"
(cd "$store" && find instances keys -name '*.xml' | sort | sed 's/^/    /')

say "2. A new process asks where order 42 is. It knows nothing but the order number: the key
order/42 leads it to the instance, which it loads, reads and unloads again."
run order-approval status --order 42

say "3. Another process approves the order. It loads the instance by its key, resumes the
\"approve\" bookmark, runs the next step, and the workflow completes (the store keeps completed
instances here, so status can still say so)."
run order-approval approve --order 42 --by "${USER:-demo}"
run order-approval status --order 42

say "4. Mistakes get plain answers, not stack traces: approving an order that was never started,
and approving order 42 a second time."
run order-approval approve --order 7 || echo "    (exit status $?)"
run order-approval approve --order 42 || echo "    (exit status $?)"

title "A durable timer that fires after a restart: reminder"
store=$demo_dir/reminders
say "1. Set a reminder for 3 seconds from now. The workflow's first step sleeps: a durable timer.
The host saves the instance with its due time, and the process exits at once, long before the
reminder is due."
run reminder set --in 3s --text "stretch your legs"

say "2. A new process runs a host loop. It has never heard of the reminder; when the timer is
due the store reports a runnable instance, the host loads it and runs the step after the sleep,
which prints the reminder. Then the host stops gracefully."
run reminder run --for 15s --exit-after 1

title "Done"
say "Both workflows crossed a process restart through the store alone. The same programs run on
PostgreSQL with --store postgresql://..., and samples/failover shows two hosts where one is
killed and the other takes over its instances (README, \"Samples\")."
