#pragma once
// How a host behaves at persistence points and whom it registers as.

#include <durable/instance_value.hpp>
#include <durable/name.hpp>
#include <durable/workflow_identity.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

namespace durable::host {

/// What the host does when an instance becomes idle (the original's PersistableIdleAction).
enum class idle_action : std::uint8_t {
    unload = 0,   ///< save and unlock: the instance leaves memory (the default)
    persist = 1,  ///< save and keep it loaded and locked
    none = 2,     ///< keep it in memory without saving (a crash loses the work since the last save)
};

struct host_options {
    /// The lock owner's host type: runnable instances of this type come to this host. Required.
    name host_type;
    idle_action on_idle = idle_action::unload;
    /// With persist or none: unload an instance idle this long (the original's TimeToUnload).
    std::optional<std::chrono::milliseconds> unload_after_idle;
    /// Which instances of other definition versions the owner may load as runnable.
    identity_filter filter = identity_filter::exact;
    /// Reported to hosts that find an instance locked by this one.
    property_bag owner_metadata;
    /// Instances the runnable loop keeps in flight at once.
    std::size_t max_runnable_in_flight = 64;
    /// Told, one line each, of what the host does in the background that no caller waits for:
    /// a step that faulted an instance, a runnable instance it could not read, an owner it
    /// replaced. Called on the host's strand: keep it quick. Empty: lines go to stderr.
    std::function<void(const std::string&)> on_message;

    /// Throws std::invalid_argument naming the option that is out of range.
    void validate() const;
};

}  // namespace durable::host
