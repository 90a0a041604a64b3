// durable-bench: throughput and latency of the stores, each printed beside a ceiling measured
// in the same run on the same machine, as a ratio. Not a test: numbers vary with the machine.
//
//   durable-bench [--seconds S] [--rounds N] [--dir PATH] [--stored N,N,...] [--due N]
//                 [--sizes KB,KB,...] [--threads N,N,...] [--saves N] [--only SCENARIO]
//
// SCENARIO: save, load, lifecycle, try-load, two-hosts (on the last --stored count, --saves
// saves per process). Defaults: 3 s per measurement split into 3
// alternating rounds of store and ceiling, a directory under the system temp directory,
// stored 1000,100000, due 200, save sizes 4,64 KB, threads 1,4.
//
//   durable-bench --pg CONNINFO [--pgbench PATH] [--seconds S] [--rounds N] [--sizes KB,...]
//                 [--threads N,...] [--only save|load|load-key|lifecycle|try-load|scale|soak|profile-save|profile-load]
//                 [--stored N] [--soak-minutes M] [--saves N] [--split]
//
// With --pg (an empty CONNINFO means the PG* variables) only the PostgreSQL store is measured,
// each scenario beside a pgbench ceiling on the same server (pg_scenarios.hpp). Defaults there:
// 6 s per side in 3 rounds, concurrency 1,4,16,64. scale: one worker among 10,000 and then
// --stored (default 1,000,000) stored instances. soak: 16 connections saving 4 KB states for
// --soak-minutes (default 10), sizes every 30 s. profile-save / profile-load: --saves commands, for callgrind.
// --split adds, to each save and load, the store's own function called by pgbench.
// --table-options "k=v,..." tries storage parameters on instances_table (ALTER TABLE ... SET).

#include "atomic_write_ceiling.hpp"
#include "xml_scenarios.hpp"
#ifdef DURABLE_BENCH_PG
#include "pg_scenarios.hpp"
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace durable::bench;

namespace {

struct settings {
    double seconds = 3;
    int rounds = 3;  // store and ceiling alternate, so drift in the disk's speed hits both
    fs::path dir = fs::temp_directory_path() / "durable-bench";
    std::vector<std::size_t> stored{1000, 100000};
    std::size_t due = 200;
    std::vector<std::size_t> sizes_kb{4, 64};
    std::vector<std::size_t> threads{1, 4};
    std::size_t saves = 500;  // per process, two-hosts
    std::string only;
    // PostgreSQL (--pg): what was given explicitly, so the PostgreSQL defaults apply otherwise.
    std::optional<std::string> pg;
    std::string pgbench;
    bool seconds_given = false, threads_given = false, stored_given = false;
    double soak_minutes = 10;
    bool split = false;
    std::string table_options;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "durable-bench: " << why
              << "\nusage: durable-bench [--seconds S] [--rounds N] [--dir PATH] [--stored N,N,...] [--due N] "
                 "[--sizes KB,KB,...] [--threads N,N,...] [--saves N] [--only save|load|lifecycle|try-load|two-hosts]\n"
                 "       durable-bench --pg CONNINFO [--pgbench PATH] [--seconds S] [--rounds N] [--sizes KB,...] "
                 "[--threads N,...] [--saves N] [--stored N] [--soak-minutes M] [--split] [--table-options K=V,...]\n"
                 "       [--only save|load|load-key|lifecycle|try-load|scale|soak|profile-save|profile-load]\n";
    std::exit(2);
}

std::vector<std::size_t> positive_list(const std::string& option, const std::string& text) {
    std::vector<std::size_t> values;
    std::stringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
        char* end = nullptr;
        const auto value = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || value == 0) usage(option + " takes positive whole numbers separated by commas, not \"" + text + "\"");
        values.push_back(value);
    }
    if (values.empty()) usage(option + " needs at least one value");
    return values;
}

settings parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--seconds") {
            s.seconds = std::atof(next().c_str());
            if (s.seconds <= 0) usage("--seconds must be positive");
            s.seconds_given = true;
        } else if (arg == "--rounds") {
            s.rounds = std::atoi(next().c_str());
            if (s.rounds < 1) usage("--rounds must be at least 1");
        } else if (arg == "--dir") {
            s.dir = next();
        } else if (arg == "--stored") {
            s.stored = positive_list(arg, next());
            s.stored_given = true;
        } else if (arg == "--sizes") {
            s.sizes_kb = positive_list(arg, next());
        } else if (arg == "--threads") {
            s.threads = positive_list(arg, next());
            s.threads_given = true;
        } else if (arg == "--saves") {
            s.saves = positive_list(arg, next()).front();
        } else if (arg == "--due") {
            s.due = std::stoul(next());
        } else if (arg == "--pg") {
            s.pg = next();
        } else if (arg == "--soak-minutes") {
            s.soak_minutes = std::atof(next().c_str());
            if (s.soak_minutes <= 0) usage("--soak-minutes must be positive");
        } else if (arg == "--table-options") {
            s.table_options = next();
        } else if (arg == "--split") {
            s.split = true;
        } else if (arg == "--pgbench") {
            s.pgbench = next();
        } else if (arg == "--only") {
            s.only = next();
        } else {
            usage("unknown argument " + arg);
        }
    }
    return s;
}

void progress(const std::string& what) { std::cerr << "... " << what << std::endl; }

void header() {
    std::printf("%-28s %7s %10s %8s %8s %14s %7s\n", "scenario (xml store)", "threads", "ops/s", "p50 ms", "p99 ms",
                "ceiling ops/s", "ratio");
}

