// failover: instances survive the crash of the host that runs them.
//
//   failover --store postgresql://... worker --name A [--log FILE]
//   failover --store postgresql://... start  --count N [--batch TAG] [--steps 5] [--pause 300ms] [--step-time 100ms]
//   failover --store postgresql://... check  --count N [--batch TAG] [--steps 5] [--wait 90s] [--log FILE]
//
// Workers are hosts that run the runnable loop. `start` starts N instances; each does a few
// steps with a durable timer (sleep_for) between them, and every step counts its effect in a
// variable of its own. Between steps an instance is saved and unloaded, so any worker may take
// the next step. Kill a worker with SIGKILL while it holds instances: its lock owner stops
// renewing its lease, and once the lease has run out (host_lock_renewal_period 1 s, so 31 s)
// the store hands its instances to another worker, which runs the step that was cut short again
// and carries on. `check` verifies that every step was counted exactly once (a step that ran on
// the killed host and was not saved is not counted) and, with --log, that no two workers ever ran
// steps of one instance at the same time.
//
// An instance that has done its steps waits for the bookmark "archive" rather than completing,
// so that `check` can still read its counters: the status of a completed instance carries no
// variables (a load of a completed instance hands back no data).

#include "sample_host.hpp"
#include "sample_main.hpp"

#include <durable/host/workflow_host.hpp>
#include <durable/instance_store.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

namespace asio = boost::asio;
namespace host = durable::host;
using durable::samples::sample_context;
using durable::samples::sample_failure;

namespace {

const char* const usage = R"(usage: failover --store CONNINFO COMMAND [options]

Two or more worker processes share one PostgreSQL database. Kill one with SIGKILL while it
holds instances: after its lease runs out (31 s here) another worker finishes them, and every
step is counted exactly once.

commands:
  worker --name NAME [--log FILE] [--idle persist|unload]
                                    run a host until SIGINT or SIGTERM, printing each step it
                                    runs; with --log, append each step's start and end time.
                                    --idle persist (the default) keeps instances loaded and
                                    locked between steps (unloading one idle for 2 s), unload
                                    lets them go at every pause
  start --count N [--first I] [--batch TAG] [--steps K] [--pause D] [--step-time D]
                                    start N instances (keys failover/TAG/I..I+N-1) of K steps
                                    (default 5), a durable timer of D (default 300ms) between
                                    steps, each step taking --step-time (default 100ms)
  check --count N [--batch TAG] [--steps K] [--wait D] [--log FILE]
                                    wait up to D (default 0) for all N to finish, then check
                                    that each counted each step once; exits 1 otherwise. With
                                    --log: also that no two workers overlapped on an instance

--store S   a PostgreSQL connection string (postgresql://..., postgres://... or key=value
            conninfo); an XML store directory works too, for one machine
)";

const durable::name host_type{"urn:durable:samples", "Failover"};

std::string count_var(std::int64_t step) {
    return "count-" + std::to_string(step);
}

std::int64_t micros_since_epoch() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct worker_state {
    std::string name = "starter";
    int log_fd = -1;
    std::int64_t steps_run = 0;
};

