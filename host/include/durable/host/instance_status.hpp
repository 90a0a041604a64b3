#pragma once
// What a host reports of an instance: where it is, what it waits for, what it holds.

#include <durable/host/definition.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace durable::host {

using durable::to_string;  // uuids, values and identities, beside run_status's below

enum class run_status : std::uint8_t {
    running = 0,     ///< has work to do now (or is doing it)
    waiting = 1,     ///< idle: waits for a bookmark or a timer (or a retry's back-off)
    completed = 2,
    faulted = 3,     ///< a step failed with no retries left; error says why
    terminated = 4,  ///< terminated by a caller; error holds the reason
};

const char* to_string(run_status s) noexcept;
std::ostream& operator<<(std::ostream& out, run_status s);

struct instance_status {
    uuid instance_id;
    workflow_identity definition;
    run_status status = run_status::running;
    std::string step;                          ///< the step that runs next (or ran last)
    std::vector<bookmark_route> bookmarks;     ///< what it waits for
    std::optional<timestamp> timer_due;        ///< its durable timer (store clock)
    std::string timer_step;
    std::int64_t attempt = 1;                  ///< of the current step
    bool suspended = false;
    std::string suspension_reason;
    std::string error;                         ///< fault or termination reason
    variables vars;
    variables outputs;                         ///< completed instances (kept by the store) only
    bool loaded_here = false;                  ///< held in this host's memory right now
};

}  // namespace durable::host
