// durable-host-bench: the workflow host's throughput on each store, beside that store's own save
// rate measured in the same run with the same bytes, and the memory a loaded and an unloaded
// instance cost the host. Not a test: nothing here asserts a time (bench/README.md).
//
//   durable-host-bench [--instances N] [--state-kb K] [--concurrency C] [--stores memory,xml,pg]
//                      [--dir PATH] [--pg CONNINFO] [--loaded N] [--parallel-starts] [--host-only]
//                      [--pg-marks TABLE] [--pg-pool N]
//
// Each workflow: start (a save), three explicit persistence points, completion: five saves of a
// record holding K KB of random bytes (incompressible, so zstd does not flatter the memory store).
// The ceiling ("store alone") is the same five commands with the same bytes sent straight to the
// store, as many workflows at once: the ratio is what the host's own work costs.
//
// By default the next start waits for the previous async_start (a start save) and a workflow
// counts as done when its last step has run, so at C in flight the starts are one save at a time
// and the completion save of the last workflows falls outside the time. --parallel-starts runs
// the way a caller of C workflows at once would (bench/run-dbos-comparison.sh): up to C starts in
// flight together, a workflow counts until the host has unloaded it (its completion save is
// done), and the time ends when the last one is unloaded. --host-only skips the store-alone
// ceiling and the memory figure (printed as -), so the run is the host's workflows alone.
// --pg-marks TABLE: right before and right after the host's timed workflows on PostgreSQL,
// inserts a row (label 'before'/'after', the server's next transaction id, its WAL position in
// bytes) into TABLE (created if need be) in the --pg database, so a script can tell what the
// timed window alone cost the server: transaction ids used = after - before - 1 (the 'before'
// insert takes the id it read). --pg-pool N: the PostgreSQL store's connections (default
// max(8, min(C, 64))).

#include <durable/host/workflow_host.hpp>
#include <durable/memory_instance_store.hpp>
#include <durable/xml_instance_store.hpp>
#ifdef DURABLE_BENCH_PG
#include <durable/pg_instance_store.hpp>
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <malloc.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace cmd = durable::commands;
namespace fs = std::filesystem;
using namespace durable;
using namespace durable::host;
using bench_clock = std::chrono::steady_clock;

namespace {

struct settings {
    std::size_t instances = 10'000;
    std::size_t state_bytes = 4 * 1024;
    std::size_t concurrency = 64;
    std::size_t loaded = 2'000;  // instances held loaded for the memory figure
    std::vector<std::string> stores{"memory", "xml"};
    fs::path dir = fs::temp_directory_path() / "durable-host-bench";
    std::string pg;
    bool parallel_starts = false;
    bool host_only = false;
    std::string pg_marks;
    std::size_t pg_pool = 0;  // 0: max(8, min(concurrency, 64))
};

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "durable-host-bench: %s\nusage: durable-host-bench [--instances N] [--state-kb K] [--concurrency C] "
                 "[--stores memory,xml,pg] [--dir PATH] [--pg CONNINFO] [--loaded N] [--parallel-starts] "
                 "[--host-only] [--pg-marks TABLE] [--pg-pool N]\n",
                 problem.c_str());
    std::exit(2);
}

std::size_t count_arg(const std::string& flag, const std::string& text) {
    try {
        std::size_t used = 0;
        const auto v = std::stoull(text, &used);
        if (used != text.size() || v == 0) throw std::invalid_argument(text);
        return v;
    } catch (const std::exception&) {
        usage(flag + " needs a positive whole number, not '" + text + "'");
    }
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--instances") s.instances = count_arg(arg, next());
        else if (arg == "--state-kb") s.state_bytes = count_arg(arg, next()) * 1024;
        else if (arg == "--concurrency") s.concurrency = count_arg(arg, next());
        else if (arg == "--loaded") s.loaded = count_arg(arg, next());
        else if (arg == "--dir") s.dir = next();
        else if (arg == "--pg") s.pg = next();
        else if (arg == "--parallel-starts") s.parallel_starts = true;
        else if (arg == "--host-only") s.host_only = true;
        else if (arg == "--pg-pool") s.pg_pool = count_arg(arg, next());
        else if (arg == "--pg-marks") {
            s.pg_marks = next();
            for (const char c : s.pg_marks)
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') usage("--pg-marks needs letters, digits and _");
            if (s.pg_marks.empty()) usage("--pg-marks needs a table name");
        }
        else if (arg == "--stores") {
            s.stores.clear();
            std::stringstream list(next());
            for (std::string name; std::getline(list, name, ',');) {
                if (name != "memory" && name != "xml" && name != "pg") usage("unknown store '" + name + "'");
                s.stores.push_back(name);
            }
        } else usage("unknown argument '" + arg + "'");
    }
    return s;
}

