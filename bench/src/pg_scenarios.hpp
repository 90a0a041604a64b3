#pragma once
// The PostgreSQL store's benchmark scenarios (issue 9), each beside a ceiling that pgbench
// measures in the same run on the same server: the same row work with the same bytes, sent as
// one round trip per transaction, at the same concurrency. Store and ceiling rounds alternate.

#include <cstddef>
#include <string>
#include <vector>

namespace durable::bench {

struct pg_bench_settings {
    /// libpq conninfo of a server the bench may create a database on (the PG* variables apply);
    /// the bench creates durable_bench_<pid> there, applies the embedded schema and drops it.
    std::string conninfo;
    /// pgbench to run; empty: /usr/lib/postgresql/15/bin/pgbench, else pgbench on PATH.
    std::string pgbench;
    double seconds = 6;  ///< per measurement (store and ceiling each), split into rounds
    int rounds = 3;
    std::vector<std::size_t> sizes_kb{4, 64};
    std::vector<std::size_t> concurrency{1, 4, 16, 64};
    /// save, load, load-key, lifecycle, try-load (the default set, all when empty), or scale,
    /// soak, profile-save (only when named).
    std::string only;
    /// scale: stored instances of the large run (the small one is 10,000).
    std::size_t stored = 1'000'000;
    double soak_minutes = 10;
    /// save: also run the store's save_instance function from pgbench with the same blobs, to
    /// split the gap to the ceiling into the client's share and the SQL logic's.
    bool split = false;
    /// Storage parameters to try on instances_table before measuring (ALTER TABLE ... SET (...)),
    /// e.g. "toast_tuple_target=8160"; empty: schema.sql's own.
    std::string table_options;
    /// profile-save: saves on one connection, nothing else (for callgrind).
    std::size_t saves = 2000;
};

/// Runs the scenarios; prints a table to stdout and progress to stderr. Returns the exit code.
int run_pg_bench(const pg_bench_settings& settings);

}  // namespace durable::bench
