// reminder: a durable timer set in one process fires in a later one.
//
//   reminder [--store S] set --in 3s --text "stretch"
//   reminder [--store S] run --for 10s [--exit-after N]
//
// `set` starts a workflow whose first step sleeps for the given time: a durable timer. The
// instance becomes idle, so the host saves it with its due time and unloads it; the process
// exits. `run` is a later process whose host runs the runnable loop: when the timer is due the
// store says an instance is runnable, the host loads it and runs the step after the sleep, which
// prints the reminder.

#include "sample_host.hpp"
#include "sample_main.hpp"

#include <durable/host/workflow_host.hpp>
#include <durable/instance_store.hpp>

#include <boost/asio/steady_timer.hpp>

#include <iostream>
#include <unistd.h>

namespace asio = boost::asio;
namespace host = durable::host;
using durable::samples::sample_context;

namespace {

const char* const usage = R"(usage: reminder [--store S] COMMAND [options]

A reminder is a durable timer: it is saved in the store, so it fires even when the process
that set it has long exited.

commands:
  set --in DURATION --text TEXT     set a reminder due after DURATION (e.g. 3s, 500ms, 2m);
                                    it is saved and this process exits
  run --for DURATION [--exit-after N]
                                    run a host for DURATION (default 10s), printing each
                                    reminder as it fires; stop early after N reminders

--store S   an XML store directory (default: ./reminder-store), or a PostgreSQL connection
            string (postgresql://..., postgres://... or key=value conninfo)
)";

const durable::name host_type{"urn:durable:samples", "Reminder"};

struct run_state {
    long fired = 0;
    long exit_after = 0;                  // 0: never
    asio::steady_timer* wake = nullptr;   // ends the run early
};

host::workflow_definition reminder(run_state& state) {
    host::workflow_definition definition("reminder", durable::definition_version{.major = 1, .minor = 0, .build = {}, .revision = {}});
    definition.step("wait", [](host::step_context& ctx) {
        const auto delay = ctx.var_as<durable::duration>("delay");
        ctx.set("due", ctx.now() + delay);
        return host::step_result::sleep_for(delay, "fire");
    });
    // Runs at least once: a host that crashed after printing and before saving prints again.
    definition.step("fire", [&state](host::step_context& ctx) {
        const auto& text = ctx.var_as<std::string>("text");
        const auto due = ctx.var_as<durable::timestamp>("due");
        std::cout << "Reminder: " << text << "  (due " << durable::samples::format_time(due) << ", fired "
                  << durable::samples::format_time(ctx.now()) << " in process " << ::getpid() << "; set by process "
                  << ctx.var_as<std::int64_t>("set_by") << ")" << std::endl;
        if (++state.fired == state.exit_after && state.wake != nullptr) state.wake->cancel();
        return host::step_result::complete_with({{"fired_at", ctx.now()}});
    });
    return definition;
}

asio::awaitable<int> set(sample_context& ctx, host::workflow_host& workflows, const host::workflow_definition& def) {
    const auto delay = ctx.args.get_duration("in", std::chrono::seconds{0});
    if (!ctx.args.has("in")) throw durable::samples::usage_error("'set' needs --in");
    const std::string& text = ctx.args.required("text");
    host::variables inputs{{"text", text}, {"delay", delay}, {"set_by", std::int64_t{::getpid()}}};
    std::vector<durable::uuid> no_keys;
    const durable::uuid id = co_await workflows.async_start(def.identity(), std::move(inputs), std::move(no_keys));
    const host::instance_status status = co_await workflows.async_status(id);  // waits for the first steps
    std::cout << "Reminder \"" << text << "\" set for " << durable::samples::format_duration(delay) << " from now";
    if (status.timer_due) std::cout << " (due " << durable::samples::format_time(*status.timer_due) << ")";
    std::cout << ": instance " << durable::to_string(id) << ", a durable timer in " << ctx.store_description << ".\n";
    co_return 0;
}

asio::awaitable<int> run(sample_context& ctx, host::workflow_host& workflows, run_state& state) {
    const auto limit = ctx.args.get_duration("for", std::chrono::seconds{10});
    asio::steady_timer wake(ctx.ioc, limit);
    state.wake = &wake;
    std::cout << "Running a host on " << ctx.store_description << " for " << durable::samples::format_duration(limit)
              << "; due reminders fire as the store reports them." << std::endl;
    const auto why = co_await durable::samples::run_until(workflows, wake);
    state.wake = nullptr;
    switch (why) {
        case durable::samples::stop_reason::time_up:
            std::cout << "Time is up after " << durable::samples::format_duration(limit) << ": ";
            break;
        case durable::samples::stop_reason::woken: std::cout << "Stopping as asked (--exit-after): "; break;
        case durable::samples::stop_reason::signalled: std::cout << "Interrupted: "; break;
    }
    std::cout << state.fired << " reminder(s) fired; the host stopped gracefully." << std::endl;
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    durable::store_options store_options;
    store_options.completion_action = durable::instance_completion_action::delete_nothing;
    // Due timers are found by polling (PostgreSQL also wakes on NOTIFY): poll every second so a
    // reminder fires within about a second of its time.
    store_options.runnable_instances_detection_period = std::chrono::seconds{1};
    const durable::samples::sample_info info{"reminder", usage, "reminder-store"};
    return durable::samples::sample_main(info, argc, argv, store_options, [](sample_context& ctx) -> asio::awaitable<int> {
        const std::string& command = ctx.args.command;
        if (command != "set" && command != "run") throw durable::samples::usage_error("unknown command '" + command + "'");
        run_state state;
        state.exit_after = ctx.args.get_count("exit-after", 0, 0);
        std::vector<host::workflow_definition> definitions{reminder(state)};
        const host::workflow_definition& def = definitions.front();
        host::host_options options;
        options.host_type = host_type;
        host::workflow_host workflows(ctx.ioc.get_executor(), ctx.store, std::move(options), definitions);
        if (command == "set") co_return co_await durable::samples::run_then_stop(workflows, set(ctx, workflows, def));
        co_return co_await run(ctx, workflows, state);
    });
}
