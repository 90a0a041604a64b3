// The seam between the instance_store facade and a store_backend: ownership and teardown,
// cancellation that reaches the backend, events a backend pushes, and the written contract for
// what a command returns.

#include <durable/memory_instance_store.hpp>
#include <durable/store_backend.hpp>

#include <test_common/exec_result.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

using namespace durable;
namespace cmd = durable::commands;
using namespace std::chrono_literals;

namespace {

/// A backend whose asynchronous commands wait until they are cancelled, as a server store's
/// socket wait does; it counts what it saw.
struct waiting_backend final : store_backend {
    struct counters {
        std::atomic<int> started{0};
        std::atomic<int> cancelled{0};
        std::atomic<int> shut_downs{0};
        std::atomic<bool> destroyed{false};
    };
    explicit waiting_backend(std::shared_ptr<counters> c) : seen(std::move(c)) {}
    ~waiting_backend() override { seen->destroyed = true; }

    /// Only owners are created at once (blocking), so that a store over this backend has one.
    error_code run_command(const command_request& request, command_outcome& outcome) override {
        if (!std::holds_alternative<cmd::create_workflow_owner>(request.command)) return errc::store_unavailable;
        outcome.view.owner_id = random_uuid();
        return {};
    }

    void async_run_command(command_request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) override {
        ++seen->started;
        auto slot = asio::get_associated_cancellation_slot(handler);
        BOOST_TEST_REQUIRE(slot.is_connected(), "the facade passes a cancellation slot to the backend");
        pending.emplace(std::move(handler));
        slot.assign([this](asio::cancellation_type) {
            ++seen->cancelled;
            command_outcome outcome;
            outcome.diag.message = "the wait was cancelled";
            auto h = std::move(*pending);
            pending.reset();
            asio::post(context().executor, [h = std::move(h), outcome = std::move(outcome)]() mutable {
                std::move(h)(asio::error::operation_aborted, std::move(outcome));
            });
        });
    }

    void on_shut_down() noexcept override { ++seen->shut_downs; }

    std::shared_ptr<counters> seen;
    std::optional<asio::any_completion_handler<void(error_code, command_outcome)>> pending;
};

store_options quiet_options() {
    store_options o;
    o.run_background_tasks = false;
    o.machine_name = "seam";
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_seam)

BOOST_AUTO_TEST_CASE(cancellation_reaches_a_backend_that_waits) {
    asio::io_context ioc;
    auto seen = std::make_shared<waiting_backend::counters>();
    instance_store store(ioc.get_executor(), quiet_options(), std::make_shared<waiting_backend>(seen));
    store.create_owner({});
    asio::cancellation_signal cancel;
    test::exec_result result;
    bool done = false;
    store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{}, result.diag,
                        asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, instance_view) {
                            result.ec = ec;
                            done = true;
                        }));
    test::run_until(ioc, [&] { return seen->started == 1; });
    BOOST_TEST(!done, "the command waits in the backend");
    cancel.emit(asio::cancellation_type::terminal);
    test::run_until(ioc, [&] { return done; });
    BOOST_TEST((result.ec == asio::error::operation_aborted), result.ec.message());
    BOOST_TEST(seen->cancelled == 1);
    BOOST_TEST(result.diag.message == "the wait was cancelled");
}

BOOST_AUTO_TEST_CASE(the_backend_is_shut_down_once_and_outlives_the_operation_that_uses_it) {
    asio::io_context ioc;
    auto seen = std::make_shared<waiting_backend::counters>();
    asio::cancellation_signal cancel;
    error_code result;
    bool done = false;
    {
        instance_store store(ioc.get_executor(), quiet_options(), std::make_shared<waiting_backend>(seen));
        store.create_owner({});
        store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{},
                            asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, instance_view) {
                                result = ec;
                                done = true;
                            }));
        test::run_until(ioc, [&] { return seen->started == 1; });
    }  // the facade goes while its command waits in the backend
    BOOST_TEST(seen->shut_downs == 1);
    BOOST_TEST(!seen->destroyed, "the pending operation keeps the backend alive");
    cancel.emit(asio::cancellation_type::terminal);
    test::run_until(ioc, [&] { return done; });
    BOOST_TEST((result == asio::error::operation_aborted));
    ioc.restart();
    ioc.run();
    BOOST_TEST(seen->destroyed, "the backend goes with the last operation");
    BOOST_TEST(seen->shut_downs == 1);
}

