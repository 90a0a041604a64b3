#pragma once
namespace durable::commands {

/// Lists host types that have due runnable instances but no live owner on this machine.
/// Validation: the handle is bound to an owner and not to an instance.
struct query_activatable_workflows {
    query_activatable_workflows() = default;
};

}  // namespace durable::commands
