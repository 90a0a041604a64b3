#include "pg_scenarios.hpp"

#include "measure.hpp"

#include <durable/codec.hpp>
#include <durable/pg_instance_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace durable::bench {
namespace asio = boost::asio;
namespace cmd = durable::commands;
namespace fs = std::filesystem;

namespace {

const name bench_host{"urn:durable:bench", "BenchHost"};
// Rows the ceiling writes have a host type of their own, so the store's try-load never sees them.
constexpr const char* ceiling_host = "Ceiling";

void progress(const std::string& what) { std::cerr << "... " << what << std::endl; }

// ---- libpq for set-up and sizes (the store has its own client) --------------------------------

struct conn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

conn_ptr connect(const std::string& conninfo) {
    conn_ptr c(PQconnectdb(conninfo.c_str()));
    if (PQstatus(c.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to PostgreSQL (\"" + conninfo + "\"): " + PQerrorMessage(c.get()));
    return c;
}

result_ptr check(PGconn* c, result_ptr r, const std::string& sql) {
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("SQL failed: " + std::string(PQresultErrorMessage(r.get())) + "in: " + sql.substr(0, 300) +
                                 (PQstatus(c) == CONNECTION_OK ? "" : " (connection lost)"));
    return r;
}

result_ptr exec(PGconn* c, const std::string& sql) { return check(c, result_ptr(PQexec(c, sql.c_str())), sql); }

/// Runs `sql` with binary parameters: blobs reach the server byte for byte.
result_ptr exec_binary(PGconn* c, const std::string& sql, const std::vector<std::string_view>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const auto& p : params) {
        values.push_back(p.data());
        lengths.push_back(static_cast<int>(p.size()));
        formats.push_back(1);
    }
    return check(c,
                 result_ptr(PQexecParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                         lengths.data(), formats.data(), 0)),
                 sql);
}

double scalar(PGconn* c, const std::string& sql) {
    auto r = exec(c, sql);
    return PQntuples(r.get()) > 0 && !PQgetisnull(r.get(), 0, 0) ? std::atof(PQgetvalue(r.get(), 0, 0)) : 0.0;
}

std::string_view as_chars(const bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string quote_conninfo(const std::string& v) {
    std::string out = "'";
    for (char ch : v) {
        if (ch == '\'' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "'";
}

/// A database of the bench's own on the server `conninfo` names, dropped at the end.
class bench_database {
public:
    explicit bench_database(const std::string& conninfo)
        : admin_(connect(conninfo)), name_("durable_bench_" + std::to_string(::getpid())) {
        exec(admin_.get(), "DROP DATABASE IF EXISTS " + name_);
        exec(admin_.get(), "CREATE DATABASE " + name_);
        // Every setting the admin connection used (URI, key=value or PG* alike), another dbname.
        PQconninfoOption* options = PQconninfo(admin_.get());
        for (auto* o = options; o && o->keyword; ++o) {
            if (!o->val || !*o->val || std::string_view(o->keyword) == "dbname") continue;
            conninfo_ += std::string(o->keyword) + "=" + quote_conninfo(o->val) + " ";
        }
        PQconninfoFree(options);
        conninfo_ += "dbname=" + name_;
        host_ = PQhost(admin_.get());
        port_ = PQport(admin_.get());
        user_ = PQuser(admin_.get());
        password_ = PQpass(admin_.get()) ? PQpass(admin_.get()) : "";
        server_version_ = PQparameterStatus(admin_.get(), "server_version");
    }
    ~bench_database() {
        try {
            exec(admin_.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (const std::exception& e) {
            std::cerr << "durable-bench: could not drop database " << name_ << ": " << e.what() << "\n";
        }
    }
    bench_database(const bench_database&) = delete;
    bench_database& operator=(const bench_database&) = delete;

    const std::string& conninfo() const { return conninfo_; }
    const std::string& name() const { return name_; }
    const std::string& host() const { return host_; }
    const std::string& port() const { return port_; }
    const std::string& user() const { return user_; }
    const std::string& password() const { return password_; }
    const std::string& server_version() const { return server_version_; }
    std::string setting(const std::string& what) {
        auto r = exec(admin_.get(), "SHOW " + what);
        return PQgetvalue(r.get(), 0, 0);
    }

private:
    conn_ptr admin_;
    std::string name_, conninfo_, host_, port_, user_, password_, server_version_;
};

// ---- the store's bytes ------------------------------------------------------------------------

property_bag payload(std::size_t bytes_count) {
    std::mt19937_64 rng{std::random_device{}()};
    bytes data(bytes_count);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    return property_bag{{"state", instance_value(opaque{"application/octet-stream", std::move(data)})},
                        {"status", instance_value(std::string("Idle"), value_options::write_only)}};
}

/// The two blobs a save of payload() sends (pg_command_call.cpp splits instance data by
/// write-only and primitive the same way): what the ceiling must write.
struct save_blobs {
    bytes complex;
    bytes write_only_primitive;
};

save_blobs blobs_of(const property_bag& data, encoding enc) {
    return {encode_bag_if(data, enc, [](const instance_value& v) { return !v.is_write_only() && !is_primitive(v.get()); }),
            encode_bag_if(data, enc, [](const instance_value& v) { return v.is_write_only() && is_primitive(v.get()); })};
}

std::string base64(const bytes& in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = unsigned{in[i]} << 16 | unsigned{in[i + 1]} << 8 | in[i + 2];
        for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
    }
    if (i < in.size()) {
        const unsigned v = unsigned{in[i]} << 16 | (i + 1 < in.size() ? unsigned{in[i + 1]} << 8 : 0u);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

cmd::save_workflow save_with(const property_bag& data, bool unlock) {
    cmd::save_workflow save;
    save.instance_data = data;
    save.unlock_instance = unlock;
    return save;
}

// ---- the store, driven asynchronously ---------------------------------------------------------

/// A store with a registered owner, its pool as large as the concurrency, on an io_context that
/// one thread (the bench's) runs while a measurement runs: one reactor, as in a host.
struct pg_store {
    pg_store(const std::string& conninfo, std::size_t connections) {
        store_options options;
        options.run_background_tasks = false;
        // No renewal runs, so the lease must outlast the measurement by itself.
        options.host_lock_renewal_period = std::chrono::hours{24};
        pg::pg_store_settings settings;
        settings.max_connections = connections;
        store = std::make_unique<pg::pg_instance_store>(ioc.get_executor(), conninfo, options, settings);
        auto handle = store->create_instance_handle();
        cmd::create_workflow_owner create;
        create.workflow_host_type = bench_host;
        store->execute(handle, create);
    }
    asio::io_context ioc;
    std::unique_ptr<pg::pg_instance_store> store;
};

template <class Command>
asio::awaitable<instance_view> run(instance_store& store, instance_handle handle, Command command) {
    diagnostics diag;
    auto [ec, view] = co_await store.async_execute(std::move(handle), std::move(command), diag,
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec)
        throw std::runtime_error(ec.message() + ": " + diag.to_string());
    co_return view;
}

using body_fn = std::function<asio::awaitable<clock_type::duration>(std::size_t worker, std::size_t iteration)>;

asio::awaitable<void> worker_loop(const body_fn* body, std::size_t worker, clock_type::time_point deadline,
                                  std::vector<double>* latencies) {
    for (std::size_t i = 0; clock_type::now() < deadline; ++i) {
        const auto elapsed = co_await (*body)(worker, i);
        latencies->push_back(std::chrono::duration<double, std::milli>(elapsed).count());
    }
}

/// `workers` coroutines run `body` until `seconds` have passed. Throughput is operations over
/// the wall time until the last one finished, so untimed work inside the body (an unlock after
/// a timed load) counts against it, as pgbench counts a whole script.
measurement run_workers(asio::io_context& ioc, std::size_t workers, double seconds, const body_fn& body) {
    std::vector<double> latencies;
    std::exception_ptr failure;
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    for (std::size_t w = 0; w < workers; ++w)
        asio::co_spawn(ioc, worker_loop(&body, w, deadline, &latencies), [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
        });
    ioc.restart();
    ioc.run();
    const double wall = std::chrono::duration<double>(clock_type::now() - start).count();
    if (failure) std::rethrow_exception(failure);
    measurement m = summarise(std::move(latencies));
    m.ops_per_second = static_cast<double>(m.operations) / wall;
    return m;
}

void run_setup(asio::io_context& ioc, asio::awaitable<void> work) {
    std::exception_ptr failure;
    asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e) { failure = e; });
    ioc.restart();
    ioc.run();
    if (failure) std::rethrow_exception(failure);
}

template <class F>
asio::awaitable<clock_type::duration> timed(F f) {
    const auto start = clock_type::now();
    co_await f();
    co_return clock_type::now() - start;
}

// ---- pgbench ----------------------------------------------------------------------------------

class pgbench_runner {
public:
    pgbench_runner(const bench_database& db, std::string program, fs::path dir)
        : db_(db), program_(std::move(program)), dir_(std::move(dir)) {
        fs::create_directories(dir_);
        if (program_.empty())
            program_ = fs::exists("/usr/lib/postgresql/15/bin/pgbench") ? "/usr/lib/postgresql/15/bin/pgbench" : "pgbench";
    }

    /// `script` at `clients` connections for `seconds`, prepared statements, one log line per
    /// script run (its latency). Throughput is pgbench's own, without connection time.
    measurement run(const std::string& script, std::size_t clients, int seconds,
                    const std::vector<std::pair<std::string, std::string>>& defines) {
        const auto script_file = dir_ / "script.sql";
        std::ofstream(script_file) << script;
        for (const auto& e : fs::directory_iterator(dir_))
            if (e.path().filename().string().rfind("log.", 0) == 0) fs::remove(e.path());
        const std::size_t threads = std::min<std::size_t>(clients, std::thread::hardware_concurrency());
        // pgbench substitutes :name inside string literals too, so the namespace (which has
        // colons) travels as a variable.
        std::vector<std::pair<std::string, std::string>> all{{"ns", bench_host.ns}};
        all.insert(all.end(), defines.begin(), defines.end());
        std::vector<std::string> args{program_, "-n", "-M", "prepared", "-c", std::to_string(clients), "-j",
                                      std::to_string(threads), "-T", std::to_string(seconds), "-f", script_file.string(),
                                      "-l", "--log-prefix=" + (dir_ / "log").string(), "-h", db_.host(), "-p", db_.port(),
                                      "-U", db_.user()};
        for (const auto& [k, v] : all) {
            args.push_back("-D");
            args.push_back(k + "=" + v);
        }
        args.push_back(db_.name());
        const auto output_file = dir_ / "pgbench.out";
        const pid_t child = ::fork();
        if (child < 0) throw std::runtime_error("fork failed");
        if (child == 0) {
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            if (!std::freopen(output_file.c_str(), "w", stdout) || ::dup2(::fileno(stdout), 2) < 0) std::_Exit(126);
            if (!db_.password().empty()) ::setenv("PGPASSWORD", db_.password().c_str(), 1);
            ::execvp(argv[0], argv.data());
            std::_Exit(127);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        std::stringstream out;
        out << std::ifstream(output_file).rdbuf();
        const std::string text = out.str();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("pgbench failed (" + program_ + "; exit " + std::to_string(WEXITSTATUS(status)) +
                                     "):\n" + text);
        const auto at = text.find("tps = ");
        if (at == std::string::npos) throw std::runtime_error("pgbench printed no tps:\n" + text);
        std::vector<double> latencies;
        for (const auto& e : fs::directory_iterator(dir_)) {
            if (e.path().filename().string().rfind("log.", 0) != 0) continue;
            std::ifstream log(e.path());
            long client = 0, transaction = 0, micros = 0;
            std::string rest;
            while (log >> client >> transaction >> micros && std::getline(log, rest))
                latencies.push_back(static_cast<double>(micros) / 1000.0);
        }
        measurement m = summarise(std::move(latencies));
        m.ops_per_second = std::strtod(text.c_str() + at + 6, nullptr);
        return m;
    }

private:
    const bench_database& db_;
    std::string program_;
    fs::path dir_;
};

// ---- ceiling SQL ------------------------------------------------------------------------------
// The row work of each store command with nothing else: no owner or lease check, no fence, no
// function call, no result row to build. Rows are the store's own table's (same indexes, storage
// and fillfactor), with ids of the ceiling's own.

std::string ceiling_id(const std::string& n) { return "('00000000-0000-4000-8000-' || lpad(" + n + "::text, 12, '0'))::uuid"; }
std::string ceiling_key(const std::string& n) { return "('00000000-0000-4000-9000-' || lpad(" + n + "::text, 12, '0'))::uuid"; }

/// The instances of the "function" rows below: the store's own rows, saved by pgbench.
std::string function_id(const std::string& n) { return "('00000000-0000-4000-a000-' || lpad(" + n + "::text, 12, '0'))::uuid"; }
uuid function_uuid(std::size_t n) {
    std::string digits = std::to_string(n);
    return *parse_uuid("00000000-0000-4000-a000-" + std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + digits);
}

// Not a ceiling but a split of the gap: the store's own save_instance function called by pgbench
// with the same blobs on instances the store's owner holds at version 1. Store vs this is the
// client's share; this vs the ceiling is the PL/pgSQL logic's.
const std::string function_save_sql =
    "SELECT * FROM durable_instancing.save_instance(p_owner_id => :owner::uuid, p_instance_id => " +
    function_id("(:base::bigint + :client_id::bigint)") + ",\n"
    "    p_handle_version => 1, p_has_data => true, p_complex_data_properties => decode(:complex, 'base64'),\n"
    "    p_write_only_primitive_data_properties => decode(:wo, 'base64'), p_execution_status => '',\n"
    "    p_blocking_bookmarks => '', p_suspension_reason => '', p_suspension_exception_name => '',\n"
    "    p_command_id => gen_random_uuid());\n";

const std::string function_load_sql =
    "SELECT * FROM durable_instancing.load_instance(p_owner_id => :owner::uuid, p_instance_id => " +
    function_id("(:base::bigint + :client_id::bigint)") + ", p_handle_version => 1);\n";

const std::string ceiling_save_sql =
    "INSERT INTO durable_instancing.instances_table AS i\n"
    "    (id, complex_data_properties, write_only_primitive_data_properties, creation_time, last_updated,\n"
    "     is_initialized, execution_status, last_machine_run_on, workflow_host_type_namespace, workflow_host_type_name)\n"
    "VALUES (" + ceiling_id(":client_id") + ", decode(:complex, 'base64'), decode(:wo, 'base64'), now(), now(),\n"
    "        true, 'Idle', 'bench', :ns, 'Ceiling')\n"
    "ON CONFLICT (id) DO UPDATE SET complex_data_properties = excluded.complex_data_properties,\n"
    "    write_only_primitive_data_properties = excluded.write_only_primitive_data_properties,\n"
    "    last_updated = excluded.last_updated, execution_status = excluded.execution_status,\n"
    "    last_machine_run_on = excluded.last_machine_run_on;\n";

const std::string ceiling_load_sql =
    "SELECT primitive_data_properties, complex_data_properties, metadata_properties\n"
    "  FROM durable_instancing.instances_table WHERE id = " + ceiling_id(":client_id") + ";\n";

const std::string ceiling_load_key_sql =
    "UPDATE durable_instancing.instances_table i SET surrogate_lock_owner_id = 1, version = i.version + 1\n"
    "  FROM durable_instancing.keys_table k\n"
    " WHERE k.id = " + ceiling_key(":client_id") + " AND i.surrogate_instance_id = k.surrogate_instance_id\n"
    "RETURNING i.primitive_data_properties, i.complex_data_properties, i.metadata_properties;\n"
    "UPDATE durable_instancing.instances_table SET surrogate_lock_owner_id = NULL WHERE id = " + ceiling_id(":client_id") + ";\n";

const std::string ceiling_lifecycle_sql = [] {
    const std::string save =
        "UPDATE durable_instancing.instances_table SET complex_data_properties = decode(:complex, 'base64'),\n"
        "    write_only_primitive_data_properties = decode(:wo, 'base64'), last_updated = now()\n"
        " WHERE surrogate_instance_id = :sid;\n";
    return "WITH i AS (INSERT INTO durable_instancing.instances_table\n"
           "    (id, complex_data_properties, write_only_primitive_data_properties, creation_time, last_updated,\n"
           "     is_initialized, execution_status, surrogate_lock_owner_id, workflow_host_type_namespace, workflow_host_type_name)\n"
           "    VALUES (gen_random_uuid(), decode(:complex, 'base64'), decode(:wo, 'base64'), now(), now(), true, 'Idle', 1,\n"
           "            :ns, 'Ceiling') RETURNING surrogate_instance_id),\n"
           "  k AS (INSERT INTO durable_instancing.keys_table (id, surrogate_instance_id)\n"
           "        SELECT gen_random_uuid(), surrogate_instance_id FROM i)\n"
           "SELECT surrogate_instance_id AS sid FROM i\n"
           "\\gset\n" +
           save + save + save + "DELETE FROM durable_instancing.instances_table WHERE surrogate_instance_id = :sid;\n";
}();

const std::string ceiling_try_load_sql =
    "WITH picked AS (\n"
    "  DELETE FROM durable_instancing.runnable_instances_table r\n"
    "   WHERE r.surrogate_instance_id = (\n"
    "     SELECT q.surrogate_instance_id FROM durable_instancing.runnable_instances_table q\n"
    "      WHERE q.workflow_host_type_name = 'Ceiling' AND q.workflow_host_type_namespace = :ns\n"
    "        AND q.runnable_time <= now()\n"
    "      ORDER BY q.runnable_time LIMIT 1 FOR UPDATE SKIP LOCKED)\n"
    "  RETURNING r.surrogate_instance_id)\n"
    "UPDATE durable_instancing.instances_table i SET surrogate_lock_owner_id = 1, version = i.version + 1\n"
    "  FROM picked WHERE i.surrogate_instance_id = picked.surrogate_instance_id\n"
    "RETURNING i.primitive_data_properties, i.complex_data_properties, i.metadata_properties;\n";

/// The ceiling's own instance rows 0..count-1 (and a key each), holding `blobs`.
void ceiling_rows(PGconn* c, const save_blobs& blobs, std::size_t count) {
    exec_binary(c,
                "INSERT INTO durable_instancing.instances_table AS i (id, complex_data_properties,\n"
                "    write_only_primitive_data_properties, creation_time, last_updated, is_initialized, execution_status,\n"
                "    workflow_host_type_namespace, workflow_host_type_name)\n"
                "SELECT " + ceiling_id("g") + ", $1, $2, now(), now(), true, 'Idle', 'urn:durable:bench', 'Ceiling'\n"
                "  FROM generate_series(0, " + std::to_string(count - 1) + ") g\n"
                "ON CONFLICT (id) DO UPDATE SET complex_data_properties = excluded.complex_data_properties,\n"
                "    write_only_primitive_data_properties = excluded.write_only_primitive_data_properties,\n"
                "    surrogate_lock_owner_id = NULL",
                {as_chars(blobs.complex), as_chars(blobs.write_only_primitive)});
    exec(c, "INSERT INTO durable_instancing.keys_table (id, surrogate_instance_id)\n"
            "SELECT " + ceiling_key("g") + ", i.surrogate_instance_id FROM generate_series(0, " +
                std::to_string(count - 1) + ") g\n"
            "  JOIN durable_instancing.instances_table i ON i.id = " + ceiling_id("g") + "\n"
            "ON CONFLICT (id) DO NOTHING");
}

/// `count` initialized instances of `host` (the store's, or the ceiling's), runnable since a
/// second ago, each holding `blobs`: written by SQL, as a store would leave them after an unlock.
void runnable_rows(PGconn* c, const save_blobs& blobs, const std::string& host, std::size_t count,
                   const std::string& runnable_in = "-1 second") {
    exec_binary(c,
                "WITH ins AS (INSERT INTO durable_instancing.instances_table (id, complex_data_properties,\n"
                "        write_only_primitive_data_properties, creation_time, last_updated, is_initialized,\n"
                "        execution_status, workflow_host_type_namespace, workflow_host_type_name, pending_timer)\n"
                "    SELECT gen_random_uuid(), $1, $2, now(), now(), true, 'Idle', 'urn:durable:bench', $3,\n"
                "           now() + interval '" + runnable_in + "'\n"
                "      FROM generate_series(1, " + std::to_string(count) + ")\n"
                "    RETURNING surrogate_instance_id, pending_timer)\n"
                "INSERT INTO durable_instancing.runnable_instances_table\n"
                "    (surrogate_instance_id, workflow_host_type_namespace, workflow_host_type_name, runnable_time)\n"
                "SELECT surrogate_instance_id, 'urn:durable:bench', $3, pending_timer FROM ins",
                {as_chars(blobs.complex), as_chars(blobs.write_only_primitive), host});
}

double due_left(PGconn* c, const std::string& host) {
    return scalar(c, "SELECT count(*) FROM durable_instancing.runnable_instances_table WHERE workflow_host_type_name = '" +
                         host + "' AND runnable_time <= now()");
}

// ---- reporting --------------------------------------------------------------------------------

void header() {
    std::printf("%-26s %4s %9s %8s %8s %7s | %9s %8s %8s | %6s\n", "scenario (pg store)", "conc", "ops/s", "p50 ms",
                "p99 ms", "p99/p50", "ceiling/s", "p50 ms", "p99 ms", "ratio");
}

void row(const std::string& name, std::size_t conc, const measurement& m, const measurement& ceiling,
         const std::string& note = "") {
    std::printf("%-26s %4zu %9.0f %8.3f %8.3f %7.2f | %9.0f %8.3f %8.3f | %6.2f%s\n", name.c_str(), conc,
                m.ops_per_second, m.p50_ms, m.p99_ms, m.p50_ms > 0 ? m.p99_ms / m.p50_ms : 0.0, ceiling.ops_per_second,
                ceiling.p50_ms, ceiling.p99_ms, ceiling.ops_per_second > 0 ? m.ops_per_second / ceiling.ops_per_second : 0.0,
                note.c_str());
    std::fflush(stdout);
}

struct context {
    const pg_bench_settings& s;
    bench_database& db;
    pgbench_runner& pgbench;
    conn_ptr sql;  // set-up and sizes
    int round_seconds;
};

// ---- scenarios --------------------------------------------------------------------------------

/// The first of `count` fresh "function" row numbers: each scenario needs rows of its own, since
/// an earlier scenario's owner still holds its rows.
std::size_t next_function_base(std::size_t count) {
    static std::size_t next = 0;
    const std::size_t base = next;
    next += count;
    return base;
}

/// Saves of `kb` KB under a held lock, each worker on an instance of its own.
void save_scenario(context& cx, std::size_t kb, std::size_t conc) {
    const auto data = payload(kb * 1024);
    pg_store s(cx.db.conninfo(), conc);
    const auto blobs = blobs_of(data, s.store->options().instance_encoding);
    std::vector<instance_handle> handles;
    for (std::size_t w = 0; w < conc; ++w) {
        handles.push_back(s.store->create_instance_handle(random_uuid()));
        s.store->execute(handles.back(), save_with(data, false));
    }
    const auto save = save_with(data, false);
    const body_fn body = [&](std::size_t w, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto command = save;  // copied outside the measured part
        const auto start = clock_type::now();
        co_await run(*s.store, handles[w], std::move(command));
        co_return clock_type::now() - start;
    };
    // Held at version 1 by the store's owner for as long as these handles live (freeing a
    // handle releases its lock).
    const std::size_t base = next_function_base(conc);
    std::vector<instance_handle> function_handles;
    for (std::size_t w = 0; w < conc; ++w) {
        function_handles.push_back(s.store->create_instance_handle(function_uuid(base + w)));
        s.store->execute(function_handles.back(), save_with(data, false));
    }
    const std::vector<std::pair<std::string, std::string>> defines{{"complex", base64(blobs.complex)},
                                                                   {"wo", base64(blobs.write_only_primitive)},
                                                                   {"owner", to_string(s.store->owner().id())},
                                                                   {"base", std::to_string(base)}};
    if (cx.s.split) {
        // The call must succeed (result_code 0): a refused save writes nothing and would flatter it.
        const std::string owner = to_string(s.store->owner().id());
        auto r = exec_binary(cx.sql.get(),
                             "SELECT result_code, message FROM durable_instancing.save_instance(p_owner_id => '" + owner +
                                 "'::uuid, p_instance_id => " + function_id(std::to_string(base)) +
                                 ", p_handle_version => 1, p_has_data => true, p_complex_data_properties => $1)",
                             {as_chars(blobs.complex)});
        if (std::string(PQgetvalue(r.get(), 0, 0)) != "0")
            throw std::runtime_error(std::string("save_instance refused the split's save: ") + PQgetvalue(r.get(), 0, 1));
    }
    averaged store, function, ceiling;
    for (int round = 0; round < cx.s.rounds; ++round) {
        store.add(run_workers(s.ioc, conc, cx.round_seconds, body));
        if (cx.s.split) {
            const std::string last =
                "SELECT coalesce(last_save_command_id::text, '') FROM durable_instancing.instances_table WHERE id = " +
                function_id(std::to_string(base));
            const std::string before = PQgetvalue(exec(cx.sql.get(), last).get(), 0, 0);
            function.add(cx.pgbench.run(function_save_sql, conc, cx.round_seconds, defines));
            const std::string after = PQgetvalue(exec(cx.sql.get(), last).get(), 0, 0);
            if (before == after) throw std::runtime_error("pgbench's save_instance calls wrote nothing (" + after + ")");
        }
        ceiling.add(cx.pgbench.run(ceiling_save_sql, conc, cx.round_seconds, defines));
    }
    const std::string name = "save " + std::to_string(kb) + " KB (" + std::to_string(blobs.complex.size() / 1024) + " KB blob)";
    row(name, conc, store.mean(), ceiling.mean());
    if (cx.s.split) row("  save_instance by pgbench", conc, function.mean(), ceiling.mean());
}

/// Reload of a 4 KB instance whose lock the handle holds: a read (lock_instance's bound case),
/// against a pgbench -S shaped read of the same row's blobs.
void load_scenario(context& cx, std::size_t conc) {
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), conc);
    ceiling_rows(cx.sql.get(), blobs_of(data, s.store->options().instance_encoding), conc);
    std::vector<instance_handle> handles;
    for (std::size_t w = 0; w < conc; ++w) {
        handles.push_back(s.store->create_instance_handle(random_uuid()));
        s.store->execute(handles.back(), save_with(data, false));
    }
    const body_fn body = [&](std::size_t w, std::size_t) -> asio::awaitable<clock_type::duration> {
        const auto start = clock_type::now();
        co_await run(*s.store, handles[w], cmd::load_workflow{});
        co_return clock_type::now() - start;
    };
    const std::size_t base = next_function_base(conc);
    std::vector<instance_handle> function_handles;  // hold the split's rows (see save_scenario)
    if (cx.s.split)
        for (std::size_t w = 0; w < conc; ++w) {
            function_handles.push_back(s.store->create_instance_handle(function_uuid(base + w)));
            s.store->execute(function_handles.back(), save_with(data, false));
        }
    const std::vector<std::pair<std::string, std::string>> defines{{"owner", to_string(s.store->owner().id())},
                                                                   {"base", std::to_string(base)}};
    averaged store, function, ceiling;
    for (int round = 0; round < cx.s.rounds; ++round) {
        store.add(run_workers(s.ioc, conc, cx.round_seconds, body));
        if (cx.s.split) function.add(cx.pgbench.run(function_load_sql, conc, cx.round_seconds, defines));
        ceiling.add(cx.pgbench.run(ceiling_load_sql, conc, cx.round_seconds, {}));
    }
    row("load by id 4 KB (held)", conc, store.mean(), ceiling.mean());
    if (cx.s.split) row("  load_instance by pgbench", conc, function.mean(), ceiling.mean());
}

/// Load by key of an unlocked 4 KB instance (takes the lock: a write), then an unlock that is
/// not in the latency but is in the throughput, as the ceiling's second statement is.
void load_key_scenario(context& cx, std::size_t conc) {
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), conc);
    ceiling_rows(cx.sql.get(), blobs_of(data, s.store->options().instance_encoding), conc);
    std::vector<uuid> keys;
    for (std::size_t w = 0; w < conc; ++w) {
        keys.push_back(random_uuid());
        auto create = save_with(data, true);
        create.instance_keys_to_associate[keys.back()] = {};
        s.store->execute(s.store->create_instance_handle(random_uuid()), std::move(create));
    }
    const body_fn body = [&](std::size_t w, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto handle = s.store->create_instance_handle();
        const auto start = clock_type::now();
        co_await run(*s.store, handle, cmd::load_workflow_by_instance_key(keys[w]));
        const auto elapsed = clock_type::now() - start;
        cmd::save_workflow unload;
        unload.unlock_instance = true;
        co_await run(*s.store, handle, std::move(unload));
        co_return elapsed;
    };
    averaged store, ceiling;
    for (int round = 0; round < cx.s.rounds; ++round) {
        store.add(run_workers(s.ioc, conc, cx.round_seconds, body));
        ceiling.add(cx.pgbench.run(ceiling_load_key_sql, conc, cx.round_seconds, {}));
    }
    row("load by key 4 KB + unlock", conc, store.mean(), ceiling.mean());
}

/// Create with a key (4 KB, lock kept), three 4 KB saves, complete (delete_all): five commands.
void lifecycle_scenario(context& cx, std::size_t conc) {
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), conc);
    const auto blobs = blobs_of(data, s.store->options().instance_encoding);
    const auto save = save_with(data, false);
    const body_fn body = [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto first = save;
        first.instance_keys_to_associate[random_uuid()] = {};
        std::array<cmd::save_workflow, 3> saves{save, save, save};
        cmd::save_workflow complete;
        complete.complete_instance = true;
        complete.unlock_instance = true;
        auto handle = s.store->create_instance_handle(random_uuid());
        const auto start = clock_type::now();
        co_await run(*s.store, handle, std::move(first));
        for (auto& next : saves) co_await run(*s.store, handle, std::move(next));
        co_await run(*s.store, handle, std::move(complete));
        co_return clock_type::now() - start;
    };
    const std::vector<std::pair<std::string, std::string>> defines{{"complex", base64(blobs.complex)},
                                                                   {"wo", base64(blobs.write_only_primitive)}};
    averaged store, ceiling;
    for (int round = 0; round < cx.s.rounds; ++round) {
        store.add(run_workers(s.ioc, conc, cx.round_seconds, body));
        ceiling.add(cx.pgbench.run(ceiling_lifecycle_sql, conc, cx.round_seconds, defines));
    }
    row("lifecycle (5 commands)", conc, store.mean(), ceiling.mean());
}

