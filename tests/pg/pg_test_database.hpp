#pragma once
// PostgreSQL test support: a fresh schema per test (a faithful copy of the bundled SQL under a
// name of its own, dropped afterwards) whose store clock follows a manual_clock, and a backend
// wrapper that moves it before each command.
//
// The server comes from DURABLE_PG_TEST_URL (scripts/test.sh starts a throwaway cluster and sets
// it). Without it every test that needs the database fails: PostgreSQL tests are never skipped.

#include <durable/pg_instance_store.hpp>
#include <durable/store_backend.hpp>
#include <durable/store_clock.hpp>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace durable::pg::testing {

inline std::string test_url() {
    const char* url = std::getenv("DURABLE_PG_TEST_URL");
    if (url == nullptr)
        throw std::runtime_error(
            "DURABLE_PG_TEST_URL is not set: the PostgreSQL tests need a server (scripts/test.sh starts a throwaway "
            "cluster; by hand: eval \"$(tests/pg/start_cluster.sh)\" and export DURABLE_PG_TEST_URL=\"host=$PGHOST "
            "port=$PGPORT user=$PGUSER dbname=$PGDATABASE\")");
    return url;
}

/// The epoch the test schemas' database clock is frozen at: store time = epoch + clock_offset.
inline constexpr std::chrono::sys_days test_epoch{std::chrono::year{2000} / 1 / 1};

/// A schema of its own with the bundled SQL, except that the database clock
/// (clock_timestamp()) is the fixed epoch: the store clock is then exactly epoch + the offset
/// in store_clock_table, which set_clock() keeps equal to a manual_clock. Only the clock source
/// differs from what a DBA installs; docs/sql.md's offset is the mechanism.
class test_schema {
public:
    test_schema() : url_(test_url()), name_("durable_t_" + compact(to_string(random_uuid()))) {
        std::string script = schema_script(name_);
        const std::string frozen = "'2000-01-01 00:00:00+00'::timestamptz";
        for (std::size_t at = script.find("clock_timestamp()"); at != std::string::npos;
             at = script.find("clock_timestamp()", at + frozen.size()))
            script.replace(at, std::string("clock_timestamp()").size(), frozen);
        execute_script(url_, script);
    }
    ~test_schema() {
        try {
            execute_script(url_, "DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE");
        } catch (...) {
            // A test that broke the server leaves a schema in a throwaway cluster: harmless.
        }
    }
    test_schema(const test_schema&) = delete;
    test_schema& operator=(const test_schema&) = delete;

    const std::string& url() const noexcept { return url_; }
    const std::string& name() const noexcept { return name_; }

    /// The store settings for this schema. With DURABLE_PG_TEST_POOLING=transaction (the
    /// server is reached through a transaction-pooling PgBouncer, scripts/test.sh), named
    /// prepared statements and LISTEN are off, as pg_instance_store.hpp says to run behind one.
    pg_store_settings settings() const {
        pg_store_settings s;
        s.schema = name_;
        if (const char* pooling = std::getenv("DURABLE_PG_TEST_POOLING"); pooling && std::string(pooling) == "transaction") {
            s.prepared_statements = false;
            s.listen = false;
        }
        return s;
    }

    /// Makes the store clock read `now`.
    void set_clock(timestamp now) {
        std::scoped_lock lock(mutex_);
        if (synced_ && *synced_ == now) return;
        const auto us = (now - timestamp{test_epoch}).count();
        // Whole hours and the rest apart: a microsecond interval times a large number would go
        // through a double and lose microseconds.
        execute_script(url_, "UPDATE \"" + name_ + "\".store_clock_table SET clock_offset = make_interval(hours => " +
                                 std::to_string(us / 3'600'000'000) + ") + " + std::to_string(us % 3'600'000'000) +
                                 " * interval '1 microsecond'");
        synced_ = now;
    }

    void run(const std::string& sql) { execute_script(url_, sql); }

private:
    static std::string compact(std::string s) {
        std::erase(s, '-');
        return s;
    }
    std::string url_;
    std::string name_;
    std::mutex mutex_;
    std::optional<timestamp> synced_;
};

/// Runs another backend, moving the schema's store clock to the store's clock before each
/// command, so a test's manual_clock::advance is seen by the database as by the embedded stores.
class clocked_backend final : public store_backend {
public:
    clocked_backend(std::shared_ptr<store_backend> inner, std::shared_ptr<test_schema> schema)
        : inner_(std::move(inner)), schema_(std::move(schema)) {}

    error_code run_command(const command_request& request, command_outcome& outcome) override {
        sync();
        return inner_->run_command(request, outcome);
    }

    void async_run_command(command_request request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) override {
        sync();
        inner_->async_run_command(std::move(request), std::move(handler));
    }

private:
    void sync() { schema_->set_clock(options().clock->now()); }
    void attached() override { inner_->attach(context()); }
    void on_shut_down() noexcept override { inner_->shut_down(); }

    std::shared_ptr<store_backend> inner_;
    std::shared_ptr<test_schema> schema_;
};

}  // namespace durable::pg::testing
