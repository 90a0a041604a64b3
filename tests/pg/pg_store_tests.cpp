// PostgreSQL-only behaviour: the schema check at open, connection loss in the middle of a
// command, cancellation of a command waiting on the server or for a pooled connection, and
// LISTEN/NOTIFY waking runnable detection.

#include "pg_test_database.hpp"

#include <durable/pg_instance_store.hpp>
#include <durable/store_error.hpp>

#include <test_common/exec_result.hpp>
#include <test_common/io_context_fixture.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <thread>

#include <unistd.h>

namespace durable::pg {
namespace {

using namespace std::chrono_literals;
namespace cmd = durable::commands;

const name order_host{"urn:durable:test", "OrderHost"};

struct pg_fixture : test::io_context_fixture {
    std::shared_ptr<testing::test_schema> schema = std::make_shared<testing::test_schema>();
    std::vector<std::unique_ptr<instance_store>> stores;

    ~pg_fixture() {
        stores.clear();
        check_no_work_left();
    }

    store_options options() const {
        store_options o;
        o.run_background_tasks = false;
        o.host_lock_renewal_period = std::chrono::hours{1};
        o.machine_name = "pg-tests";
        return o;
    }

    instance_store& new_store(store_options o, pg_store_settings settings) {
        stores.push_back(std::make_unique<pg_instance_store>(ioc.get_executor(), schema->url(), std::move(o), settings));
        return *stores.back();
    }
    instance_store& new_store() { return new_store(options(), schema->settings()); }

    template <class Command>
    test::exec_result run(instance_store& store, const instance_handle& handle, Command c) {
        return test::exec(ioc, store, handle, std::move(c));
    }

    instance_owner make_owner(instance_store& store) {
        cmd::create_workflow_owner create;
        create.workflow_host_type = order_host;
        auto handle = store.create_instance_handle(instance_owner{});
        run(store, handle, std::move(create)).require_ok();
        return handle.owner();
    }

    /// Saves a new instance holding counter = n; keeps the lock.
    std::pair<uuid, instance_handle> save_new(instance_store& store, std::int64_t n) {
        const uuid id = random_uuid();
        auto handle = store.create_instance_handle(id);
        cmd::save_workflow save;
        save.instance_data = property_bag{{"counter", instance_value(n)}};
        run(store, handle, std::move(save)).require_ok();
        return {id, handle};
    }

    /// A save that lets go of the lock.
    static cmd::save_workflow unlocking() {
        cmd::save_workflow unlock;
        unlock.unlock_instance = true;
        return unlock;
    }

    /// Saves a new instance holding counter = n and unloads it.
    uuid save_unloaded(instance_store& store, std::int64_t n) {
        auto [id, handle] = save_new(store, n);
        run(store, handle, unlocking()).require_ok();
        return id;
    }

    std::int64_t counter_of(instance_store& store, const uuid& id) {
        auto handle = store.create_instance_handle(id);
        const auto r = run(store, handle, cmd::load_workflow{});
        r.require_ok();
        run(store, handle, unlocking()).require_ok();
        return std::get<std::int64_t>(r.view.data.at("counter").get());
    }

    /// Holds the instances' rows locked from another session for `hold` (on a thread of its
    /// own), so commands on them wait on the server meanwhile. A session the test ends early
    /// (a restart) just ends the hold.
    std::thread lock_rows(const std::vector<uuid>& ids, std::chrono::milliseconds hold) {
        std::string list;
        for (const auto& id : ids) list += (list.empty() ? "'" : ", '") + to_string(id) + "'";
        const std::string sql = "BEGIN; SELECT 1 FROM \"" + schema->name() + "\".instances_table WHERE id IN (" + list +
                                ") FOR UPDATE; SELECT pg_sleep(" +
                                std::to_string(static_cast<double>(hold.count()) / 1000.0) + "); COMMIT;";
        return std::thread([url = schema->url(), sql] {
            try {
                execute_script(url, sql);
            } catch (const store_error&) {
            }
        });
    }
    std::thread lock_row(const uuid& id, std::chrono::milliseconds hold) { return lock_rows({id}, hold); }