BOOST_AUTO_TEST_CASE(a_cancellation_during_the_retry_back_off_does_not_reach_the_finished_attempt) {
    // The backend answers every load "locked" at once and keeps its cancellation slot handler
    // installed, as a careless backend might: the facade must have cleared the slot.
    struct locked_backend final : store_backend {
        std::shared_ptr<std::atomic<int>> late_cancellations = std::make_shared<std::atomic<int>>(0);
        error_code run_command(const command_request& request, command_outcome& outcome) override {
            if (std::holds_alternative<cmd::create_workflow_owner>(request.command)) {
                outcome.view.owner_id = random_uuid();
                return {};
            }
            return errc::instance_locked;
        }
        void async_run_command(command_request,
                               asio::any_completion_handler<void(error_code, command_outcome)> handler) override {
            auto slot = asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.assign([late = late_cancellations](asio::cancellation_type) { ++*late; });
            asio::post(context().executor, asio::append(std::move(handler), error_code(errc::instance_locked),
                                                        command_outcome{}));
        }
    };
    asio::io_context ioc;
    auto backend = std::make_shared<locked_backend>();
    store_options o = quiet_options();
    o.locked_retry = locked_instance_retry::basic;  // 5 s between attempts
    instance_store store(ioc.get_executor(), o, backend);
    store.create_owner({});
    asio::cancellation_signal cancel;
    error_code result;
    bool done = false;
    store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{},
                        asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, instance_view) {
                            result = ec;
                            done = true;
                        }));
    for (int i = 0; i < 20; ++i) {  // the first attempt answers; the back-off timer is armed
        ioc.restart();
        ioc.poll();
    }
    BOOST_TEST_REQUIRE(!done);
    cancel.emit(asio::cancellation_type::terminal);
    test::run_until(ioc, [&] { return done; });
    BOOST_TEST((result == asio::error::operation_aborted), result.message());
    BOOST_TEST(*backend->late_cancellations == 0, "the finished attempt's slot was cleared");
}

