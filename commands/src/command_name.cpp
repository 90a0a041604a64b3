#include <durable/commands/command.hpp>

namespace durable::commands {
namespace {
template <class>
constexpr const char* name_of = nullptr;
template <> constexpr const char* name_of<create_workflow_owner> = "create_workflow_owner";
template <> constexpr const char* name_of<delete_workflow_owner> = "delete_workflow_owner";
template <> constexpr const char* name_of<load_workflow> = "load_workflow";
template <> constexpr const char* name_of<load_workflow_by_instance_key> = "load_workflow_by_instance_key";
template <> constexpr const char* name_of<save_workflow> = "save_workflow";
template <> constexpr const char* name_of<try_load_runnable_workflow> = "try_load_runnable_workflow";
template <> constexpr const char* name_of<query_activatable_workflows> = "query_activatable_workflows";
template <> constexpr const char* name_of<extend_lock> = "extend_lock";
template <> constexpr const char* name_of<recover_instance_locks> = "recover_instance_locks";
template <> constexpr const char* name_of<detect_runnable_instances> = "detect_runnable_instances";
template <> constexpr const char* name_of<unlock_instance> = "unlock_instance";
template <> constexpr const char* name_of<query_promoted_properties> = "query_promoted_properties";
}  // namespace

const char* command_name(const command& cmd) noexcept {
    return std::visit([](const auto& c) { return name_of<std::decay_t<decltype(c)>>; }, cmd);
}

}  // namespace durable::commands