/// try_load_runnable_workflow finding a due instance of a 64-byte state (it takes its lock), from
/// a queue written by SQL before each round; the ceiling pops its own queue the same way. Small,
/// as in the XML bench: tens of thousands of queued 4 KB states would be hundreds of MB of WAL
/// per round, and the checkpoints they cause would land in the measurement.
void try_load_scenario(context& cx, std::size_t conc) {
    const auto data = payload(64);
    pg_store s(cx.db.conninfo(), conc);
    const auto blobs = blobs_of(data, s.store->options().instance_encoding);
    // Deep enough for the round at the rate the ceiling last reached (it starts at a guess): a
    // queue that runs dry would make the rest of the round cheap no-ops.
    double rate = 20000;
    bool dry = false;
    const body_fn body = [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto handle = s.store->create_instance_handle();
        const auto start = clock_type::now();
        const auto view = co_await run(*s.store, handle, cmd::try_load_runnable_workflow{});
        if (!view.is_bound_to_instance()) dry = true;
        co_return clock_type::now() - start;
    };
    averaged store, ceiling;
    for (int round = 0; round < cx.s.rounds; ++round) {
        const auto queued = static_cast<std::size_t>(2 * rate * cx.round_seconds) + 1000;
        runnable_rows(cx.sql.get(), blobs, bench_host.local, queued);
        runnable_rows(cx.sql.get(), blobs, ceiling_host, queued);
        exec(cx.sql.get(), "ANALYZE durable_instancing.runnable_instances_table");
        exec(cx.sql.get(), "CHECKPOINT");
        store.add(run_workers(s.ioc, conc, cx.round_seconds, body));
        const auto c = cx.pgbench.run(ceiling_try_load_sql, conc, cx.round_seconds, {});
        ceiling.add(c);
        rate = c.ops_per_second;
        if (due_left(cx.sql.get(), ceiling_host) == 0) dry = true;
        // Each round starts from a queue of the same length, without the dead index entries of
        // the rounds before it in front (popped rows leave them until vacuum gets there).
        exec(cx.sql.get(), "DELETE FROM durable_instancing.runnable_instances_table");
        exec(cx.sql.get(), "VACUUM durable_instancing.runnable_instances_table");
    }
    row("try-load (64 B state)", conc, store.mean(), ceiling.mean(), dry ? "  (a queue ran dry: raise the queue)" : "");
}

