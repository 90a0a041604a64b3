// order-approval: a workflow that outlives the process that started it.
//
//   order-approval [--store S] start   --order 42 [--amount 99.50]
//   order-approval [--store S] approve --order 42 [--by alice]
//   order-approval [--store S] reject  --order 42 [--by alice] [--reason "over budget"]
//   order-approval [--store S] status  --order 42
//
// `start` runs the workflow's first step (it records the request), which then waits for one of
// two bookmarks, "approve" or "reject". Waiting is an idle persistence point: the host saves the
// instance, with its correlation key order/42, and unloads it; the process exits. `approve` in a
// new process finds the instance by that key, loads it, resumes the bookmark and runs the
// workflow to completion. Every run of this program is a separate host with its own lock owner.

#include "sample_host.hpp"
#include "sample_main.hpp"

#include <durable/host/workflow_host.hpp>
#include <durable/instance_store.hpp>
#include <durable/store_error.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>

namespace asio = boost::asio;
namespace host = durable::host;
using durable::samples::sample_context;
using durable::samples::sample_failure;

namespace {

const char* const usage = R"(usage: order-approval [--store S] COMMAND --order N [options]

A purchase order waits for approval in a workflow that survives the process: start it, let
the process exit, and approve or reject it later from another process.

commands:
  start   --order N [--amount X]       start the approval workflow for order N; it is saved
                                       while it waits, and this process exits
  approve --order N [--by NAME]        approve order N (in any later process): the workflow
                                       is loaded by its key, resumed and completes
  reject  --order N [--by NAME] [--reason TEXT]
  status  --order N                    say where order N's workflow is

--store S   an XML store directory (default: ./order-approval-store), or a PostgreSQL
            connection string (postgresql://..., postgres://... or key=value conninfo)
)";

const durable::name host_type{"urn:durable:samples", "OrderApproval"};

// A step keeps what later steps need in the variables: they are saved with the instance.
host::workflow_definition order_approval() {
    host::workflow_definition definition("order-approval", durable::definition_version{.major = 1, .minor = 0, .build = {}, .revision = {}});
    definition.step("record", [](host::step_context& ctx) {
        ctx.set("requested_at", ctx.now());
        ctx.set("state", std::string("awaiting a decision"));
        return host::step_result::wait_for({{"approve", "approved"}, {"reject", "rejected"}});
    });
    definition.step("approved", [](host::step_context& ctx) {
        const auto* by = std::get_if<std::string>(&ctx.payload());
        const std::string approver = by != nullptr ? *by : "someone";
        ctx.set("state", std::string("approved"));
        ctx.set("decided_by", approver);
        ctx.set("decided_at", ctx.now());
        return host::step_result::complete_with({{"decision", std::string("approved")}, {"by", approver}});
    });
    definition.step("rejected", [](host::step_context& ctx) {
        std::string reason = "no reason given";
        std::string approver = "someone";
        // The reject payload is "by\nreason": one value, readable in the store.
        if (const auto* text = std::get_if<std::string>(&ctx.payload())) {
            const auto newline = text->find('\n');
            approver = text->substr(0, newline);
            if (newline != std::string::npos) reason = text->substr(newline + 1);
        }
        ctx.set("state", std::string("rejected"));
        ctx.set("decided_by", approver);
        ctx.set("reason", reason);
        return host::step_result::complete_with(
            {{"decision", std::string("rejected")}, {"by", approver}, {"reason", reason}});
    });
    return definition;
}

std::string text_var(const host::variables& vars, const std::string& name) {
    const auto found = vars.find(name);
    if (found == vars.end()) return {};
    if (const auto* text = std::get_if<std::string>(&found->second)) return *text;
    return {};
}

std::optional<durable::timestamp> time_var(const host::variables& vars, const std::string& name) {
    const auto found = vars.find(name);
    if (found == vars.end()) return std::nullopt;
    if (const auto* t = std::get_if<durable::timestamp>(&found->second)) return *t;
    return std::nullopt;
}

// Where the order is, in words.
std::string describe(const std::string& order, const host::instance_status& status) {
    const std::string who = "order " + order;
    switch (status.status) {
        case host::run_status::waiting: {
            std::string text = who + " is waiting for a decision (";
            for (std::size_t i = 0; i < status.bookmarks.size(); ++i)
                text += (i == 0 ? "" : " or ") + status.bookmarks[i].bookmark;
            text += ")";
            if (const auto since = time_var(status.vars, "requested_at"))
                text += ", requested at " + durable::samples::format_time(*since);
            if (status.suspended) text += "; it is suspended: " + status.suspension_reason;
            return text;
        }
        case host::run_status::completed: {
            const host::variables& facts = status.outputs.empty() ? status.vars : status.outputs;
            std::string decision = text_var(facts, "decision");
            if (decision.empty()) decision = text_var(status.vars, "state");
            std::string text = who + " is completed";
            if (!decision.empty()) text += ": " + decision;
            if (const auto by = text_var(facts, "by"); !by.empty()) text += " by " + by;
            if (const auto reason = text_var(facts, "reason"); !reason.empty()) text += " (" + reason + ")";
            return text;
        }
        case host::run_status::running: return who + " is being worked on (step '" + status.step + "')";
        case host::run_status::faulted: return who + " failed: " + status.error;
        case host::run_status::terminated: return who + " was terminated: " + status.error;
    }
    return who + " is " + durable::samples::describe_status(status);
}

std::string order_of(const sample_context& ctx) {
    const std::string& order = ctx.args.required("order");
    if (order.empty()) throw durable::samples::usage_error("--order needs a value");
    return order;
}

std::string default_approver() {
    const char* user = std::getenv("USER");
    return user != nullptr && *user != '\0' ? user : "someone";
}

// A refusal the store or host explains by its code, in the words of this sample.
[[noreturn]] void explain_refusal(const std::string& order, const durable::store_error& e) {
    const std::string who = "order " + order;
    const auto ec = e.code();
    if (ec == durable::errc::key_not_found)
        throw sample_failure("there is no approval workflow for " + who + " (start one with: order-approval start --order " +
                             order + ")");
    if (ec == durable::errc::key_completed || ec == durable::errc::instance_completed ||
        ec == host::host_errc::instance_not_running)
        throw sample_failure(who + " is already decided: its workflow has completed (see: order-approval status --order " +
                             order + ")");
    if (ec == host::host_errc::bookmark_not_found)
        throw sample_failure(who + " is not waiting for a decision now (see: order-approval status --order " + order + ")");
    if (ec == host::host_errc::instance_suspended) throw sample_failure(who + " is suspended: it cannot be decided now");
    if (ec == durable::errc::instance_locked) {
        std::string holder = e.diag().lock_holder ? durable::to_string(*e.diag().lock_holder) : "another host";
        throw sample_failure(who + " is being handled by another process right now (lock owner " + holder +
                             "); try again in a moment");
    }
    throw e;
}

asio::awaitable<int> start(sample_context& ctx, host::workflow_host& workflows, const host::workflow_definition& def) {
    const std::string order = order_of(ctx);
    host::variables inputs{{"order", order}};
    if (ctx.args.has("amount")) inputs["amount"] = ctx.args.get("amount", "");
    std::cout << "Starting the approval workflow for order " << order << " on " << ctx.store_description << ".\n";
    std::optional<durable::uuid> id;
    // Named first: g++ 12 cannot keep a braced list of uuids inside a co_await expression.
    std::vector<durable::uuid> keys(1, host::key_for("order/" + order));
    try {
        id = co_await workflows.async_start(def.identity(), std::move(inputs), std::move(keys));
    } catch (const durable::store_error& e) {
        if (e.code() != durable::errc::key_collision) throw;
        std::string other = e.diag().conflicting_instance_id ? " (instance " + durable::to_string(*e.diag().conflicting_instance_id) + ")" : "";
        throw sample_failure("order " + order + " already has an approval workflow" + other +
                             ": an order is started once (see: order-approval status --order " + order + ")");
    }
    const host::instance_status status = co_await workflows.async_status(*id);  // waits for the first steps
    std::cout << "Started instance " << durable::to_string(*id) << ", correlated by the key order/" << order << ".\n"
              << describe(order, status) << ".\n"
              << "It is saved in " << ctx.store_description << "; this process stops its host and exits.\n";
    co_return 0;
}

asio::awaitable<int> decide(sample_context& ctx, host::workflow_host& workflows, bool approve) {
    const std::string order = order_of(ctx);
    const std::string by = ctx.args.get("by", default_approver());
    durable::value payload = approve ? by : by + "\n" + ctx.args.get("reason", "no reason given");
    std::cout << (approve ? "Approving" : "Rejecting") << " order " << order << ": looking its workflow up by the key order/"
              << order << " in " << ctx.store_description << ".\n";
    // Arguments named first: g++ 12 mishandles some temporaries inside a co_await expression.
    const durable::uuid key = host::key_for("order/" + order);
    std::string bookmark = approve ? "approve" : "reject";
    std::optional<host::instance_status> status;
    try {
        status = co_await workflows.async_resume_by_key(key, std::move(bookmark), std::move(payload));
    } catch (const durable::store_error& e) {
        explain_refusal(order, e);
    }
    std::cout << "Loaded instance " << durable::to_string(status->instance_id) << " and resumed it at '"
              << (approve ? "approve" : "reject") << "'.\n"
              << describe(order, *status) << ".\n";
    co_return 0;
}

asio::awaitable<int> status(sample_context& ctx, host::workflow_host& workflows) {
    const std::string order = order_of(ctx);
    std::optional<host::instance_status> found;
    std::optional<durable::store_error> refused;
    const durable::uuid key = host::key_for("order/" + order);
    try {
        found = co_await workflows.async_status_by_key(key);
    } catch (const durable::store_error& e) {
        refused = e;
    }
    if (found) {
        std::cout << describe(order, *found) << ". (instance " << durable::to_string(found->instance_id) << ")\n";
        co_return 0;
    }
    const auto ec = refused->code();
    if (ec == durable::errc::key_completed || ec == durable::errc::instance_completed) {
        // The store keeps the completed instance (completion action delete_nothing) but does
        // not hand its state back.
        std::cout << "order " << order << " is completed.\n";
        co_return 0;
    }
    if (ec == durable::errc::key_not_found) throw sample_failure("there is no approval workflow for order " + order);
    explain_refusal(order, *refused);
}

}  // namespace