bytes random_state(std::size_t n) {
    static std::mt19937_64 rng{42};
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

const name bench_host_type{"urn:durable:bench", "HostBench"};
const workflow_identity three_points{"three-points", "", definition_version{1, 0, std::nullopt, std::nullopt}};
const workflow_identity parked{"parked", "", definition_version{1, 0, std::nullopt, std::nullopt}};

/// Three explicit persistence points, then completion; `on_done` counts completions.
workflow_definition three_point_definition(std::function<void()> on_done) {
    workflow_definition d(three_points.name, *three_points.version);
    d.step("one", [](step_context&) { return step_result::persist_then("two"); });
    d.step("two", [](step_context&) { return step_result::persist_then("three"); });
    d.step("three", [](step_context&) { return step_result::persist_then("done"); });
    d.step("done", [on_done](step_context&) {
        on_done();
        return step_result::complete_with();
    });
    return d;
}

/// Waits for a bookmark that never comes: for the memory figures.
workflow_definition parked_definition() {
    workflow_definition d(parked.name, *parked.version);
    d.step("wait", [](step_context&) { return step_result::wait_for({{"never", "wait"}}); });
    return d;
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

/// Makes the store under test, fresh.
std::unique_ptr<instance_store> make_store(const std::string& kind, asio::io_context& ioc, const settings& s,
                                           std::shared_ptr<memory_database>& database) {
    store_options options;
    options.completion_action = instance_completion_action::delete_all;
    if (kind == "memory") {
        database = make_memory_database();
        return std::make_unique<memory_instance_store>(ioc.get_executor(), database, options);
    }
    if (kind == "xml") {
        fs::remove_all(s.dir);
        return std::make_unique<xml::xml_instance_store>(ioc.get_executor(), s.dir, options);
    }
#ifdef DURABLE_BENCH_PG
    pg::pg_store_settings pg_settings;
    pg_settings.max_connections =
        s.pg_pool != 0 ? s.pg_pool : std::max<std::size_t>(8, std::min<std::size_t>(s.concurrency, 64));
    pg::execute_script(s.pg, "drop schema if exists durable_instancing cascade");
    pg::execute_script(s.pg, pg::schema_script());
    return std::make_unique<pg::pg_instance_store>(ioc.get_executor(), s.pg, options, pg_settings);
#else
    (void)s;
    throw std::invalid_argument("this durable-host-bench was built without the PostgreSQL store");
#endif
}

/// The --pg-marks row: blocking, on its own connection, outside the host's io_context.
void pg_mark(const std::string& kind, const settings& s, const char* label) {
#ifdef DURABLE_BENCH_PG
    if (kind != "pg" || s.pg_marks.empty()) return;
    pg::execute_script(s.pg, "create table if not exists " + s.pg_marks +
                                 " (label text, next_xid bigint, wal_bytes numeric, at timestamptz default clock_timestamp());"
                                 " insert into " + s.pg_marks + " (label, next_xid, wal_bytes) select '" + label +
                                 "', pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
                                 " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')");
#else
    (void)kind;
    (void)s;
    (void)label;
#endif
}

template <class F>
void run_on(asio::io_context& ioc, F body) {
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(ioc, body(), [&](std::exception_ptr ep) {
        failure = ep;
        done = true;
        ioc.stop();
    });
    ioc.restart();
    ioc.run();
    if (!done) throw std::runtime_error("the io_context stopped before the benchmark finished");
    if (failure) std::rethrow_exception(failure);
}

struct result {
    double ceiling_saves_per_second = 0;
    double workflows_per_second = 0;
    double points_per_second = 0;
    double loaded_bytes = 0;
    double unloaded_bytes = 0;
};

/// The store alone running what the host makes it run, with the same bytes: per workflow a
/// creating save, three saves and a completing save, `concurrency` workflows at a time.
asio::awaitable<void> ceiling_lane(instance_store& store, const property_bag& record, std::size_t& next, std::size_t total) {
    while (next < total) {
        ++next;
        auto handle = store.create_instance_handle(random_uuid());
        for (int save_number = 0; save_number < 4; ++save_number) {
            cmd::save_workflow save;
            save.instance_data = record;
            co_await store.async_execute(handle, std::move(save));
        }
        cmd::save_workflow done;
        done.instance_data = record;
        done.complete_instance = true;
        done.unlock_instance = true;
        co_await store.async_execute(handle, std::move(done));
    }
}

asio::awaitable<double> lifecycle_ceiling(instance_store& store, const settings& s, const property_bag& record) {
    auto executor = co_await asio::this_coro::executor;
    std::size_t next = 0;
    std::size_t lanes_left = std::min(s.concurrency, s.instances);
    std::exception_ptr failure;
    asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
    const auto start = bench_clock::now();
    for (std::size_t lane = 0, lanes = lanes_left; lane < lanes; ++lane)
        asio::co_spawn(executor, ceiling_lane(store, record, next, s.instances), [&](std::exception_ptr ep) {
            if (ep) failure = ep;
            if (--lanes_left == 0) all_done.cancel();
        });
    error_code ignored;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (failure) std::rethrow_exception(failure);
    const double seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
    co_return static_cast<double>(s.instances) * 5 / seconds;
}

result run_store(const std::string& kind, const settings& s) {
    asio::io_context ioc;  // one thread carries the host
    std::shared_ptr<memory_database> database;
    auto store = make_store(kind, ioc, s, database);
    const bytes state = random_state(s.state_bytes);
    result r;

    std::size_t completed = 0;
    asio::steady_timer all_done(ioc, asio::steady_timer::time_point::max());
    std::vector<workflow_definition> defs;
    defs.push_back(three_point_definition([&] {
        ++completed;
    }));
    defs.push_back(parked_definition());
    host_options options;
    options.host_type = bench_host_type;
    options.on_idle = idle_action::persist;
    workflow_host host(ioc.get_executor(), *store, options, std::move(defs));

    run_on(ioc, [&]() -> asio::awaitable<void> {
        // The record the host saves, encoded as the host encodes it, for the ceiling.
        // Inputs are named before co_await: g++ 12 destroys braced temporaries there twice.
        const variables inputs{{"state", state}};
        // Registers the host's owner, to which the ceiling's handles bind too.
        const uuid warm_up = co_await host.async_start(parked, inputs, {});
        co_await host.async_terminate(warm_up, "warm-up");
        property_bag record;
        record[name{"urn:durable:host", "format"}] = instance_value(std::int64_t{1});
        record[name{"urn:durable:host:variable", "state"}] = instance_value(state);
        record[name{"urn:durable:host", "step"}] = instance_value(std::string("two"));
        record[name{"urn:durable:host", "status"}] = instance_value(std::string("running"));
        if (!s.host_only) r.ceiling_saves_per_second = co_await lifecycle_ceiling(*store, s, record);

        // The host: N workflows, at most `concurrency` running at once.
        std::size_t started = 0;
        pg_mark(kind, s, "before");
        const auto start = bench_clock::now();
        if (s.parallel_starts) {
            // In flight: instances loaded (from their start save until the host unloads them
            // after the completion save) plus starts not yet answered. A start is counted twice
            // while its save runs, so the count errs low, never above `concurrency`.
            std::size_t starting = 0;
            std::exception_ptr start_failure;
            const auto wait_a_little = [&]() -> asio::awaitable<void> {
                if (start_failure) std::rethrow_exception(start_failure);
                asio::steady_timer t(ioc, std::chrono::microseconds{200});
                co_await t.async_wait(asio::use_awaitable);
            };
            while (started < s.instances) {
                while (starting + host.loaded_count() >= s.concurrency) co_await wait_a_little();
                ++starting;
                ++started;
                host.async_start(three_points, inputs, {}, [&](error_code ec, uuid) {
                    --starting;
                    if (ec && !start_failure)
                        start_failure = std::make_exception_ptr(std::runtime_error("start: " + ec.message()));
                });
            }
            while (starting + host.loaded_count() > 0 || completed < s.instances) co_await wait_a_little();
        }
        while (started < s.instances) {
            while (started - completed >= s.concurrency) {
                asio::steady_timer t(ioc, std::chrono::microseconds{200});
                co_await t.async_wait(asio::use_awaitable);
            }
            co_await host.async_start(three_points, inputs, {});
            ++started;
        }
        while (completed < s.instances) {
            asio::steady_timer t(ioc, std::chrono::microseconds{200});
            co_await t.async_wait(asio::use_awaitable);
        }
        const double seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
        pg_mark(kind, s, "after");
        r.workflows_per_second = static_cast<double>(s.instances) / seconds;
        r.points_per_second = r.workflows_per_second * 5;
        if (s.host_only) co_return;

        // Memory: instances held loaded (persist policy), then unloaded by a graceful stop.
        const std::size_t before = heap_in_use();
        for (std::size_t i = 0; i < s.loaded; ++i) co_await host.async_start(parked, inputs, {});
        while (host.loaded_count() < s.loaded) {
            asio::steady_timer t(ioc, std::chrono::milliseconds{1});
            co_await t.async_wait(asio::use_awaitable);
        }
        const std::size_t with_loaded = heap_in_use();
        co_await host.async_stop();
        const std::size_t after_stop = heap_in_use();
        // What the host frees when it unloads, per instance; and what stays once all are unloaded,
        // which is the store's (the memory store keeps every record in this process; the XML
        // store caches records), not the host's: the host holds nothing of an unloaded instance.
        r.loaded_bytes = (static_cast<double>(with_loaded) - static_cast<double>(after_stop)) / static_cast<double>(s.loaded);
        r.unloaded_bytes = (static_cast<double>(after_stop) - static_cast<double>(before)) / static_cast<double>(s.loaded);
        if (host.loaded_count() != 0) throw std::runtime_error("instances stayed loaded after a graceful stop");
    });
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse(argc, argv);
    std::printf("durable-host-bench: %zu workflows x 5 saves (start, 3 persistence points, completion) of %zu KB "
                "state, %zu in flight%s; one io_context thread\n\n",
                s.instances, s.state_bytes / 1024, s.concurrency, s.parallel_starts ? " (starts in parallel)" : "");
    std::printf("%-8s %12s %14s %16s %8s %18s %20s\n", "store", "workflows/s", "saves/s", "store alone/s",
                "ratio", "host B/loaded", "store B/unloaded");
    int failures = 0;
    for (const auto& kind : s.stores) {
        if (kind == "pg" && s.pg.empty()) {
            std::fprintf(stderr, "pg: give --pg CONNINFO\n");
            ++failures;
            continue;
        }
        try {
            const result r = run_store(kind, s);
            if (s.host_only)
                std::printf("%-8s %12.0f %14.0f %16s %8s %18s %20s\n", kind.c_str(), r.workflows_per_second,
                            r.points_per_second, "-", "-", "-", "-");
            else
                std::printf("%-8s %12.0f %14.0f %16.0f %8.2f %18.0f %20.0f\n", kind.c_str(), r.workflows_per_second,
                            r.points_per_second, r.ceiling_saves_per_second,
                            r.points_per_second / r.ceiling_saves_per_second, r.loaded_bytes, r.unloaded_bytes);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", kind.c_str(), e.what());
            ++failures;
        }
        std::fflush(stdout);
    }
    return failures == 0 ? 0 : 1;
}