// ---- scale: the same commands among 10,000 and among a million stored instances ----------------

/// `count` more stored instances of a 64-byte state, each with a key, each queued with a timer a
/// day away (so try-load's index holds them all but finds the due ones first); written by SQL in
/// batches, as a busy store would have left them.
void add_stored(PGconn* c, const save_blobs& blobs, std::size_t count) {
    constexpr std::size_t batch = 100'000;
    for (std::size_t done = 0; done < count; done += batch) {
        const auto n = std::min(batch, count - done);
        exec_binary(c,
                    "WITH ins AS (INSERT INTO durable_instancing.instances_table (id, complex_data_properties,\n"
                    "        write_only_primitive_data_properties, creation_time, last_updated, is_initialized,\n"
                    "        execution_status, workflow_host_type_namespace, workflow_host_type_name, pending_timer)\n"
                    "    SELECT gen_random_uuid(), $1, $2, now(), now(), true, 'Idle', 'urn:durable:bench', 'BenchHost',\n"
                    "           now() + interval '1 day'\n"
                    "      FROM generate_series(1, " + std::to_string(n) + ")\n"
                    "    RETURNING surrogate_instance_id, pending_timer),\n"
                    "  k AS (INSERT INTO durable_instancing.keys_table (id, surrogate_instance_id)\n"
                    "        SELECT gen_random_uuid(), surrogate_instance_id FROM ins)\n"
                    "INSERT INTO durable_instancing.runnable_instances_table\n"
                    "    (surrogate_instance_id, workflow_host_type_namespace, workflow_host_type_name, runnable_time)\n"
                    "SELECT surrogate_instance_id, 'urn:durable:bench', 'BenchHost', pending_timer FROM ins",
                    {as_chars(blobs.complex), as_chars(blobs.write_only_primitive)});
        progress("  stored " + std::to_string(done + n) + " of " + std::to_string(count));
    }
    exec(c, "VACUUM ANALYZE durable_instancing.instances_table");
    exec(c, "VACUUM ANALYZE durable_instancing.keys_table");
    exec(c, "VACUUM ANALYZE durable_instancing.runnable_instances_table");
    exec(c, "CHECKPOINT");
}

