#pragma once
// Running a timed body on N threads for a while, and summarising what it measured.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace durable::bench {

using clock_type = std::chrono::steady_clock;

struct measurement {
    double ops_per_second = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    std::size_t operations = 0;
};

/// Percentiles of latencies in milliseconds; throughput is left to the caller.
inline measurement summarise(std::vector<double> latencies_ms) {
    measurement m;
    m.operations = latencies_ms.size();
    if (latencies_ms.empty()) return m;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    m.p50_ms = latencies_ms[latencies_ms.size() / 2];
    m.p99_ms = latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
    return m;
}

/// Calls `body(thread, iteration)` on `threads` threads until `seconds` have passed. The body
/// returns the time of the part it wants measured (set-up it does not want counted stays out).
inline measurement run_timed(int threads, double seconds,
                             const std::function<clock_type::duration(int thread, std::size_t iteration)>& body) {
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::vector<double> busy_seconds(static_cast<std::size_t>(threads));
    const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            auto& mine = latencies[static_cast<std::size_t>(t)];
            double busy = 0;
            for (std::size_t i = 0; clock_type::now() < deadline; ++i) {
                const double ms = std::chrono::duration<double, std::milli>(body(t, i)).count();
                mine.push_back(ms);
                busy += ms / 1000.0;
            }
            busy_seconds[static_cast<std::size_t>(t)] = busy;
        });
    }
    for (auto& th : pool) th.join();

    std::vector<double> all;
    double busiest = 0;
    for (std::size_t t = 0; t < latencies.size(); ++t) {
        all.insert(all.end(), latencies[t].begin(), latencies[t].end());
        busiest = std::max(busiest, busy_seconds[t]);
    }
    measurement m = summarise(std::move(all));
    // Throughput over the measured time of the busiest thread, so untimed set-up in the body
    // does not dilute it.
    m.ops_per_second = busiest > 0 ? static_cast<double>(m.operations) / busiest : 0;
    return m;
}

/// Means over rounds: throughput and percentiles alike.
struct averaged {
    measurement sum;
    int count = 0;
    void add(const measurement& m) {
        sum.ops_per_second += m.ops_per_second;
        sum.p50_ms += m.p50_ms;
        sum.p99_ms += m.p99_ms;
        sum.operations += m.operations;
        ++count;
    }
    measurement mean() const {
        measurement m = sum;
        if (count == 0) return m;
        m.ops_per_second /= count;
        m.p50_ms /= count;
        m.p99_ms /= count;
        return m;
    }
};

}  // namespace durable::bench
