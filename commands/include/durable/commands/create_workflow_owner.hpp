#pragma once
#include <durable/instance_value.hpp>
#include <durable/workflow_identity.hpp>

#include <optional>
#include <vector>

namespace durable::commands {

/// Registers the store's lock owner (one per store object) and binds it to the handle.
/// Validation: the handle must not be bound to an owner.
///
/// The lease lasts store_options::lease_duration() and is renewed in the background. With a
/// workflow_host_type the owner can load runnable instances and is signalled
/// has_runnable_workflow; with activation_service it is signalled has_activatable_workflow.
struct create_workflow_owner {
    create_workflow_owner() = default;  // not an aggregate: see STYLE.md (g++ 12 co_await bug)

    property_bag owner_metadata;  ///< reported to hosts that find an instance locked by this owner
    std::optional<name> workflow_host_type;
    /// Identities this owner can run; empty means "instances without identity" under `exact`.
    std::vector<workflow_identity> definition_identities;
    identity_filter filter = identity_filter::exact;
    bool activation_service = false;
};

}  // namespace durable::commands
