#!/usr/bin/env bash
# order-approval across process restarts: start (the process exits while the workflow waits),
# status and approve from new processes, found by the order's key; a second start, an unknown
# order and a second decision are clear refusals; reject takes the other branch.
#
#     order_approval.sh PATH/TO/order-approval xml|pg
set -euo pipefail
. "$(dirname "$0")/common.sh"
bin=$1
store=$(sample_store "$2")
# Orders unique to this run: a PostgreSQL database is shared between runs.
order="e2e-$$-$RANDOM"
other="$order-b"

run_ok "order $order is waiting for a decision \(approve or reject\)" "$bin" --store "$store" start --order "$order"
run_ok "order $order is waiting for a decision" "$bin" --store "$store" status --order "$order"
run_refused "order $order already has an approval workflow" "$bin" --store "$store" start --order "$order"
run_refused "there is no approval workflow for order missing-$order" "$bin" --store "$store" approve --order "missing-$order"
run_refused "there is no approval workflow for order missing-$order" "$bin" --store "$store" status --order "missing-$order"
run_ok "order $order is completed: approved by tester" "$bin" --store "$store" approve --order "$order" --by tester
run_ok "order $order is completed" "$bin" --store "$store" status --order "$order"
run_refused "order $order is already decided" "$bin" --store "$store" approve --order "$order"
run_refused "order $order is already decided" "$bin" --store "$store" reject --order "$order"

run_ok "waiting for a decision" "$bin" --store "$store" start --order "$other"
run_ok "order $other is completed: rejected by tester \(over budget\)" \
    "$bin" --store "$store" reject --order "$other" --by tester --reason "over budget"
echo "PASS"