    /// Ends the server sessions running `function` of this schema, from a thread of its own:
    /// after `delay`, and then as soon as one is running (the command is waiting on the locked
    /// row), trying for up to 5 s so a slow start of the command does not dodge it.
    std::thread terminate_sessions_running(const std::string& function, std::chrono::milliseconds delay) {
        const std::string sql = "DO $$ BEGIN RAISE EXCEPTION 'count=%', (SELECT count(*) FROM (SELECT "
                                "pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                                "state = 'active' AND query LIKE '%\"" + schema->name() + "\"." + function +
                                "(%') ended); END $$";
        return std::thread([url = schema->url(), sql, delay] {
            std::this_thread::sleep_for(delay);
            for (int attempt = 0; attempt < 100; ++attempt) {
                try {
                    execute_script(url, sql);
                } catch (const store_error& e) {
                    if (e.diag().server.message.find("count=0") == std::string::npos) return;
                }
                std::this_thread::sleep_for(50ms);
            }
        });
    }

    /// Rows in one of the schema's tables.
    int counter_of_rows(const std::string& table) {
        try {
            execute_script(schema->url(), "DO $$ BEGIN RAISE EXCEPTION 'count=%', (SELECT count(*) FROM \"" +
                                              schema->name() + "\"." + table + "); END $$");
        } catch (const store_error& e) {
            const auto& message = e.diag().server.message;
            const auto at = message.find("count=");
            if (at != std::string::npos) return std::stoi(message.substr(at + 6));
        }
        return -1;
    }

    /// How many sessions are running `function` of this schema now.
    int sessions_running(const std::string& function) {
        // A trick without a client library in the test: a failing statement carries the count.
        try {
            execute_script(schema->url(),
                           "DO $$ BEGIN RAISE EXCEPTION 'count=%', (SELECT count(*) FROM pg_stat_activity WHERE pid <> "
                           "pg_backend_pid() AND state = 'active' AND query LIKE '%\"" +
                               schema->name() + "\"." + function + "(%'); END $$");
        } catch (const store_error& e) {
            const auto& message = e.diag().server.message;
            const auto at = message.find("count=");
            if (at != std::string::npos) return std::stoi(message.substr(at + 6));
        }
        return -1;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(pg_store, pg_fixture)

BOOST_AUTO_TEST_CASE(a_store_of_another_schema_version_is_refused_naming_both_versions) {
    schema->run("INSERT INTO \"" + schema->name() + "\".store_version_table (schema_version, description) VALUES (7, 'future')");
    try {
        new_store();
        BOOST_FAIL("a schema of version 7 was accepted");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::schema_mismatch), e.what());
        const auto& message = e.diag().message;
        BOOST_TEST(message.find("version 7") != std::string::npos, message);
        BOOST_TEST(message.find("version " + std::to_string(supported_schema_version)) != std::string::npos, message);
    }
}

BOOST_AUTO_TEST_CASE(a_missing_schema_is_refused_naming_what_to_apply) {
    pg_store_settings settings;
    settings.schema = "durable_no_such_schema";
    try {
        new_store(options(), settings);
        BOOST_FAIL("a missing schema was accepted");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::schema_mismatch), e.what());
        BOOST_TEST(e.diag().message.find("schema.sql") != std::string::npos, e.diag().message);
        BOOST_TEST(!e.diag().server.sqlstate.empty(), "the server's SQLSTATE is kept");
    }
}

BOOST_AUTO_TEST_CASE(an_unreachable_server_is_store_unavailable) {
    try {
        pg_instance_store store(ioc.get_executor(), "host=127.0.0.1 port=1 connect_timeout=2", options());
        BOOST_FAIL("an unreachable server was accepted");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::store_unavailable), e.what());
        BOOST_TEST(!e.diag().server.message.empty(), "libpq's words are kept apart");
    }
}

BOOST_AUTO_TEST_CASE(a_load_whose_connection_is_lost_in_flight_is_in_doubt_and_loses_nothing) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = save_unloaded(store, 1);

    auto locker = lock_row(id, 3000ms);
    std::this_thread::sleep_for(300ms);
    auto killer = terminate_sessions_running("load_instance", 300ms);
    auto loading = store.create_instance_handle(id);
    const auto r = run(store, loading, cmd::load_workflow{});
    killer.join();
    locker.join();
    r.require_error(errc::commit_in_doubt);
    BOOST_TEST((r.diag.instance_id == std::optional<uuid>(id)), "the diagnostics name the instance in doubt");
    BOOST_TEST(r.diag.message.find("may or may not have committed") != std::string::npos, r.diag.message);
    BOOST_TEST(!r.diag.server.message.empty(), "what libpq or the server said is kept");
    // The load never committed (its session died waiting), so nothing is held and nothing lost:
    // the store carries on with new connections.
    BOOST_TEST(counter_of(store, id) == 1);
}

