#pragma once
// instance_view: what a command returns (the original's InstanceView).

#include <durable/instance_key.hpp>
#include <durable/instance_value.hpp>
#include <durable/promotion.hpp>
#include <durable/uuid.hpp>
#include <durable/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace durable {

enum class instance_state : std::uint8_t {
    unknown = 0,
    uninitialized = 1,  ///< created (and locked) but no data saved yet
    initialized = 2,
    completed = 3,
};

/// One entry of query_activatable_workflows: a host type that has due work and no live owner
/// on the querying machine, so an activation service should start a host for it.
struct activatable_workflow {
    name workflow_host_type;
    std::int64_t runnable_instances = 0;
    friend bool operator==(const activatable_workflow&, const activatable_workflow&) = default;
};

struct instance_view {
    std::optional<uuid> instance_id;  ///< set once the handle is bound to an instance
    std::optional<uuid> owner_id;     ///< set once the handle is bound to an owner
    /// The lock version the handle holds: a per-instance fencing token that grows each time
    /// the lock changes owner. -1 when the handle holds no lock.
    std::int64_t lock_version = -1;

    instance_state state = instance_state::unknown;

    property_bag data;  ///< read-write values only: write-only values are never loaded
    value_consistency data_consistency = value_consistency::in_doubt;

    property_bag metadata;
    value_consistency metadata_consistency = value_consistency::in_doubt;

    property_bag owner_metadata;
    value_consistency owner_metadata_consistency = value_consistency::in_doubt;

    std::map<uuid, instance_key_view> keys;
    value_consistency keys_consistency = value_consistency::in_doubt;

    /// query_activatable_workflows only.
    std::vector<activatable_workflow> activatable_workflows;

    /// detect_runnable_instances only: the earliest runnable time for the owner (may be in
    /// the future) and the store clock's "now" it was compared with.
    std::optional<timestamp> next_runnable_time;
    std::optional<timestamp> store_time;

    /// query_promoted_properties only: the instance's promoted values (durable/promotion.hpp).
    /// Loads do not fill it: a host rarely needs them back, and on PostgreSQL every load would
    /// pay for reading them.
    promoted_values promoted_properties;

    bool is_bound_to_instance() const noexcept { return instance_id.has_value(); }
    bool is_bound_to_owner() const noexcept { return owner_id.has_value(); }
    bool is_bound_to_lock() const noexcept { return lock_version >= 0; }
};

}  // namespace durable
