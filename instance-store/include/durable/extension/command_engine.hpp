#pragma once
// Extension API: the original's command semantics (LockInstance decision table, LoadInstance operation types,
// SaveInstance, keys, runnable queue, lock recovery), written once over a record_store.

#include <durable/extension/record_store.hpp>
#include <durable/store_backend.hpp>
#include <durable/store_clock.hpp>
#include <durable/store_options.hpp>

#include <stop_token>

namespace durable::extension {

/// Runs one command in one exclusive, all-or-nothing transaction on `records`. Never throws
/// for store conditions: record_error and codec failures come back as error codes. `stop`
/// cancels the wait for the exclusive guard (operation_aborted); once the command holds it, it
/// runs to the end.
error_code run_engine_command(record_store& records, const store_options& options,
                              const command_request& request, command_outcome& outcome, std::stop_token stop = {});

}  // namespace durable::extension