struct scale_point {
    measurement save, load, load_key, try_load;
};

/// One worker: 4 KB saves, held reloads, loads by key (+ unlock), try-loads of due instances.
scale_point measure_scale(context& cx) {
    const auto data = payload(4096);
    const auto small = payload(64);
    pg_store s(cx.db.conninfo(), 1);
    const double seconds = cx.round_seconds * cx.s.rounds;
    scale_point p;

    auto handle = s.store->create_instance_handle(random_uuid());
    const uuid key = random_uuid();
    {
        auto first = save_with(data, false);
        first.instance_keys_to_associate[key] = {};
        s.store->execute(handle, std::move(first));
    }
    const auto save = save_with(data, false);
    p.save = run_workers(s.ioc, 1, seconds, [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto command = save;
        const auto start = clock_type::now();
        co_await run(*s.store, handle, std::move(command));
        co_return clock_type::now() - start;
    });
    p.load = run_workers(s.ioc, 1, seconds, [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        const auto start = clock_type::now();
        co_await run(*s.store, handle, cmd::load_workflow{});
        co_return clock_type::now() - start;
    });
    {
        cmd::save_workflow unload;
        unload.unlock_instance = true;
        s.store->execute(handle, std::move(unload));
    }
    p.load_key = run_workers(s.ioc, 1, seconds, [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto h = s.store->create_instance_handle();
        const auto start = clock_type::now();
        co_await run(*s.store, h, cmd::load_workflow_by_instance_key(key));
        const auto elapsed = clock_type::now() - start;
        cmd::save_workflow unload;
        unload.unlock_instance = true;
        co_await run(*s.store, h, std::move(unload));
        co_return elapsed;
    });
    const auto small_blobs = blobs_of(small, s.store->options().instance_encoding);
    runnable_rows(cx.sql.get(), small_blobs, bench_host.local, static_cast<std::size_t>(3000 * seconds) + 1000);
    exec(cx.sql.get(), "ANALYZE durable_instancing.runnable_instances_table");
    exec(cx.sql.get(), "CHECKPOINT");
    p.try_load = run_workers(s.ioc, 1, seconds, [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto h = s.store->create_instance_handle();
        const auto start = clock_type::now();
        const auto view = co_await run(*s.store, h, cmd::try_load_runnable_workflow{});
        if (!view.is_bound_to_instance()) throw std::runtime_error("scale: the try-load queue ran dry");
        co_return clock_type::now() - start;
    });
    // Leave only the filler queued (timers a day away) for the next point.
    exec(cx.sql.get(), "DELETE FROM durable_instancing.runnable_instances_table WHERE runnable_time <= now()");
    return p;
}