BOOST_AUTO_TEST_CASE(a_null_backend_is_refused) {
    asio::io_context ioc;
    BOOST_CHECK_THROW(instance_store(ioc.get_executor(), {}, nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(memory_instance_store(ioc.get_executor(), std::shared_ptr<memory_database>{}),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_commit_in_the_memory_store_wakes_runnable_detection_at_once) {
    // The detection period is an hour: only the database's push can end the wait in time.
    asio::io_context ioc;
    store_options o;
    o.runnable_instances_detection_period = std::chrono::hours{1};
    o.machine_name = "push";
    const name host_type{"urn:durable:test", "PushHost"};
    auto database = make_memory_database();
    memory_instance_store host(ioc.get_executor(), database, o);
    memory_instance_store writer(ioc.get_executor(), database, o);
    cmd::create_workflow_owner create;
    create.workflow_host_type = host_type;
    test::exec(ioc, host, host.create_instance_handle(), create).require_ok();
    create.workflow_host_type = name{"urn:durable:test", "Writer"};
    test::exec(ioc, writer, writer.create_instance_handle(), create).require_ok();

    error_code result;
    std::vector<persistence_event> events;
    bool woke = false;
    host.async_wait_for_events(host.create_instance_handle(), [&](error_code ec, std::vector<persistence_event> e) {
        result = ec;
        events = std::move(e);
        woke = true;
    });
    // Let the first detection find nothing and arm its hour-long timer.
    for (int i = 0; i < 50; ++i) {
        ioc.restart();
        ioc.poll();
    }
    BOOST_TEST_REQUIRE(!woke, "nothing is runnable yet");

    cmd::save_workflow ready;
    ready.instance_data = property_bag{{"n", instance_value(std::int64_t{1})}};
    ready.ready_to_run = true;
    ready.unlock_instance = true;
    ready.workflow_host_type = host_type;
    const auto started = std::chrono::steady_clock::now();
    test::exec(ioc, writer, writer.create_instance_handle(random_uuid()), std::move(ready)).require_ok();
    asio::steady_timer deadline(ioc, 30s);  // a safety net for a broken push, far below the period
    bool timed_out = false;
    deadline.async_wait([&](error_code ec) { timed_out = !ec; });
    test::run_until(ioc, [&] { return woke || timed_out; });
    deadline.cancel();
    BOOST_TEST_REQUIRE(woke, "the save woke the waiting host without waiting for the detection period");
    BOOST_TEST(!result, result.message());
    BOOST_TEST((events == std::vector{persistence_event::has_runnable_workflow}));
    BOOST_TEST((std::chrono::steady_clock::now() - started < 30s));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the command-result contract -------------------------------------------------------------

namespace {

command_request request_for(cmd::command c, std::optional<uuid> instance = {}, std::int64_t lock_version = -1) {
    command_request r;
    r.command = std::move(c);
    r.owner_id = random_uuid();
    r.instance_id = instance;
    r.lock_version = lock_version;
    return r;
}

command_outcome bound(std::optional<uuid> instance, std::int64_t lock_version,
                      instance_state state = instance_state::initialized) {
    command_outcome o;
    o.view.instance_id = instance;
    o.view.lock_version = lock_version;
    o.view.state = state;
    return o;
}

bool keeps(const command_request& r, const command_outcome& o, error_code ec = {}) {
    const auto broken = check_command_outcome(r, ec, o);
    BOOST_TEST_MESSAGE((broken.empty() ? std::string("kept") : broken));
    return broken.empty();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_result_contract)

BOOST_AUTO_TEST_CASE(each_rule_accepts_what_it_promises_and_names_what_breaks_it) {
    const uuid id = random_uuid();

    command_outcome created;
    created.view.owner_id = random_uuid();
    BOOST_TEST(keeps(request_for(cmd::create_workflow_owner{}), created));
    BOOST_TEST(!keeps(request_for(cmd::create_workflow_owner{}), command_outcome{}), "no owner id");
    created.view.owner_id = nil_uuid;
    BOOST_TEST(!keeps(request_for(cmd::create_workflow_owner{}), created), "a nil owner id");

    for (cmd::command load : {cmd::command{cmd::load_workflow{}}, cmd::command{cmd::load_workflow_by_instance_key(random_uuid())}}) {
        BOOST_TEST(keeps(request_for(load), bound(id, 3)));
        BOOST_TEST(keeps(request_for(load, id), bound(id, 0, instance_state::uninitialized)));
        BOOST_TEST(!keeps(request_for(load), bound(std::nullopt, 3)), "no instance");
        BOOST_TEST(!keeps(request_for(load), bound(id, -1)), "no lock");
        BOOST_TEST(!keeps(request_for(load, id), bound(random_uuid(), 3)), "another instance");
        BOOST_TEST(!keeps(request_for(load), bound(id, 3, instance_state::completed)), "a completed state");
    }

    cmd::save_workflow unlocking;
    unlocking.unlock_instance = true;
    cmd::save_workflow completing;
    completing.complete_instance = true;
    BOOST_TEST(keeps(request_for(cmd::save_workflow{}, id, 4), bound(id, 4)));
    BOOST_TEST(keeps(request_for(unlocking, id, 4), bound(id, -1)), "an unlocking save");
    BOOST_TEST(keeps(request_for(completing, id, 4), bound(id, -1)), "a completing save");
    BOOST_TEST(!keeps(request_for(unlocking, id, 4), bound(id, 4)), "a lock still held after unlocking");
    BOOST_TEST(!keeps(request_for(cmd::save_workflow{}, id, 4), bound(id, -1)), "a lock lost by a save that kept it");
    BOOST_TEST(!keeps(request_for(cmd::save_workflow{}, id, 4), bound(id, 5)), "a lock version that moved");
    BOOST_TEST(!keeps(request_for(cmd::save_workflow{}, id, 4), bound(id, -2)));

    BOOST_TEST(keeps(request_for(cmd::try_load_runnable_workflow{}), command_outcome{}), "nothing runnable");
    BOOST_TEST(keeps(request_for(cmd::try_load_runnable_workflow{}), bound(id, 2)));
    BOOST_TEST(!keeps(request_for(cmd::try_load_runnable_workflow{}), bound(std::nullopt, 2)));
    BOOST_TEST(!keeps(request_for(cmd::try_load_runnable_workflow{}), bound(id, -1)));

    command_outcome detected;
    detected.view.store_time = timestamp{};
    BOOST_TEST(keeps(request_for(cmd::detect_runnable_instances{}), detected));
    BOOST_TEST(!keeps(request_for(cmd::detect_runnable_instances{}), command_outcome{}), "no store time");

    BOOST_TEST(keeps(request_for(cmd::load_workflow{}), command_outcome{}, errc::instance_not_found),
                 "a failure's view is ignored");
    BOOST_TEST(keeps(request_for(cmd::load_workflow{}), command_outcome{}, asio::error::operation_aborted));
    BOOST_TEST(!keeps(request_for(cmd::load_workflow{}), command_outcome{},
                      error_code(EIO, boost::system::generic_category())),
               "an error outside store_category");
}

BOOST_AUTO_TEST_SUITE_END()
