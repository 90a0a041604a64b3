#pragma once
// Persistence events a store signals to an owner (the original's InstancePersistenceEvent).

#include <cstdint>

namespace durable {

enum class persistence_event : std::uint8_t {
    /// A runnable instance (due timer, or one left by a crashed owner) awaits this owner's
    /// host type. Stays signalled until try_load_runnable_workflow finds nothing.
    has_runnable_workflow = 1,
    /// A host type with runnable instances has no live owner on this machine (owners created
    /// as an activation service only).
    has_activatable_workflow = 2,
};

const char* to_string(persistence_event e) noexcept;

}  // namespace durable