void scale_scenario(context& cx) {
    constexpr std::size_t small_count = 10'000;
    const auto filler = blobs_of(payload(64), encoding::zstd);
    progress("scale: storing " + std::to_string(small_count) + " instances");
    add_stored(cx.sql.get(), filler, small_count);
    const auto small = measure_scale(cx);
    progress("scale: storing up to " + std::to_string(cx.s.stored) + " instances");
    add_stored(cx.sql.get(), filler, cx.s.stored - small_count);
    const auto large = measure_scale(cx);
    std::printf("\n%-24s %10s %8s %8s | %10s %8s %8s | %9s\n", "one worker", "stored", "p50 ms", "p99 ms", "stored",
                "p50 ms", "p99 ms", "p50 ratio");
    const auto line = [&](const char* what, const measurement& a, const measurement& b) {
        std::printf("%-24s %10zu %8.3f %8.3f | %10zu %8.3f %8.3f | %9.2f\n", what, small_count, a.p50_ms, a.p99_ms,
                    cx.s.stored, b.p50_ms, b.p99_ms, a.p50_ms > 0 ? b.p50_ms / a.p50_ms : 0.0);
    };
    line("save 4 KB", small.save, large.save);
    line("load by id (held)", small.load, large.load);
    line("load by key (+unlock)", small.load_key, large.load_key);
    line("try-load (64 B state)", small.try_load, large.try_load);
    std::printf("instances_table + TOAST + indexes at %zu stored: %.0f MB\n", cx.s.stored,
                scalar(cx.sql.get(), "SELECT pg_total_relation_size('durable_instancing.instances_table')") / 1e6);
    std::fflush(stdout);
}

