#pragma once
namespace durable::commands {

/// Locks and loads the handle's instance. Validation: the handle must be bound to an instance
/// and an owner. With accept_uninitialized_instance an instance that does not exist yet is
/// created (locked, uninitialized); without it a missing or uninitialized instance is
/// instance_not_found.
struct load_workflow {
    load_workflow() = default;
    explicit load_workflow(bool accept_uninitialized) : accept_uninitialized_instance(accept_uninitialized) {}

    bool accept_uninitialized_instance = false;
};

}  // namespace durable::commands