BOOST_AUTO_TEST_CASE(a_bound_save_whose_connection_is_lost_in_flight_is_retried_and_applied_once) {
    auto& store = new_store();
    make_owner(store);
    auto [id, handle] = save_new(store, 1);

    auto locker = lock_row(id, 3000ms);
    std::this_thread::sleep_for(300ms);
    auto killer = terminate_sessions_running("save_instance", 300ms);
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(std::int64_t{2})}};
    save.unlock_instance = true;
    const auto r = run(store, handle, std::move(save));
    killer.join();
    locker.join();
    r.require_ok();  // the save carries a command id: sent again, it is applied once
    BOOST_TEST(counter_of(store, id) == 2);
}

BOOST_AUTO_TEST_CASE(sessions_ended_while_idle_are_replaced_without_a_new_store) {
    // What a server restart does to the pool: every session ends while the store is idle.
    auto& store = new_store();
    make_owner(store);
    std::vector<instance_handle> held;
    for (std::int64_t i = 0; i < 3; ++i) held.push_back(save_new(store, i).second);  // uses the pool
    schema->run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = "
                "current_database() AND backend_type = 'client backend'");
    std::this_thread::sleep_for(200ms);
    // The locks are in the database, not in the sessions: the handles keep them.
    for (auto& handle : held) {
        cmd::save_workflow unlock;
        unlock.instance_data = property_bag{{"counter", instance_value(std::int64_t{42})}};
        unlock.unlock_instance = true;
        run(store, handle, std::move(unlock)).require_ok();
    }
    for (std::int64_t i = 0; i < 3; ++i) {
        const auto id = save_new(store, 10 + i).first;
        BOOST_TEST(counter_of(store, id) == 10 + i);
    }
    // The blocking execute's connections were ended too, and are replaced the same way.
    auto handle = store.create_instance_handle(random_uuid());
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(std::int64_t{7})}};
    save.unlock_instance = true;
    store.execute(handle, std::move(save));
}

BOOST_AUTO_TEST_CASE(two_hosts_racing_for_one_instance_exactly_one_wins_every_round) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    make_owner(b);
    for (int round = 0; round < 40; ++round) {
        auto [id, handle] = save_new(a, round);
        run(a, handle, [] {
            cmd::save_workflow unlock;
            unlock.unlock_instance = true;
            return unlock;
        }())
            .require_ok();
        auto ha = a.create_instance_handle(id);
        auto hb = b.create_instance_handle(id);
        const auto [ra, rb] = test::exec_both(ioc, a, ha, cmd::load_workflow{}, b, hb, cmd::load_workflow{});
        const int winners = (ra.ec ? 0 : 1) + (rb.ec ? 0 : 1);
        BOOST_TEST_REQUIRE(winners == 1, "round " << round << ": " << ra.ec.message() << " / " << rb.ec.message());
        const auto& loser = ra.ec ? ra : rb;
        BOOST_TEST((loser.ec == errc::instance_locked), loser.ec.message());
        auto& winner_store = ra.ec ? b : a;
        auto& winner_handle = ra.ec ? hb : ha;
        cmd::save_workflow unlock;
        unlock.unlock_instance = true;
        run(winner_store, winner_handle, std::move(unlock)).require_ok();
    }
}

