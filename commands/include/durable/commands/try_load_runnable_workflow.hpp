#pragma once
namespace durable::commands {

/// Locks and loads one due runnable instance of the owner's host type (and identity filter),
/// earliest due first, binding the handle to it. Finding none is not an error: the view comes
/// back unbound to any instance, and has_runnable_workflow is reset.
/// Validation: the handle is bound to an owner that has a host type, and not to an instance.
struct try_load_runnable_workflow {
    try_load_runnable_workflow() = default;
};

}  // namespace durable::commands
