#pragma once
// Instance keys: correlation ids that lead to an instance (the original's InstanceKey).

#include <durable/instance_value.hpp>
#include <durable/uuid.hpp>

#include <cstdint>

namespace durable {

/// Associated keys lead to their instance. Completed keys still exist, so a lookup says "key
/// completed" rather than "not found". Freed keys are gone.
enum class instance_key_state : std::uint8_t { unknown = 0, associated = 1, completed = 2 };

/// Whether a part of a view is authoritative. Flags, as in the original.
enum class value_consistency : std::uint8_t {
    none = 0,      ///< authoritative: the handle holds the lock
    in_doubt = 1,  ///< read without the lock; may already be stale
    partial = 2,   ///< only some of the values are known
};

struct instance_key_view {
    uuid key{};
    instance_key_state state = instance_key_state::unknown;
    property_bag metadata;
    value_consistency metadata_consistency = value_consistency::in_doubt;
    friend bool operator==(const instance_key_view&, const instance_key_view&) = default;
};

}  // namespace durable