// Appends one line with a single write(2) on an O_APPEND descriptor, so lines of concurrent
// workers never interleave.
void log_step(const worker_state& state, const std::string& label, std::int64_t step, std::int64_t began,
              std::int64_t ended) {
    if (state.log_fd < 0) return;
    const std::string line = label + " " + std::to_string(step) + " " + state.name + " " + std::to_string(::getpid()) +
                             " " + std::to_string(began) + " " + std::to_string(ended) + "\n";
    if (::write(state.log_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        std::cerr << "failover: could not write the step log: " << std::strerror(errno) << "\n";
}

host::workflow_definition counting_workflow(worker_state& state) {
    host::workflow_definition definition("failover-counter", durable::definition_version{.major = 1, .minor = 0, .build = {}, .revision = {}});
    definition.step("begin", [](host::step_context& ctx) {
        ctx.set("next", std::int64_t{1});
        return host::step_result::sleep_for(ctx.var_as<durable::duration>("pause"), "work");
    });
    // One step function run K times: it counts step `next` in a variable of its own. The count
    // is saved atomically with the timer to the next step, so a step cut short by a crash is
    // run again and counted once.
    definition.coroutine("work", [&state](host::step_context& ctx) -> asio::awaitable<host::step_result> {
        const std::int64_t began = micros_since_epoch();
        const std::int64_t step = ctx.var_as<std::int64_t>("next");
        const std::int64_t steps = ctx.var_as<std::int64_t>("steps");
        const std::string label = ctx.var_as<std::string>("label");
        // The step's work takes a while, so a kill can land in the middle of it.
        asio::steady_timer work(co_await asio::this_coro::executor, ctx.var_as<durable::duration>("step_time"));
        co_await work.async_wait(asio::use_awaitable);

        const auto counted = ctx.vars().find(count_var(step));
        const std::int64_t before = counted == ctx.vars().end() ? 0 : std::get<std::int64_t>(counted->second);
        ctx.set(count_var(step), before + 1);
        ctx.set("trace", ctx.var_as<std::string>("trace") + (step == 1 ? "" : " ") + std::to_string(step) + "@" + state.name);
        ctx.set("next", step + 1);
        ++state.steps_run;
        std::cout << state.name << ": " << label << " step " << step << " of " << steps << std::endl;
        log_step(state, label, step, began, micros_since_epoch());
        if (step < steps) co_return host::step_result::sleep_for(ctx.var_as<durable::duration>("pause"), "work");
        ctx.set("finished", true);
        co_return host::step_result::wait_for({{"archive", "archived"}});
    });
    definition.step("archived", [](host::step_context&) { return host::step_result::complete_with(); });
    return definition;
}

std::string batch_of(const sample_context& ctx) {
    return ctx.args.get("batch", "default");
}

std::string label_of(const std::string& batch, long i) {
    return "failover/" + batch + "/" + std::to_string(i);
}

asio::awaitable<int> worker(sample_context& ctx, host::workflow_host& workflows, worker_state& state) {
    asio::steady_timer wake(ctx.ioc, asio::steady_timer::time_point::max());
    std::cout << state.name << ": worker running (process " << ::getpid() << ") on " << ctx.store_description
              << "; stop it with SIGTERM" << std::endl;
    co_await durable::samples::run_until(workflows, wake);
    std::cout << state.name << ": stopped gracefully after running " << state.steps_run << " step(s)" << std::endl;
    co_return 0;
}

asio::awaitable<int> start(sample_context& ctx, host::workflow_host& workflows, const host::workflow_definition& def) {
    const long count = ctx.args.get_count("count", 1);
    const long first = ctx.args.get_count("first", 1);
    const std::string batch = batch_of(ctx);
    const auto steps = ctx.args.get_count("steps", 5);
    const auto pause = ctx.args.get_duration("pause", std::chrono::milliseconds{300});
    const auto step_time = ctx.args.get_duration("step-time", std::chrono::milliseconds{100});
    for (long i = first; i < first + count; ++i) {
        host::variables inputs{{"label", label_of(batch, i)}, {"steps", std::int64_t{steps}}, {"pause", pause},
                               {"step_time", step_time}, {"trace", std::string()}};
        // Named first: g++ 12 cannot keep a braced list of uuids inside a co_await expression.
        std::vector<durable::uuid> keys(1, host::key_for(label_of(batch, i)));
        co_await workflows.async_start(def.identity(), std::move(inputs), std::move(keys));
    }
    std::cout << "started " << count << " instance(s) failover/" << batch << "/" << first << ".." << first + count - 1 << " of " << steps
              << " steps each on " << ctx.store_description << std::endl;
    co_return 0;
}

struct step_run {
    std::string worker;
    long pid = 0;
    std::int64_t step = 0;
    std::int64_t began = 0;
    std::int64_t ended = 0;
};

// Two workers ran steps of one instance at the same time: only possible if both held it.
std::vector<std::string> overlaps_in_log(const std::string& path, const std::string& batch) {
    std::ifstream in(path);
    if (!in) throw sample_failure("cannot read the step log " + path);
    std::map<std::string, std::vector<step_run>> runs;
    std::string line;
    const std::string prefix = "failover/" + batch + "/";
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string label;
        step_run run;
        if (!(fields >> label >> run.step >> run.worker >> run.pid >> run.began >> run.ended))
            throw sample_failure("a malformed line in the step log " + path + ": " + line);
        if (label.starts_with(prefix)) runs[label].push_back(run);
    }
    std::vector<std::string> problems;
    for (auto& [label, list] : runs) {
        std::sort(list.begin(), list.end(), [](const step_run& a, const step_run& b) { return a.began < b.began; });
        for (std::size_t i = 1; i < list.size(); ++i) {
            const step_run& prev = list[i - 1];
            const step_run& next = list[i];
            if (next.began < prev.ended && next.pid != prev.pid)
                problems.push_back(label + ": " + prev.worker + " (process " + std::to_string(prev.pid) + ") ran step " +
                                   std::to_string(prev.step) + " while " + next.worker + " (process " +
                                   std::to_string(next.pid) + ") ran step " + std::to_string(next.step));
        }
    }
    return problems;
}

asio::awaitable<int> check(sample_context& ctx, host::workflow_host& workflows) {
    const long count = ctx.args.get_count("count", 1);
    const std::string batch = batch_of(ctx);
    const auto steps = ctx.args.get_count("steps", 5);
    const auto patience = ctx.args.get_duration("wait", std::chrono::seconds{0});
    const auto give_up = std::chrono::steady_clock::now() + patience;
    asio::steady_timer pause(ctx.ioc);

    std::map<long, host::instance_status> finished;
    std::map<long, std::string> pending;  // why each unfinished one is not done
    for (auto last_report = std::chrono::steady_clock::now();;) {
        pending.clear();
        for (long i = 1; i <= count; ++i) {
            if (finished.contains(i)) continue;
            std::optional<host::instance_status> status;
            std::string why;
            const durable::uuid key = host::key_for(label_of(batch, i));
            try {
                status = co_await workflows.async_status_by_key(key);
            } catch (const durable::store_error& e) {
                if (e.code() == durable::errc::instance_locked)
                    why = "held by a worker";
                else if (e.code() == durable::errc::key_not_found)
                    why = "not started (no such key)";
                else
                    why = std::string("unreadable: ") + e.what();
            }
            if (status) {
                const auto done = status->vars.find("finished");
                if (done != status->vars.end() && done->second == durable::value(true))
                    finished.emplace(i, std::move(*status));
                else {
                    const auto next = status->vars.find("next");
                    why = (next == status->vars.end() ? std::string("not begun")
                                                      : "at step " + std::to_string(std::get<std::int64_t>(next->second))) +
                          ", " + durable::samples::describe_status(*status);
                }
            }
            if (!why.empty()) pending.emplace(i, why);
        }
        if (pending.empty() || std::chrono::steady_clock::now() >= give_up) break;
        if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds{5}) {
            last_report = std::chrono::steady_clock::now();
            std::cout << "check: " << finished.size() << " of " << count << " finished; waiting for the rest" << std::endl;
        }
        pause.expires_after(std::chrono::milliseconds{500});
        co_await pause.async_wait(asio::use_awaitable);
    }

    std::vector<std::string> problems;
    for (const auto& [i, why] : pending) problems.push_back(label_of(batch, i) + " did not finish: " + why);
    for (const auto& [i, status] : finished) {
        std::string counts;
        bool exact = true;
        for (std::int64_t step = 1; step <= steps; ++step) {
            const auto found = status.vars.find(count_var(step));
            const std::int64_t n = found == status.vars.end() ? 0 : std::get<std::int64_t>(found->second);
            counts += (step == 1 ? "" : " ") + std::to_string(n);
            exact = exact && n == 1;
        }
        const auto trace = std::get<std::string>(status.vars.at("trace"));
        std::cout << label_of(batch, i) << ": counts " << counts << (exact ? " (each once)" : " (WRONG)") << "; ran "
                  << trace << std::endl;
        if (!exact) problems.push_back(label_of(batch, i) + " counted its steps " + counts + " times, not once each");
    }
    if (ctx.args.has("log")) {
        const auto overlaps = overlaps_in_log(ctx.args.get("log", ""), batch);
        for (const auto& o : overlaps) problems.push_back("two holders at once: " + o);
        if (overlaps.empty()) std::cout << "step log: no two workers ever ran steps of one instance at the same time" << std::endl;
    }
    if (!problems.empty()) {
        for (const auto& p : problems) std::cout << "PROBLEM: " << p << std::endl;
        throw sample_failure(std::to_string(problems.size()) + " problem(s) in batch " + batch);
    }
    std::cout << "all " << count << " instance(s) of batch " << batch << " finished; every step was counted exactly once"
              << std::endl;
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    durable::store_options store_options;
    // The shortest lease the store allows: renewal every second, lease 1 s + 30 s. A killed
    // worker's instances go to another one about 31 s after its last renewal.
    store_options.host_lock_renewal_period = std::chrono::seconds{1};
    store_options.runnable_instances_detection_period = std::chrono::seconds{1};
    store_options.completion_action = durable::instance_completion_action::delete_nothing;
    const durable::samples::sample_info info{"failover", usage, "failover-store"};
    return durable::samples::sample_main(info, argc, argv, store_options, [](sample_context& ctx) -> asio::awaitable<int> {
        const std::string& command = ctx.args.command;
        if (command != "worker" && command != "start" && command != "check")
            throw durable::samples::usage_error("unknown command '" + command + "'");
        worker_state state;
        state.name = command;
        struct fd_closer {
            int& fd;
            ~fd_closer() {
                if (fd >= 0) ::close(fd);
            }
        } closer{state.log_fd};
        if (command == "worker") {
            state.name = ctx.args.required("name");
            if (ctx.args.has("log")) {
                const std::string path = ctx.args.get("log", "");
                state.log_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (state.log_fd < 0) throw sample_failure("cannot open the step log " + path + ": " + std::strerror(errno));
            }
        }
        std::vector<host::workflow_definition> definitions{counting_workflow(state)};
        const host::workflow_definition& def = definitions.front();
        host::host_options options;
        options.host_type = host_type;
        options.owner_metadata["worker"] = durable::instance_value(state.name);
        if (command == "worker") {
            const std::string idle = ctx.args.get("idle", "persist");
            if (idle != "persist" && idle != "unload")
                throw durable::samples::usage_error("--idle " + idle + ": expected persist or unload");
            options.on_idle = idle == "persist" ? host::idle_action::persist : host::idle_action::unload;
            // An instance idle longer than a step's pause (it has done its steps and waits for
            // "archive") is unloaded, so that others (check) can read it.
            if (options.on_idle == host::idle_action::persist) options.unload_after_idle = std::chrono::seconds{2};
        }
        host::workflow_host workflows(ctx.ioc.get_executor(), ctx.store, std::move(options), definitions);
        if (command == "worker") co_return co_await worker(ctx, workflows, state);
        if (command == "start") co_return co_await durable::samples::run_then_stop(workflows, start(ctx, workflows, def));
        co_return co_await durable::samples::run_then_stop(workflows, check(ctx, workflows));
    });
}
