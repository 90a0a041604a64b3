#include "xml_scenarios.hpp"

#include "xml_format.hpp"  // set-up writes instance files directly

#include <durable/xml_instance_store.hpp>

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <sys/wait.h>
#include <unistd.h>
#include <random>

namespace durable::bench {
namespace fs = std::filesystem;
namespace cmd = durable::commands;

namespace {

const name bench_host{"urn:durable:bench", "BenchHost"};

/// A fresh store in `dir` with a registered owner. The blocking API is used from the bench
/// threads, so the io_context never runs.
struct bench_store {
    explicit bench_store(const fs::path& dir, bool fresh = true) {
        if (fresh) fs::remove_all(dir);
        store_options options;
        options.run_background_tasks = false;
        store = std::make_unique<xml::xml_instance_store>(ioc.get_executor(), dir, options);
        auto handle = store->create_instance_handle();
        cmd::create_workflow_owner create;
        create.workflow_host_type = bench_host;
        store->execute(handle, create);
    }
    boost::asio::io_context ioc;
    std::unique_ptr<xml::xml_instance_store> store;
};

property_bag payload(std::size_t bytes_count) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    bytes data(bytes_count);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    return property_bag{{"state", instance_value(opaque{"application/octet-stream", std::move(data)})},
                        {"status", instance_value(std::string("Idle"), value_options::write_only)}};
}

cmd::save_workflow save_with(std::size_t payload_bytes, bool unlock) {
    cmd::save_workflow save;
    save.instance_data = payload(payload_bytes);
    save.unlock_instance = unlock;
    return save;
}

template <class F>
clock_type::duration timed(F&& f) {
    const auto start = clock_type::now();
    f();
    return clock_type::now() - start;
}

}  // namespace

measurement xml_save(const fs::path& dir, std::size_t payload_bytes, int threads, double seconds, std::string& file_content) {
    bench_store s(dir);
    std::vector<instance_handle> handles;
    std::vector<uuid> ids;
    for (int t = 0; t < threads; ++t) {
        ids.push_back(random_uuid());
        handles.push_back(s.store->create_instance_handle(ids.back()));
        s.store->execute(handles.back(), save_with(payload_bytes, false));
    }
    std::ifstream file(dir / "instances" / (to_string(ids[0]) + ".xml"), std::ios::binary);
    file_content.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    const auto save = save_with(payload_bytes, false);
    return run_timed(threads, seconds, [&](int t, std::size_t) {
        auto command = save;  // copied outside the measured part
        return timed([&] { s.store->execute(handles[static_cast<std::size_t>(t)], std::move(command)); });
    });
}

measurement xml_load(const fs::path& dir, int threads, double seconds) {
    bench_store s(dir);
    std::vector<uuid> ids;
    for (int t = 0; t < threads; ++t) {
        ids.push_back(random_uuid());
        s.store->execute(s.store->create_instance_handle(ids.back()), save_with(4096, true));
    }
    cmd::save_workflow unload;
    unload.unlock_instance = true;
    return run_timed(threads, seconds, [&](int t, std::size_t) {
        auto handle = s.store->create_instance_handle(ids[static_cast<std::size_t>(t)]);
        const auto elapsed = timed([&] { s.store->execute(handle, cmd::load_workflow{}); });
        s.store->execute(handle, unload);  // not measured
        return elapsed;
    });
}

measurement xml_lifecycle(const fs::path& dir, int threads, double seconds) {
    bench_store s(dir);
    const auto start_save = save_with(4096, false);
    return run_timed(threads, seconds, [&](int, std::size_t) {
        auto start = start_save;
        const uuid key = random_uuid();
        start.instance_keys_to_associate[key] = {};
        return timed([&] {
            auto handle = s.store->create_instance_handle(random_uuid());
            s.store->execute(handle, std::move(start));
            cmd::save_workflow unload;
            unload.unlock_instance = true;
            s.store->execute(handle, unload);
            auto by_key = s.store->create_instance_handle();
            s.store->execute(by_key, cmd::load_workflow_by_instance_key(key));
            cmd::save_workflow complete;
            complete.complete_instance = true;
            complete.unlock_instance = true;
            s.store->execute(by_key, complete);
        });
    });
}

