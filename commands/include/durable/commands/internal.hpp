#pragma once
// Commands the stores' background tasks send. Public so that tests and tools can drive them,
// but hosts never need to.

#include <durable/uuid.hpp>

#include <cstdint>

namespace durable::commands {

/// Renews the handle's owner lease. Fails with owner_lease_expired if it already expired (an
/// expired owner is never revived) or owner_not_found.
struct extend_lock {
    extend_lock() = default;
};

/// Queues the instances of expired owners as runnable and deletes expired owners that hold no
/// instance. Any live owner may run it; running it twice is harmless.
struct recover_instance_locks {
    recover_instance_locks() = default;
};

/// Reports the earliest runnable time for the owner (view.next_runnable_time, view.store_time).
struct detect_runnable_instances {
    detect_runnable_instances() = default;
};

/// Releases a lock held at `instance_version` by the handle's owner, queueing the instance as
/// runnable when due. Sent when a handle that holds a lock is freed.
struct unlock_instance {
    unlock_instance() = default;
    unlock_instance(uuid id, std::int64_t version) : instance_id(id), instance_version(version) {}

    uuid instance_id{};
    std::int64_t instance_version = -1;
};

}  // namespace durable::commands