// ---- soak: space used by sustained saves ---------------------------------------------------------

/// `count` new instances saved (lock kept) one after another, their handles into `out`.
asio::awaitable<void> create_instances(instance_store* store, std::vector<instance_handle>* out, std::size_t count,
                                       const property_bag* data) {
    for (std::size_t i = 0; i < count; ++i) {
        auto handle = store->create_instance_handle(random_uuid());
        auto save = save_with(*data, false);
        co_await run(*store, handle, std::move(save));
        out->push_back(std::move(handle));
    }
}

void soak_scenario(context& cx) {
    constexpr std::size_t workers = 16;
    constexpr std::size_t per_worker = 625;  // 10,000 instances of 4 KB: 40 MB of live state
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), workers);
    progress("soak: creating " + std::to_string(workers * per_worker) + " instances of 4 KB through the store");
    std::vector<std::vector<instance_handle>> handles(workers);
    std::exception_ptr failure;
    for (auto& mine : handles)
        asio::co_spawn(s.ioc, create_instances(s.store.get(), &mine, per_worker, &data), [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
        });
    s.ioc.restart();
    s.ioc.run();
    if (failure) std::rethrow_exception(failure);

    PGconn* c = cx.sql.get();
    exec(c, "VACUUM ANALYZE durable_instancing.instances_table");
    exec(c, "CHECKPOINT");
    const std::string sizes =
        "SELECT pg_relation_size(c.oid), pg_relation_size(c.reltoastrelid),\n"
        "       (SELECT sum(octet_length(complex_data_properties) + octet_length(write_only_primitive_data_properties))\n"
        "          FROM durable_instancing.instances_table),\n"
        "       (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = c.oid),\n"
        "       (SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = c.oid),\n"
        "       (SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = c.reltoastrelid),\n"
        "       pg_indexes_size(c.oid)\n"
        "  FROM pg_class c WHERE c.oid = 'durable_instancing.instances_table'::regclass";
    const auto sample = [&](double minute, double saves) {
        auto r = exec(c, sizes);
        const auto num = [&](int col) { return PQgetisnull(r.get(), 0, col) ? 0.0 : std::atof(PQgetvalue(r.get(), 0, col)); };
        const double heap = num(0), toast = num(1), live = num(2);
        std::printf("%7.1f %10.0f %10.1f %10.1f %10.1f %8.2f %10.0f %6.0f %6.0f %10.1f\n", minute, saves, heap / 1e6,
                    toast / 1e6, live / 1e6, live > 0 ? (heap + toast) / live : 0.0, num(3), num(4), num(5), num(6) / 1e6);
        std::fflush(stdout);
    };
    std::printf("\nsoak: 4 KB saves at %zu connections on %zu instances for %.0f min (autovacuum_naptime %s; storage "
                "settings: %s)\n",
                workers, workers * per_worker, cx.s.soak_minutes, cx.db.setting("autovacuum_naptime").c_str(),
                PQgetvalue(exec(c, "SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = "
                                   "'durable_instancing.instances_table'::regclass").get(), 0, 0));
    std::printf("%7s %10s %10s %10s %10s %8s %10s %6s %6s %10s\n", "minute", "saves", "heap MB", "TOAST MB", "live MB",
                "x live", "dead rows", "av", "av tst", "index MB");
    sample(0, 0);
    const auto save = save_with(data, false);
    double saves = 0;
    const double period = std::min(30.0, cx.s.soak_minutes * 60 / 10);
    for (double elapsed = 0; elapsed < cx.s.soak_minutes * 60 - 1e-9; elapsed += period) {
        const auto m = run_workers(s.ioc, workers, period, [&](std::size_t w, std::size_t i) -> asio::awaitable<clock_type::duration> {
            auto command = save;
            const auto start = clock_type::now();
            co_await run(*s.store, handles[w][i % per_worker], std::move(command));
            co_return clock_type::now() - start;
        });
        saves += static_cast<double>(m.operations);
        sample((elapsed + period) / 60, saves);
    }
}