namespace {

/// Writes `stored` instance files straight into a new store at `dir` (through the store they
/// would take minutes of fsyncs); the first `due` are runnable now, the rest a day from now.
void populate(const fs::path& dir, std::size_t stored, std::size_t due) {
    { bench_store layout(dir); }  // creates the directory layout
    const auto now = default_store_clock()->now();
    const auto data = encode_bag(property_bag{{"counter", instance_value(std::int64_t{1})}}, encoding::none);
    for (std::size_t i = 0; i < stored; ++i) {
        extension::instance_record r;
        r.id = random_uuid();
        r.initialized = true;
        r.workflow_host_type = bench_host;
        r.creation_time = now;
        r.pending_timer = i < due ? now - std::chrono::seconds{1} : now + std::chrono::hours{24};
        r.runnable_time = r.pending_timer;
        r.read_write_primitive = data;
        std::ofstream(dir / "instances" / (to_string(r.id) + ".xml")) << xml::render_instance(r);
    }
}

/// Saves of 4 KB on an instance of its own, taking turns with another process through two pipes:
/// wait for the turn, save (timed), pass the turn on. Returns the latencies in milliseconds.
std::vector<double> save_in_turns(bench_store& s, std::size_t saves, int wait_fd, int pass_fd, bool first) {
    auto handle = s.store->create_instance_handle(random_uuid());
    s.store->execute(handle, save_with(4096, false));
    const auto save = save_with(4096, false);
    std::vector<double> latencies;
    char token = 't';
    for (std::size_t i = 0; i < saves; ++i) {
        if (!(first && i == 0) && ::read(wait_fd, &token, 1) != 1) throw std::runtime_error("the other process went away");
        auto command = save;
        const auto elapsed = timed([&] { s.store->execute(handle, std::move(command)); });
        latencies.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
        if (::write(pass_fd, &token, 1) != 1) throw std::runtime_error("the other process went away");
    }
    return latencies;
}

}  // namespace

two_host_result xml_two_hosts(const fs::path& dir, std::size_t stored, std::size_t saves) {
    populate(dir, stored, 0);
    two_host_result result;
    {
        const auto open_start = clock_type::now();
        bench_store alone(dir, /*fresh=*/false);
        result.open_seconds = std::chrono::duration<double>(clock_type::now() - open_start).count();
        auto handle = alone.store->create_instance_handle(random_uuid());
        alone.store->execute(handle, save_with(4096, false));
        const auto save = save_with(4096, false);
        std::vector<double> latencies;
        for (std::size_t i = 0; i < saves; ++i) {
            auto command = save;
            latencies.push_back(std::chrono::duration<double, std::milli>(
                                    timed([&] { alone.store->execute(handle, std::move(command)); }))
                                    .count());
        }
        result.one_host = summarise(std::move(latencies));
    }

    // Two processes, each with its store open before the first turn is passed.
    int to_child[2], to_parent[2], results[2];
    if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0 || ::pipe(results) != 0) throw std::runtime_error("pipe failed");
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
        int code = 0;
        try {
            bench_store s(dir, /*fresh=*/false);
            char ready = 'r';
            if (::write(to_parent[1], &ready, 1) != 1) std::_Exit(3);
            const auto mine = save_in_turns(s, saves, to_child[0], to_parent[1], false);
            const auto bytes_count = static_cast<ssize_t>(mine.size() * sizeof(double));
            if (::write(results[1], mine.data(), static_cast<std::size_t>(bytes_count)) != bytes_count) code = 4;
        } catch (...) {
            code = 5;
        }
        std::_Exit(code);
    }
    bench_store s(dir, /*fresh=*/false);
    char ready = 0;
    if (::read(to_parent[0], &ready, 1) != 1) throw std::runtime_error("the second process did not start");
    auto latencies = save_in_turns(s, saves, to_parent[0], to_child[1], true);
    std::vector<double> theirs(saves);
    std::size_t got = 0;
    auto* into = reinterpret_cast<char*>(theirs.data());
    while (got < saves * sizeof(double)) {
        const auto n = ::read(results[0], into + got, saves * sizeof(double) - got);
        if (n <= 0) throw std::runtime_error("the second process's results did not arrive");
        got += static_cast<std::size_t>(n);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("the second process failed");
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1], results[0], results[1]}) ::close(fd);
    latencies.insert(latencies.end(), theirs.begin(), theirs.end());
    result.two_hosts = summarise(std::move(latencies));
    fs::remove_all(dir);
    return result;
}

try_load_result xml_try_load_runnable(const fs::path& dir, std::size_t stored, std::size_t due) {
    populate(dir, stored, due);

    try_load_result result;
    const auto open_start = clock_type::now();
    bench_store s(dir, /*fresh=*/false);
    result.open_seconds = std::chrono::duration<double>(clock_type::now() - open_start).count();

    std::vector<double> latencies;
    double total_seconds = 0;
    for (std::size_t i = 0; i < due; ++i) {
        auto handle = s.store->create_instance_handle();
        instance_view view;
        const auto elapsed = timed([&] { view = s.store->execute(handle, cmd::try_load_runnable_workflow{}); });
        if (!view.is_bound_to_instance()) throw std::runtime_error("try-load found no due instance");
        latencies.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
        total_seconds += std::chrono::duration<double>(elapsed).count();
    }
    result.try_load = summarise(std::move(latencies));
    result.try_load.ops_per_second = static_cast<double>(due) / total_seconds;
    return result;
}

}  // namespace durable::bench
