#pragma once
// Every command a store executes, as one closed set.

#include <durable/commands/create_workflow_owner.hpp>
#include <durable/commands/delete_workflow_owner.hpp>
#include <durable/commands/internal.hpp>
#include <durable/commands/load_workflow.hpp>
#include <durable/commands/load_workflow_by_instance_key.hpp>
#include <durable/commands/query_activatable_workflows.hpp>
#include <durable/commands/query_promoted_properties.hpp>
#include <durable/commands/save_workflow.hpp>
#include <durable/commands/try_load_runnable_workflow.hpp>

#include <string>
#include <type_traits>
#include <variant>

namespace durable::commands {

using command = std::variant<create_workflow_owner, delete_workflow_owner, load_workflow,
                             load_workflow_by_instance_key, save_workflow,
                             try_load_runnable_workflow, query_activatable_workflows, extend_lock,
                             recover_instance_locks, detect_runnable_instances, unlock_instance,
                             query_promoted_properties>;

template <class T>
concept command_type = requires(T t) { command{std::move(t)}; } &&
                       !std::is_same_v<std::remove_cvref_t<T>, command>;

/// "save_workflow", ... for diagnostics and logs.
const char* command_name(const command& cmd) noexcept;

}  // namespace durable::commands
