// Every command with every completion token, cancellation and timeouts, events, and the
// blocking layer.

#include "fixture.hpp"

#include <durable/store_error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <functional>
#include <thread>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

namespace {

using invoker = std::function<test::exec_result(instance_store&, const instance_handle&, cmd::command)>;

template <class F>
test::exec_result visit_command(cmd::command c, F&& f) {
    return std::visit([&](auto& concrete) { return f(std::move(concrete)); }, c);
}

/// The whole command set once, through `invoke`; each step must succeed.
void lifecycle(store_fixture& fx, const invoker& invoke) {
    auto& store = fx.new_store();
    auto owner_handle = store.create_instance_handle();
    cmd::create_workflow_owner create;
    create.workflow_host_type = order_host;
    invoke(store, owner_handle, create).require_ok();

    const uuid id = random_uuid(), key = random_uuid();
    cmd::save_workflow save;
    save.instance_data = counter_bag(1);
    save.instance_keys_to_associate[key] = {};
    save.unlock_instance = true;
    invoke(store, store.create_instance_handle(id), save).require_ok();

    auto by_id = store.create_instance_handle(id);
    BOOST_TEST(counter_of(invoke(store, by_id, cmd::load_workflow{}).require_ok().view) == 1);
    cmd::save_workflow unlock;
    unlock.unlock_instance = true;
    invoke(store, by_id, unlock).require_ok();

    auto by_key = store.create_instance_handle();
    BOOST_TEST((invoke(store, by_key, cmd::load_workflow_by_instance_key(key)).require_ok().view.instance_id == id));
    cmd::save_workflow ready;
    ready.instance_data = counter_bag(2);
    ready.ready_to_run = true;
    ready.unlock_instance = true;
    invoke(store, by_key, ready).require_ok();

    auto runnable = store.create_instance_handle();
    BOOST_TEST((invoke(store, runnable, cmd::try_load_runnable_workflow{}).require_ok().view.instance_id == id));
    const auto version = runnable.lock_version();
    invoke(store, store.create_instance_handle(), cmd::query_activatable_workflows{}).require_ok();
    invoke(store, store.create_instance_handle(), cmd::extend_lock{}).require_ok();
    invoke(store, store.create_instance_handle(), cmd::recover_instance_locks{}).require_ok();
    invoke(store, store.create_instance_handle(), cmd::detect_runnable_instances{}).require_ok();
    invoke(store, store.create_instance_handle(), cmd::unlock_instance{id, version}).require_ok();
    invoke(store, owner_handle, cmd::delete_workflow_owner{}).require_ok();
}

/// Runs the io_context on a second thread while the test thread blocks on futures.
struct background_runner {
    explicit background_runner(asio::io_context& ioc) : ioc_(ioc), guard_(ioc.get_executor()) {
        ioc_.restart();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~background_runner() {
        guard_.reset();
        thread_.join();
    }
    asio::io_context& ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(completion_tokens, store_fixture)

BOOST_AUTO_TEST_CASE(callback) {
    lifecycle(*this, [this](instance_store& s, const instance_handle& h, cmd::command c) {
        return visit_command(std::move(c), [&](auto concrete) { return test::exec(ioc, s, h, std::move(concrete)); });
    });
}

BOOST_AUTO_TEST_CASE(deferred) {
    lifecycle(*this, [this](instance_store& s, const instance_handle& h, cmd::command c) {
        return visit_command(std::move(c), [&](auto concrete) {
            test::exec_result r;
            bool done = false;
            auto op = s.async_execute(h, std::move(concrete), r.diag, asio::deferred);  // nothing runs yet
            std::move(op)([&](error_code ec, instance_view v) {
                r.ec = ec;
                r.view = std::move(v);
                done = true;
            });
            test::run_until(ioc, [&] { return done; });
            return r;
        });
    });
}

BOOST_AUTO_TEST_CASE(use_future) {
    lifecycle(*this, [this](instance_store& s, const instance_handle& h, cmd::command c) {
        return visit_command(std::move(c), [&](auto concrete) {
            test::exec_result r;
            background_runner runner(ioc);
            auto future = s.async_execute(h, std::move(concrete), asio::use_future);
            try {
                r.view = future.get();
            } catch (const boost::system::system_error& e) {
                r.ec = e.code();
                r.diag = h.last_diagnostics();
            }
            return r;
        });
    });
}

BOOST_AUTO_TEST_CASE(use_awaitable) {
    lifecycle(*this, [this](instance_store& s, const instance_handle& h, cmd::command c) {
        return visit_command(std::move(c), [&](auto concrete) {
            test::exec_result r;
            bool done = false;
            asio::co_spawn(
                ioc,
                [&, cmd_value = std::move(concrete)]() mutable -> asio::awaitable<void> {
                    auto [ec, view] = co_await s.async_execute(h, std::move(cmd_value), asio::as_tuple(asio::use_awaitable));
                    r.ec = ec;
                    r.view = std::move(view);
                    r.diag = h.last_diagnostics();
                    done = true;
                },
                test::rethrow_failure);
            test::run_until(ioc, [&] { return done; });
            return r;
        });
    });
}

BOOST_AUTO_TEST_CASE(awaitable_throws_on_error) {
    auto& store = new_store();
    make_owner(store);
    bool threw = false;
    auto handle = store.create_instance_handle(random_uuid());
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                cmd::load_workflow load_cmd;
                co_await store.async_execute(handle, load_cmd, asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                threw = e.code() == errc::instance_not_found;
            }
        },
        test::rethrow_failure);
    test::run_until(ioc, [&] { return threw; });
    BOOST_TEST(handle.last_diagnostics().command == "load_workflow");
}

BOOST_AUTO_TEST_CASE(cancelling_a_locked_retry) {
    auto& a = new_store();
    auto o = options();
    o.locked_retry = locked_instance_retry::basic;  // 5 s between attempts
    auto& b = new_store(o);
    make_owner(a);
    make_owner(b);
    auto [id, held] = save_new(a, counter_bag(1));

    asio::cancellation_signal signal;
    error_code result;
    bool done = false;
    auto hb = b.create_instance_handle(id);
    b.async_execute(hb, cmd::load_workflow{}, asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, instance_view) {
                        result = ec;
                        done = true;
                    }));
    asio::steady_timer later(ioc, 50ms);
    later.async_wait([&](error_code) { signal.emit(asio::cancellation_type::terminal); });
    const auto started = std::chrono::steady_clock::now();
    test::run_until(ioc, [&] { return done; });
    BOOST_TEST((result == asio::error::operation_aborted), result.message());
    BOOST_TEST((std::chrono::steady_clock::now() - started < 4s), "cancellation must not wait out the retry delay");
    // The handle is usable again: the lock is still held elsewhere, and says so.
    run(b, hb, cmd::load_workflow{}).require_error(errc::instance_locked);
}

