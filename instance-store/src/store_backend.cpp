#include <durable/store_backend.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <variant>

namespace durable {

store_backend::~store_backend() = default;

void store_backend::attach(backend_context context) {
    context_ = std::move(context);
    attached();
}

void store_backend::shut_down() noexcept {
    if (shut_.exchange(true, std::memory_order_acq_rel)) return;
    on_shut_down();
}

void store_backend::async_run_command(command_request request,
                                      asio::any_completion_handler<void(error_code, command_outcome)> handler) {
    // `this` outlives the handler: whoever handed it over shares ownership of the backend.
    auto executor = context_.executor;
    asio::post(executor, [this, executor, request = std::move(request), handler = std::move(handler)]() mutable {
        command_outcome outcome;
        error_code ec = asio::error::operation_aborted;
        if (is_shut_down())
            outcome.diag.message = "the store was shut down before the command ran";
        else
            ec = run_command(request, outcome);
        asio::post(executor, asio::append(std::move(handler), ec, std::move(outcome)));
    });
}

namespace {

bool binds_like_a_load(const commands::command& cmd) {
    return std::holds_alternative<commands::load_workflow>(cmd) ||
           std::holds_alternative<commands::load_workflow_by_instance_key>(cmd);
}

std::string check_bound_instance(const command_request& request, const instance_view& view, bool may_unlock) {
    if (!view.instance_id) return "no view.instance_id: the instance the command bound must be reported";
    if (request.instance_id && *view.instance_id != *request.instance_id)
        return "view.instance_id " + to_string(*view.instance_id) + " is not the request's instance " +
               to_string(*request.instance_id);
    if (view.lock_version < -1) return "view.lock_version " + std::to_string(view.lock_version) + " is below -1";
    if (view.lock_version < 0 && !may_unlock) return "view.lock_version is -1: a load must report the lock it holds";
    if (request.lock_version >= 0 && view.lock_version >= 0 && view.lock_version != request.lock_version)
        return "view.lock_version " + std::to_string(view.lock_version) + " differs from the lock version " +
               std::to_string(request.lock_version) + " the handle already held";
    return {};
}

}  // namespace

std::string check_command_outcome(const command_request& request, error_code ec, const command_outcome& outcome) {
    if (ec) {
        if (ec.category() != store_category() && ec != asio::error::operation_aborted)
            return "error " + ec.to_string() + " is neither of store_category nor operation_aborted";
        return {};
    }
    const auto& view = outcome.view;
    const auto& cmd = request.command;
    if (std::holds_alternative<commands::create_workflow_owner>(cmd)) {
        if (!view.owner_id) return "create_workflow_owner: no view.owner_id";
        if (*view.owner_id == nil_uuid) return "create_workflow_owner: view.owner_id is nil";
        return {};
    }
    if (binds_like_a_load(cmd)) {
        auto why = check_bound_instance(request, view, false);
        if (!why.empty()) return std::string(commands::command_name(cmd)) + ": " + why;
        if (view.state != instance_state::uninitialized && view.state != instance_state::initialized)
            return std::string(commands::command_name(cmd)) + ": view.state must be uninitialized or initialized";
        return {};
    }
    if (const auto* save = std::get_if<commands::save_workflow>(&cmd)) {
        auto why = check_bound_instance(request, view, true);
        if (!why.empty()) return "save_workflow: " + why;
        const bool lets_go = save->unlock_instance || save->complete_instance;
        if (lets_go && view.lock_version >= 0)
            return "save_workflow: view.lock_version " + std::to_string(view.lock_version) +
                   " after a save that unlocked or completed the instance (must be -1)";
        if (!lets_go && view.lock_version < 0) return "save_workflow: view.lock_version is -1 after a save that kept the lock";
        return {};
    }
    if (std::holds_alternative<commands::try_load_runnable_workflow>(cmd)) {
        if (!view.instance_id) {
            if (view.lock_version != -1) return "try_load_runnable_workflow: a lock version without an instance";
            return {};
        }
        auto why = check_bound_instance(request, view, false);
        return why.empty() ? why : "try_load_runnable_workflow: " + why;
    }
    if (std::holds_alternative<commands::detect_runnable_instances>(cmd)) {
        if (!view.store_time) return "detect_runnable_instances: no view.store_time";
        return {};
    }
    return {};
}

}  // namespace durable