int main(int argc, char** argv) {
    durable::store_options store_options;
    // Keep completed instances, so that status can still say how an order was decided.
    store_options.completion_action = durable::instance_completion_action::delete_nothing;
    const durable::samples::sample_info info{"order-approval", usage, "order-approval-store"};
    return durable::samples::sample_main(info, argc, argv, store_options, [](sample_context& ctx) -> asio::awaitable<int> {
        const std::string& command = ctx.args.command;
        if (command != "start" && command != "approve" && command != "reject" && command != "status")
            throw durable::samples::usage_error("unknown command '" + command + "'");
        std::vector<host::workflow_definition> definitions{order_approval()};
        const host::workflow_definition& def = definitions.front();
        host::host_options options;
        options.host_type = host_type;
        options.owner_metadata["program"] = durable::instance_value(std::string("order-approval " + command));
        host::workflow_host workflows(ctx.ioc.get_executor(), ctx.store, std::move(options), definitions);
        if (command == "start") co_return co_await durable::samples::run_then_stop(workflows, start(ctx, workflows, def));
        if (command == "status") co_return co_await durable::samples::run_then_stop(workflows, status(ctx, workflows));
        co_return co_await durable::samples::run_then_stop(workflows, decide(ctx, workflows, command == "approve"));
    });
}