void row(const std::string& name, int threads, const measurement& m, const measurement* ceiling) {
    std::printf("%-28s %7d %10.0f %8.3f %8.3f", name.c_str(), threads, m.ops_per_second, m.p50_ms, m.p99_ms);
    if (ceiling)
        std::printf(" %14.0f %7.2f\n", ceiling->ops_per_second, m.ops_per_second / ceiling->ops_per_second);
    else
        std::printf(" %14s %7s\n", "-", "-");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse(argc, argv);
    if (s.pg) {
#ifdef DURABLE_BENCH_PG
        pg_bench_settings p;
        p.conninfo = *s.pg;
        p.pgbench = s.pgbench;
        if (s.seconds_given) p.seconds = s.seconds;
        p.rounds = s.rounds;
        p.sizes_kb = s.sizes_kb;
        if (s.threads_given) p.concurrency = s.threads;
        p.only = s.only;
        p.saves = s.saves;
        if (s.stored_given) p.stored = s.stored.back();
        p.soak_minutes = s.soak_minutes;
        p.split = s.split;
        p.table_options = s.table_options;
        return run_pg_bench(p);
#else
        usage("--pg: this durable-bench was built without the PostgreSQL store (DURABLE_BUILD_PG=OFF)");
#endif
    }
    const auto want = [&](const char* scenario) { return s.only.empty() || s.only == scenario; };
    fs::create_directories(s.dir);
    std::printf("durable-bench: %.1f s per measurement in %d alternating rounds, data in %s\n", s.seconds, s.rounds,
                s.dir.c_str());
    std::printf("ceiling = raw atomic replace (write temp, fsync, rename, fsync dir) of the same bytes, same disk, same threads\n\n");
    header();

    for (const std::size_t kb : s.sizes_kb) {
        if (!want("save")) break;
        for (const auto count : s.threads) {
            const int threads = static_cast<int>(count);
            const std::string name = "save " + std::to_string(kb) + " KB";
            progress(name + ", " + std::to_string(threads) + " thread(s)");
            std::string file_content;
            averaged store, ceiling;
            for (int round = 0; round < s.rounds; ++round) {
                store.add(xml_save(s.dir / "store", kb * 1024, threads, s.seconds / s.rounds, file_content));
                ceiling.add(measure_atomic_write_ceiling(s.dir / "ceiling", file_content, threads, s.seconds / s.rounds));
            }
            const auto ceiling_mean = ceiling.mean();
            row(name + " (" + std::to_string(file_content.size() / 1024) + " KB file)", threads, store.mean(), &ceiling_mean);
        }
    }
    if (want("load")) {
        for (const auto count : s.threads) {
            const int threads = static_cast<int>(count);
            progress("load, " + std::to_string(threads) + " thread(s)");
            row("load 4 KB (locks: 1 write)", threads, xml_load(s.dir / "store", threads, s.seconds), nullptr);
        }
    }
    if (want("lifecycle")) {
        for (const auto count : s.threads) {
            const int threads = static_cast<int>(count);
            progress("lifecycle, " + std::to_string(threads) + " thread(s)");
            row("lifecycle (4 commands)", threads, xml_lifecycle(s.dir / "store", threads, s.seconds), nullptr);
        }
    }
    if (want("two-hosts")) {
        const std::size_t stored = s.stored.back();
        progress("two hosts taking turns on " + std::to_string(stored) + " stored instances (set-up writes the files)");
        const auto r = xml_two_hosts(s.dir / "two-hosts", stored, s.saves);
        std::printf("\n%-34s %10s %8s %8s %10s\n", "4 KB saves on a shared directory", "stored", "p50 ms", "p99 ms",
                    "open s");
        std::printf("%-34s %10zu %8.3f %8.3f %10.2f\n", "one host alone", stored, r.one_host.p50_ms, r.one_host.p99_ms,
                    r.open_seconds);
        std::printf("%-34s %10zu %8.3f %8.3f %10s\n", "two hosts taking turns", stored, r.two_hosts.p50_ms,
                    r.two_hosts.p99_ms, "");
        std::printf("%-34s %10s p50 ratio to one host: %.2f\n", "", "", r.two_hosts.p50_ms / r.one_host.p50_ms);
    }
    if (want("try-load")) {
        std::printf("\n%-28s %10s %10s %8s %8s %10s\n", "try-load-runnable", "stored", "ops/s", "p50 ms", "p99 ms",
                    "open s");
        double first_p50 = 0;
        for (const auto stored : s.stored) {
            progress("try-load among " + std::to_string(stored) + " stored instances (set-up writes the files)");
            const auto r = xml_try_load_runnable(s.dir / ("runnable-" + std::to_string(stored)), stored, s.due);
            std::printf("%-28s %10zu %10.0f %8.3f %8.3f %10.2f\n", "try-load (1 write each)", stored,
                        r.try_load.ops_per_second, r.try_load.p50_ms, r.try_load.p99_ms, r.open_seconds);
            if (first_p50 == 0)
                first_p50 = r.try_load.p50_ms;
            else
                std::printf("%-28s %10s p50 ratio to %zu stored: %.2f\n", "", "", s.stored.front(), r.try_load.p50_ms / first_p50);
            fs::remove_all(s.dir / ("runnable-" + std::to_string(stored)));
        }
    }
    fs::remove_all(s.dir);
    return 0;
}