// ---- callgrind: saves alone on one connection ---------------------------------------------------

/// profile-load: held reloads of a 4 KB instance on one connection.
void profile_load(context& cx) {
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), 1);
    auto handle = s.store->create_instance_handle(random_uuid());
    s.store->execute(handle, save_with(data, false));
    run_setup(s.ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < cx.s.saves; ++i) co_await run(*s.store, handle, cmd::load_workflow{});
    }());
    std::printf("profile-load: %zu loads of 4 KB on one connection done\n", cx.s.saves);
}

void profile_save(context& cx) {
    const auto data = payload(4096);
    pg_store s(cx.db.conninfo(), 1);
    auto handle = s.store->create_instance_handle(random_uuid());
    s.store->execute(handle, save_with(data, false));
    const auto save = save_with(data, false);
    std::vector<double> latencies;
    const body_fn body = [&](std::size_t, std::size_t) -> asio::awaitable<clock_type::duration> {
        auto command = save;
        const auto start = clock_type::now();
        co_await run(*s.store, handle, std::move(command));
        co_return clock_type::now() - start;
    };
    run_setup(s.ioc, [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < cx.s.saves; ++i) co_await body(0, i);
    }());
    std::printf("profile-save: %zu saves of 4 KB on one connection done\n", cx.s.saves);
}

}  // namespace