BOOST_AUTO_TEST_CASE(a_server_restart_with_saves_in_flight_loses_nothing_acknowledged) {
    // The throwaway cluster's directory (start_cluster.sh exports it): this test restarts it.
    const char* cluster = std::getenv("DURABLE_PG_CLUSTER");
    BOOST_TEST_REQUIRE(cluster != nullptr, "DURABLE_PG_CLUSTER is not set: this test restarts the throwaway cluster");
    auto o = options();
    o.max_connection_retries = 12;  // with back-off up to 2 s: longer than a restart
    auto settings = schema->settings();
    settings.max_connections = 4;
    auto& store = new_store(o, settings);
    make_owner(store);
    constexpr int count = 8;
    std::vector<uuid> ids;
    std::vector<instance_handle> handles;
    for (int i = 0; i < count; ++i) {
        auto [id, handle] = save_new(store, i);
        ids.push_back(id);
        handles.push_back(handle);
    }

    // The saves wait on their rows (four on the server, four for a connection) when it restarts.
    auto locker = lock_rows(ids, 3000ms);
    std::this_thread::sleep_for(300ms);
    std::vector<test::exec_result> results(count);
    int done = 0;
    for (int i = 0; i < count; ++i) {
        cmd::save_workflow save;
        save.instance_data = property_bag{{"counter", instance_value(std::int64_t{100 + i})}};
        test::start(store, handles[static_cast<std::size_t>(i)], std::move(save), results[static_cast<std::size_t>(i)], done);
    }
    const std::string as_postgres = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    const std::string restart = as_postgres + "/usr/lib/postgresql/15/bin/pg_ctl -D " + cluster + "/data -l " + cluster +
                                "/server.log restart -m fast -w -t 60 >/dev/null 2>&1";
    int restarted = -1;
    std::thread restarter([restart, &restarted] {
        std::this_thread::sleep_for(500ms);
        restarted = std::system(restart.c_str());
    });
    test::run_until(ioc, [&] { return done == count; });
    restarter.join();
    locker.join();
    BOOST_TEST(restarted == 0, "pg_ctl restart failed");
    int in_flight_failures = 0;
    for (const auto& r : results) in_flight_failures += r.ec ? 1 : 0;
    BOOST_TEST_MESSAGE("saves that did not succeed across the restart: " << in_flight_failures);

    for (int i = 0; i < count; ++i) {
        const auto& r = results[static_cast<std::size_t>(i)];
        // Each ended with success or a clear error; a bound save is retried by its command id, so
        // in doubt is the worst it may end with.
        BOOST_TEST((!r.ec || r.ec == errc::commit_in_doubt || r.ec == errc::store_unavailable), r.ec.message());
        if (r.ec) BOOST_TEST(!r.diag.message.empty());
    }
    // Afterwards the same store object works, and every acknowledged save is in the database.
    for (int i = 0; i < count; ++i) {
        const auto& r = results[static_cast<std::size_t>(i)];
        auto& handle = handles[static_cast<std::size_t>(i)];
        if (!handle.is_valid()) continue;
        cmd::save_workflow unlock;
        unlock.unlock_instance = true;
        run(store, handle, std::move(unlock)).require_ok();
        const auto counter = counter_of(store, ids[static_cast<std::size_t>(i)]);
        if (!r.ec) BOOST_TEST(counter == 100 + i);
        else BOOST_TEST((counter == i || counter == 100 + i));
    }
}

BOOST_AUTO_TEST_CASE(without_prepared_statements_every_command_still_works) {
    // The mode for a transaction-pooling proxy: unnamed statements, no LISTEN.
    auto settings = schema->settings();
    settings.prepared_statements = false;
    settings.listen = false;
    auto& store = new_store(options(), settings);
    auto& other = new_store(options(), settings);
    make_owner(store);
    make_owner(other);
    const uuid key = random_uuid();
    const uuid id = random_uuid();
    auto handle = store.create_instance_handle();
    cmd::load_workflow_by_instance_key by_key(key);
    by_key.associate_instance_key_to_instance_id = id;
    by_key.accept_uninitialized_instance = true;
    run(store, handle, std::move(by_key)).require_ok();
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(std::int64_t{3})}};
    save.instance_metadata_changes = property_bag{{"m", instance_value(std::string("x"))}};
    save.ready_to_run = true;
    save.unlock_instance = true;
    run(store, handle, std::move(save)).require_ok();
    const auto detected = run(other, other.create_instance_handle(), cmd::detect_runnable_instances{});
    detected.require_ok();
    BOOST_TEST((detected.view.next_runnable_time && *detected.view.next_runnable_time <= *detected.view.store_time));
    run(other, other.create_instance_handle(), cmd::query_activatable_workflows{}).require_ok();
    auto runnable = other.create_instance_handle();
    const auto loaded = run(other, runnable, cmd::try_load_runnable_workflow{});
    loaded.require_ok();
    BOOST_TEST((loaded.view.instance_id == std::optional<uuid>(id)));
    BOOST_TEST(loaded.view.keys.count(key) == 1u);
    BOOST_TEST(std::get<std::string>(loaded.view.metadata.at("m").get()) == "x");
    cmd::save_workflow complete;
    complete.instance_data = property_bag{};
    complete.instance_keys_to_complete = {key};
    complete.complete_instance = true;
    complete.unlock_instance = true;
    run(other, runnable, std::move(complete)).require_ok();
    run(store, store.create_instance_handle(), cmd::extend_lock{}).require_ok();
    run(store, store.create_instance_handle(), cmd::recover_instance_locks{}).require_ok();
    run(store, store.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
}

