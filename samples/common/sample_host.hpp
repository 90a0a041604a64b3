#pragma once
// Helpers the host samples share.

#include <durable/host/workflow_host.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace durable::samples {

/// Runs `action`, then stops `host` gracefully (every loaded instance is saved and unlocked,
/// the lock owner deleted) whether or not `action` failed, then passes on `action`'s outcome.
/// A process that exits without that stop leaves its owner to expire with its lease.
boost::asio::awaitable<int> run_then_stop(host::workflow_host& host, boost::asio::awaitable<int> action);

/// Why run_until returned.
enum class stop_reason : std::uint8_t {
    time_up,    ///< `wake` expired
    woken,      ///< someone cancelled `wake` (e.g. a step that saw what it waited for)
    signalled,  ///< SIGINT or SIGTERM
};

/// Runs the host's runnable loop (async_run) until `wake` expires or is cancelled, or SIGINT or
/// SIGTERM arrives, then stops the host gracefully and waits for the loop to end. A loop that
/// fails ends the wait too, and its error is thrown. `wake` must be set to expire before the
/// call; cancelling it before the call has no effect.
boost::asio::awaitable<stop_reason> run_until(host::workflow_host& host, boost::asio::steady_timer& wake);

/// "waiting", "completed", ... with the suspension, in words.
std::string describe_status(const host::instance_status& status);

}  // namespace durable::samples