int run_pg_bench(const pg_bench_settings& s) {
    const auto want = [&](const char* scenario) {
        if (s.only.empty()) return std::string_view(scenario) != "scale" && std::string_view(scenario) != "soak";
        return s.only == scenario;
    };
    try {
        bench_database db(s.conninfo);
        progress("database " + db.name() + " on " + db.host() + ":" + db.port() + ": applying the embedded schema");
        pg::apply_schema(db.conninfo());
        if (!s.table_options.empty()) {
            auto c = connect(db.conninfo());
            exec(c.get(), "ALTER TABLE durable_instancing.instances_table SET (" + s.table_options + ")");
        }
        const auto work = fs::temp_directory_path() / ("durable-bench-pg-" + std::to_string(::getpid()));
        pgbench_runner pgbench(db, s.pgbench, work);
        const int round_seconds = std::max(1, static_cast<int>(std::lround(s.seconds / s.rounds)));
        context cx{s, db, pgbench, connect(db.conninfo()), round_seconds};

        if (s.only == "profile-save" || s.only == "profile-load") {
            if (s.only == "profile-save") profile_save(cx);
            if (s.only == "profile-load") profile_load(cx);
            fs::remove_all(work);
            return 0;
        }
        if (s.only == "scale" || s.only == "soak") {
            std::printf("durable-bench, PostgreSQL %s at %s:%s (fsync=%s synchronous_commit=%s)\n",
                        db.server_version().c_str(), db.host().c_str(), db.port().c_str(), db.setting("fsync").c_str(),
                        db.setting("synchronous_commit").c_str());
            if (s.only == "scale") scale_scenario(cx);
            if (s.only == "soak") soak_scenario(cx);
            fs::remove_all(work);
            return 0;
        }
        std::printf("durable-bench, PostgreSQL %s at %s:%s: %d rounds of %d s per side, store and ceiling alternating\n",
                    db.server_version().c_str(), db.host().c_str(), db.port().c_str(), s.rounds, round_seconds);
        if (!s.table_options.empty()) std::printf("instances_table storage parameters tried: %s\n", s.table_options.c_str());
        std::printf("server settings: fsync=%s synchronous_commit=%s full_page_writes=%s shared_buffers=%s\n",
                    db.setting("fsync").c_str(), db.setting("synchronous_commit").c_str(),
                    db.setting("full_page_writes").c_str(), db.setting("shared_buffers").c_str());
        std::printf("ceiling = pgbench -M prepared, same concurrency, the same row work with the same bytes in one\n"
                    "round trip per transaction (bench/README.md); ratio = store ops/s / ceiling ops/s\n\n");
        header();
        if (want("save"))
            for (const auto kb : s.sizes_kb)
                for (const auto conc : s.concurrency) {
                    progress("save " + std::to_string(kb) + " KB at " + std::to_string(conc));
                    save_scenario(cx, kb, conc);
                }
        if (want("load"))
            for (const auto conc : s.concurrency) {
                progress("load by id at " + std::to_string(conc));
                load_scenario(cx, conc);
            }
        if (want("load-key"))
            for (const auto conc : s.concurrency) {
                progress("load by key at " + std::to_string(conc));
                load_key_scenario(cx, conc);
            }
        if (want("lifecycle"))
            for (const auto conc : s.concurrency) {
                progress("lifecycle at " + std::to_string(conc));
                lifecycle_scenario(cx, conc);
            }
        if (want("try-load"))
            for (const auto conc : s.concurrency) {
                progress("try-load at " + std::to_string(conc));
                try_load_scenario(cx, conc);
            }
        fs::remove_all(work);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "durable-bench: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace durable::bench