BOOST_AUTO_TEST_CASE(a_store_user_login_runs_every_command_and_an_observer_none) {
    // Least privilege: the store needs nothing but durable_store_users; an observer may read the
    // views and is refused the store with a message that names the role to grant.
    const std::string suffix = to_string(random_uuid()).substr(0, 8);
    const std::string user = "durable_test_user_" + suffix;
    const std::string observer = "durable_test_observer_" + suffix;
    schema->run("CREATE ROLE " + user + " LOGIN IN ROLE durable_store_users; CREATE ROLE " + observer +
                " LOGIN IN ROLE durable_observers");
    struct drop_roles {
        testing::test_schema& schema;
        std::string names;
        ~drop_roles() {
            try {
                schema.run("DROP ROLE IF EXISTS " + names);
            } catch (...) {
            }
        }
    } cleanup{*schema, user + ", " + observer};
    {
        pg_instance_store store(ioc.get_executor(), schema->url() + " user=" + user, options(), schema->settings());
        make_owner(store);
        const uuid key = random_uuid();
        auto handle = store.create_instance_handle(random_uuid());
        cmd::save_workflow save;
        save.instance_data = property_bag{{"counter", instance_value(std::int64_t{1})}};
        save.instance_keys_to_associate[key] = {};
        save.ready_to_run = true;
        save.unlock_instance = true;
        run(store, handle, std::move(save)).require_ok();
        auto by_key = store.create_instance_handle();
        run(store, by_key, cmd::load_workflow_by_instance_key(key)).require_ok();
        cmd::save_workflow complete;
        complete.instance_data = property_bag{};
        complete.complete_instance = true;
        complete.unlock_instance = true;
        run(store, by_key, std::move(complete)).require_ok();
        run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok();
        run(store, store.create_instance_handle(), cmd::detect_runnable_instances{}).require_ok();
        run(store, store.create_instance_handle(), cmd::query_activatable_workflows{}).require_ok();
        run(store, store.create_instance_handle(), cmd::extend_lock{}).require_ok();
        run(store, store.create_instance_handle(), cmd::recover_instance_locks{}).require_ok();
        run(store, store.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
    }
    try {
        pg_instance_store store(ioc.get_executor(), schema->url() + " user=" + observer, options(), schema->settings());
        BOOST_FAIL("an observer opened the store");
    } catch (const store_error& e) {
        BOOST_TEST(e.diag().server.sqlstate == "42501");
        BOOST_TEST(e.diag().message.find("durable_store_users") != std::string::npos, e.diag().message);
    }
    ioc.restart();
    ioc.poll();
}

BOOST_AUTO_TEST_CASE(sql_injection_through_names_and_metadata_is_inert) {
    auto& store = new_store();
    const std::string evil = "x'); DROP SCHEMA \"" + schema->name() + "\" CASCADE; --\" \\ $$ $1";
    cmd::create_workflow_owner create;
    create.workflow_host_type = name{evil, evil};
    create.owner_metadata = property_bag{{name{evil, evil}, instance_value(evil)}};
    auto owner_handle = store.create_instance_handle(instance_owner{});
    run(store, owner_handle, std::move(create)).require_ok();
    const uuid key = random_uuid();
    const uuid id = random_uuid();
    auto handle = store.create_instance_handle(id);
    cmd::save_workflow save;
    save.instance_data = property_bag{{name{evil, evil}, instance_value(evil)}};
    save.instance_metadata_changes = property_bag{{name{evil, evil}, instance_value(evil)}};
    save.instance_keys_to_associate[key] = property_bag{{name{evil, evil}, instance_value(evil)}};
    save.execution_status = evil;
    save.blocking_bookmarks = evil;
    save.suspension = cmd::suspension_change::suspend;
    save.suspension_reason = evil;
    save.suspension_exception_name = evil;
    save.workflow_host_type = name{evil, evil};
    save.definition_identity = workflow_identity{evil, evil, std::nullopt};
    save.unlock_instance = true;
    run(store, handle, std::move(save)).require_ok();
    auto again = store.create_instance_handle();
    const auto loaded = run(store, again, cmd::load_workflow_by_instance_key(key));
    loaded.require_ok();
    BOOST_TEST(std::get<std::string>(loaded.view.data.at(name{evil, evil}).get()) == evil);
    BOOST_TEST(std::get<std::string>(loaded.view.metadata.at(name{evil, evil}).get()) == evil);
    BOOST_TEST(std::get<std::string>(loaded.view.keys.at(key).metadata.at(name{evil, evil}).get()) == evil);
    // The schema is still there, with the one instance in it.
    BOOST_TEST(counter_of_rows("instances_table") == 1);
}

BOOST_AUTO_TEST_CASE(promoted_values_are_typed_rows_and_sql_in_them_is_inert) {
    const std::string evil = "x'); DROP SCHEMA \"" + schema->name() + "\" CASCADE; --\" \\ $$ $1";
    auto o = options();
    o.promote(evil, {{evil, evil}, {"", "total"}}, {{"urn:x", evil}});
    auto& store = new_store(o, schema->settings());
    make_owner(store);
    const uuid id = random_uuid();
    auto handle = store.create_instance_handle(id);
    cmd::save_workflow save;
    save.instance_data = property_bag{{name{evil, evil}, instance_value(evil)},
                                      {"total", instance_value(std::int64_t{9'007'199'254'740'993})},
                                      {name{"urn:x", evil}, instance_value(opaque{evil, bytes(evil.begin(), evil.end())})}};
    run(store, handle, std::move(save)).require_ok();

    // The schema is still there; each value is a row of the public view, in the column of its
    // kind, at its place in the promotion (primitive values from 1, binary ones from 33).
    BOOST_TEST(counter_of_rows("instances_table") == 1);
    BOOST_TEST(counter_of_rows("instance_promoted_properties") == 3);
    BOOST_TEST(counter_of_rows("instance_promoted_properties WHERE value_position = 1 AND value_kind = 'string' AND "
                               "promotion_name = string_value AND property_name = string_value AND "
                               "property_namespace = string_value") == 1);
    BOOST_TEST(counter_of_rows("instance_promoted_properties WHERE value_position = 2 AND value_kind = 'int64' AND "
                               "int64_value = 9007199254740993 AND property_namespace = ''") == 1);
    BOOST_TEST(counter_of_rows("instance_promoted_properties WHERE value_position = 33 AND value_kind = 'opaque' AND "
                               "content_type = promotion_name AND binary_value = convert_to(promotion_name, 'UTF8')") == 1);

    auto reader = store.create_instance_handle();
    const auto r = run(store, reader, cmd::query_promoted_properties{id});
    r.require_ok();
    BOOST_TEST_REQUIRE(r.view.promoted_properties.count(evil) == 1u);
    BOOST_TEST(std::get<std::string>(r.view.promoted_properties.at(evil).at(name{evil, evil}).get()) == evil);
}

BOOST_AUTO_TEST_CASE(cancelling_a_command_waiting_on_the_server) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = save_unloaded(store, 1);

    auto locker = lock_row(id, 3000ms);
    std::this_thread::sleep_for(300ms);
    asio::cancellation_signal signal;
    error_code result;
    bool done = false;
    auto loading = store.create_instance_handle(id);
    store.async_execute(loading, cmd::load_workflow{}, asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, instance_view) {
                            result = ec;
                            done = true;
                        }));
    asio::steady_timer later(ioc, 300ms);
    later.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });
    const auto started = std::chrono::steady_clock::now();
    test::run_until(ioc, [&] { return done; });
    const auto took = std::chrono::steady_clock::now() - started;
    BOOST_TEST((result == asio::error::operation_aborted), result.message());
    BOOST_TEST((took < 2s), "cancellation must not wait for the row lock");
    // The statement was cancelled on the server, not left waiting for the row (the cancel
    // request travels on a thread of its own: give it a moment).
    int still_running = sessions_running("load_instance");
    for (int i = 0; i < 20 && still_running != 0; ++i) {
        std::this_thread::sleep_for(50ms);
        still_running = sessions_running("load_instance");
    }
    BOOST_TEST(still_running == 0);
    locker.join();
    BOOST_TEST(counter_of(store, id) == 1);
}

