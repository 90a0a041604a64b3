#pragma once
namespace durable::commands {

/// Expires the handle's owner at once, so its instances become loadable by other hosts, and
/// stops its background tasks. Validation: the handle must be bound to an owner.
struct delete_workflow_owner {
    delete_workflow_owner() = default;
};

}  // namespace durable::commands