BOOST_AUTO_TEST_CASE(cancelling_a_wait_for_events) {
    auto& store = new_store();
    auto owner = make_owner(store);
    asio::cancellation_signal signal;
    error_code result;
    bool done = false;
    store.async_wait_for_events(store.create_instance_handle(owner),
                                asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, std::vector<persistence_event>) {
                                    result = ec;
                                    done = true;
                                }));
    asio::post(ioc, [&] { signal.emit(asio::cancellation_type::terminal); });
    test::run_until(ioc, [&] { return done; });
    BOOST_TEST((result == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(timeout_with_awaitable_operators) {
    using namespace asio::experimental::awaitable_operators;
    auto& store = new_store();
    auto owner = make_owner(store);
    bool timed_out = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(ioc, 20ms);
            auto result = co_await (store.async_wait_for_events(store.create_instance_handle(owner), asio::use_awaitable) ||
                                    timer.async_wait(asio::use_awaitable));
            timed_out = result.index() == 1;
        },
        test::rethrow_failure);
    test::run_until(ioc, [&] { return timed_out; });
    BOOST_TEST(timed_out);
}

BOOST_AUTO_TEST_CASE(background_detection_signals_runnable_work) {
    // Real time here: the background tasks poll every second.
    store_options o;
    o.runnable_instances_detection_period = 1s;
    o.host_lock_renewal_period = 1s;
    o.machine_name = "events";
    auto& writer = new_store(o);
    make_owner(writer, name{"urn:x", "Writer"});
    auto& host = new_store(o);
    auto host_owner = make_owner(host);

    auto wait = [&] {
        std::vector<persistence_event> events;
        bool done = false;
        error_code result;
        host.async_wait_for_events(host.create_instance_handle(host_owner), [&](error_code ec, std::vector<persistence_event> e) {
            result = ec;
            events = std::move(e);
            done = true;
        });
        test::run_until(ioc, [&] { return done; });
        BOOST_TEST(!result, result.message());
        return events;
    };
    cmd::save_workflow ready;
    ready.instance_data = counter_bag(1);
    ready.ready_to_run = true;
    ready.unlock_instance = true;
    ready.workflow_host_type = order_host;
    const uuid first = random_uuid();
    run(writer, writer.create_instance_handle(first), ready).require_ok();

    const auto events = wait();
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST((events[0] == persistence_event::has_runnable_workflow));
    const auto loaded = host.create_instance_handle();  // kept: a dropped handle lets go of its lock
    BOOST_TEST((run(host, loaded, cmd::try_load_runnable_workflow{}).view.instance_id == first));
    BOOST_TEST(!run(host, host.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.is_bound_to_instance());

    // The empty try-load reset the event; new work signals it again.
    const uuid second = random_uuid();
    run(writer, writer.create_instance_handle(second), ready).require_ok();
    BOOST_TEST((wait() == std::vector{persistence_event::has_runnable_workflow}));
    BOOST_TEST((run(host, host.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.instance_id == second));
    stores.clear();  // stops the background tasks before the fixture checks for leftover work
}

BOOST_AUTO_TEST_CASE(sync_layer_throws_store_error_with_diagnostics) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid();
    try {
        store.execute(store.create_instance_handle(id), cmd::load_workflow{});
        BOOST_FAIL("expected a store_error");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::instance_not_found));
        BOOST_TEST((e.diag().instance_id == id));
        BOOST_TEST(std::string(e.what()).find(to_string(id)) != std::string::npos);
    }
    error_code ec;
    diagnostics diag;
    store.execute(store.create_instance_handle(id), cmd::load_workflow{}, ec, diag);
    BOOST_TEST((ec == errc::instance_not_found));
    BOOST_TEST(diag.command == "load_workflow");
    cmd::save_workflow save;
    save.instance_data = counter_bag(3);
    save.unlock_instance = true;
    store.execute(store.create_instance_handle(id), save);
    BOOST_TEST(counter_of(store.execute(store.create_instance_handle(id), cmd::load_workflow{})) == 3);
}

BOOST_AUTO_TEST_CASE(handle_misuse) {
    auto& store = new_store();
    auto& other = new_store();
    make_owner(store);
    make_owner(other);
    auto freed = store.create_instance_handle(random_uuid());
    freed.free();
    run(store, freed, cmd::load_workflow(true)).require_error(errc::invalid_handle);
    run(other, store.create_instance_handle(random_uuid()), cmd::load_workflow(true)).require_error(errc::invalid_handle);
    BOOST_CHECK_THROW(store.create_instance_handle(nil_uuid), std::invalid_argument);

    auto busy = store.create_instance_handle(random_uuid());
    const auto [first, second] = test::exec_both(ioc, store, busy, cmd::load_workflow(true), store, busy, cmd::load_workflow(true));
    first.require_ok();
    second.require_error(errc::handle_busy);
}

BOOST_AUTO_TEST_SUITE_END()