BOOST_AUTO_TEST_CASE(cancelling_a_command_waiting_for_a_pooled_connection) {
    pg_store_settings one_connection = schema->settings();
    one_connection.max_connections = 1;
    auto& store = new_store(options(), one_connection);
    make_owner(store);
    const uuid id = save_unloaded(store, 1);

    // The pool's only connection waits on the locked row; a second command queues for it.
    auto locker = lock_row(id, 1500ms);
    std::this_thread::sleep_for(300ms);
    test::exec_result first;
    int first_done = 0;
    test::start(store, store.create_instance_handle(id), cmd::load_workflow{}, first, first_done);

    asio::cancellation_signal signal;
    error_code queued_result;
    bool queued_done = false;
    auto other = store.create_instance_handle(random_uuid());
    store.async_execute(other, cmd::load_workflow{true},
                        asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, instance_view) {
                            queued_result = ec;
                            queued_done = true;
                        }));
    asio::steady_timer later(ioc, 200ms);
    later.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });
    test::run_until(ioc, [&] { return queued_done; });
    BOOST_TEST((queued_result == asio::error::operation_aborted), queued_result.message());
    BOOST_TEST(first_done == 0, "the first command still waits for the row");
    test::run_until(ioc, [&] { return first_done == 1; });
    locker.join();
    first.require_ok();
}

