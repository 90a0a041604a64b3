#!/usr/bin/env bash
# reminder: a durable timer set by one process fires in a later one, at its time and not before.
#
#     reminder.sh PATH/TO/reminder xml|pg
set -euo pipefail
. "$(dirname "$0")/common.sh"
bin=$1
store=$(sample_store "$2")
text="stretch-$$-$RANDOM"

set_at=$(date +%s%N)
run_ok "Reminder \"$text\" set for 3 s" "$bin" --store "$store" set --in 3s --text "$text"
grep -q "^Reminder: " "$work_dir/out" && fail "the reminder fired in the process that set it"
# A later process: the timer is in the store only. --exit-after ends the run once it has fired.
run_ok "Reminder: $text .*set by process" "$bin" --store "$store" run --for 20s --exit-after 1
grep -q "the host stopped gracefully" "$work_dir/out" || fail "the host did not stop gracefully"
fired_after_ms=$((($(date +%s%N) - set_at) / 1000000))
echo "fired and stopped ${fired_after_ms} ms after it was set"
((fired_after_ms >= 2900)) || fail "the reminder fired before it was due (${fired_after_ms} ms < 3 s)"
echo "PASS"