BOOST_AUTO_TEST_CASE(the_blocking_execute_needs_no_running_io_context) {
    auto& store = new_store();
    cmd::create_workflow_owner create;
    create.workflow_host_type = order_host;
    store.create_owner(std::move(create));
    const uuid id = random_uuid();
    auto handle = store.create_instance_handle(id);
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(std::int64_t{5})}};
    save.unlock_instance = true;
    store.execute(handle, std::move(save));  // the io_context is not running here
    auto again = store.create_instance_handle(id);
    const auto view = store.execute(again, cmd::load_workflow{});
    BOOST_TEST(std::get<std::int64_t>(view.data.at("counter").get()) == 5);
    cmd::save_workflow unlock;
    unlock.unlock_instance = true;
    store.execute(again, std::move(unlock));
}

namespace {

/// Saves a ready-to-run instance from another store and reports whether the host's
/// has_runnable_workflow came within `within`, its detection polling only once an hour.
bool wakes_within(pg_fixture& f, bool listen, std::chrono::steady_clock::duration within) {
    auto o = f.options();
    o.run_background_tasks = true;
    o.runnable_instances_detection_period = std::chrono::hours{1};
    auto settings = f.schema->settings();
    settings.listen = listen;
    auto& host = f.new_store(o, settings);
    auto& other = f.new_store();
    const auto owner = f.make_owner(host);
    f.make_owner(other);

    std::vector<persistence_event> events;
    bool woke = false;
    host.async_wait_for_events(host.create_instance_handle(owner), [&](error_code ec, std::vector<persistence_event> e) {
        if (ec) return;
        events = std::move(e);
        woke = true;
    });
    // Let the host's first detection find nothing and its listener connect.
    asio::steady_timer settle(f.ioc, 1s);
    bool settled = false;
    settle.async_wait([&](error_code) { settled = true; });
    test::run_until(f.ioc, [&] { return settled; });
    BOOST_TEST_REQUIRE(!woke, "nothing was runnable yet");

    // Another host saves an instance that is ready to run and lets go of it: its commit notifies.
    auto handle = other.create_instance_handle(random_uuid());
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(std::int64_t{1})}};
    save.ready_to_run = true;
    save.unlock_instance = true;
    test::exec_result saved;
    int saved_done = 0;
    test::start(other, handle, std::move(save), saved, saved_done);
    asio::steady_timer deadline(f.ioc, within);
    bool late = false;
    deadline.async_wait([&](error_code ec) { late = !ec; });
    test::run_until(f.ioc, [&] { return (woke && saved_done == 1) || late; });
    saved.require_ok();
    if (woke) BOOST_TEST((events == std::vector<persistence_event>{persistence_event::has_runnable_workflow}));
    deadline.cancel();
    f.stores.clear();
    // Background tasks and the listener end with the stores.
    f.ioc.restart();
    f.ioc.run_for(2s);
    return woke;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_notification_wakes_runnable_detection_at_once) {
    BOOST_TEST(wakes_within(*this, true, 5s), "no wake-up within 5 s");
}

BOOST_AUTO_TEST_CASE(without_listen_only_polling_would_find_it) {
    // The control: the wake-up above is the notification's doing.
    BOOST_TEST(!wakes_within(*this, false, 3s));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace durable::pg
