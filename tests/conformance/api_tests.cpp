// The public API's promises that are easy to get wrong: the default token carries diagnostics
// into the exception, owners come from async_create_owner, handles bind to the store's owner,
// and a store may go while operations are pending.

#include "fixture.hpp"

#include <durable/store_error.hpp>
#include <durable/with_diagnostics.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <exception>
#include <future>
#include <thread>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

namespace {

cmd::create_workflow_owner host_owner() {
    cmd::create_workflow_owner create;
    create.workflow_host_type = order_host;
    create.owner_metadata = property_bag{{"host", instance_value(std::string("api-test"))}};
    return create;
}

/// Runs `body` as a coroutine on the fixture's io_context and rethrows what escaped it.
template <class Body>
void run_coroutine(store_fixture& fx, Body body) {
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(fx.ioc, body(), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    test::run_until(fx.ioc, [&] { return done; });
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(api, store_fixture)

BOOST_AUTO_TEST_CASE(the_default_token_runs_every_step_of_a_lifecycle_in_a_coroutine) {
    auto& store = new_store();
    run_coroutine(*this, [&]() -> asio::awaitable<void> {
        const instance_owner owner = co_await store.async_create_owner(host_owner());
        BOOST_TEST(owner.is_valid());
        BOOST_TEST((store.owner().id() == owner.id()));
        const uuid id = random_uuid();
        cmd::save_workflow save;
        save.instance_data = counter_bag(5);
        save.unlock_instance = true;
        co_await store.async_execute(store.create_instance_handle(id), std::move(save));
        auto handle = store.create_instance_handle(id);
        const instance_view view = co_await store.async_execute(handle, cmd::load_workflow{});
        BOOST_TEST(counter_of(view) == 5);
        BOOST_TEST((view.owner_id == owner.id()), "the handle was bound to the store's owner");
        co_await store.async_execute(store.create_instance_handle(), cmd::delete_workflow_owner{});
        BOOST_TEST(!owner.is_valid());
    });
}

BOOST_AUTO_TEST_CASE(co_await_throws_a_store_error_naming_the_lock_holder) {
    auto& holder = new_store();
    const auto holder_owner = make_owner(holder);
    // Named apart: clang 14 cannot capture structured bindings in lambdas.
    const auto saved = save_new(holder, counter_bag(1));  // saved.second keeps the lock
    const uuid id = saved.first;
    auto& other = new_store();
    make_owner(other);
    bool caught = false;
    run_coroutine(*this, [&]() -> asio::awaitable<void> {
        try {
            co_await other.async_execute(other.create_instance_handle(id), cmd::load_workflow{});
        } catch (const store_error& e) {
            caught = true;
            BOOST_TEST((e.code() == errc::instance_locked), e.code().message());
            BOOST_TEST((e.diag().lock_holder == holder_owner.id()));
            BOOST_TEST((e.diag().instance_id == id));
            BOOST_TEST(e.diag().command == "load_workflow");
            BOOST_TEST(std::string(e.what()).find(to_string(holder_owner.id())) != std::string::npos, e.what());
        }
    });
    BOOST_TEST(caught, "the coroutine saw a store_error");
}

BOOST_AUTO_TEST_CASE(with_diagnostics_use_future_throws_a_store_error_and_fills_the_callers_diagnostics_too) {
    auto& store = new_store();
    make_owner(store);
    diagnostics mine;
    auto future = store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{}, mine,
                                      with_diagnostics(asio::use_future));
    std::thread runner([&] {
        ioc.restart();
        ioc.run();
    });
    bool caught = false;
    try {
        future.get();
    } catch (const store_error& e) {
        caught = true;
        BOOST_TEST((e.code() == errc::instance_not_found));
        BOOST_TEST(e.diag().command == "load_workflow");
        BOOST_TEST(!e.diag().message.empty());
    }
    runner.join();
    BOOST_TEST(caught);
    BOOST_TEST(mine.command == "load_workflow", "the caller's own diagnostics are filled as well");
    BOOST_TEST(!mine.message.empty());
}

BOOST_AUTO_TEST_CASE(use_awaitable_wrapped_in_with_diagnostics_throws_a_store_error) {
    auto& store = new_store();
    make_owner(store);
    bool caught = false;
    run_coroutine(*this, [&]() -> asio::awaitable<void> {
        try {
            co_await store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{},
                                         with_diagnostics(asio::use_awaitable));
        } catch (const store_error& e) {
            caught = e.code() == errc::instance_not_found && e.diag().command == "load_workflow";
        }
    });
    BOOST_TEST(caught);
}

BOOST_AUTO_TEST_CASE(a_token_kept_by_the_caller_works_every_time_it_is_used) {
    // An lvalue token is used, not moved from: the callback's state is there on the second use.
    auto& store = new_store();
    make_owner(store);
    auto failures = std::make_shared<int>(0);
    auto token = with_diagnostics([failures](std::exception_ptr e, instance_view) {
        if (e) ++*failures;
    });
    for (int i = 0; i < 3; ++i) store.async_execute(store.create_instance_handle(random_uuid()), cmd::load_workflow{}, token);
    ioc.restart();
    ioc.run();
    BOOST_TEST(*failures == 3, "each use reported its instance_not_found through the same callback");
}

BOOST_AUTO_TEST_CASE(diagnostics_reach_the_exception_when_the_inner_token_is_a_binder) {
    auto& holder = new_store();
    const auto holder_owner = make_owner(holder);
    const auto saved = save_new(holder, counter_bag(1));  // saved.second keeps the lock
    auto& other = new_store();
    make_owner(other);
    asio::cancellation_signal never;
    bool caught = false;
    run_coroutine(*this, [&]() -> asio::awaitable<void> {
        try {
            co_await other.async_execute(other.create_instance_handle(saved.first), cmd::load_workflow{},
                                         with_diagnostics(asio::bind_cancellation_slot(never.slot(), asio::use_awaitable)));
        } catch (const store_error& e) {
            caught = e.diag().lock_holder == holder_owner.id();
        }
    });
    BOOST_TEST(caught, "the store_error names the holder though the inner token is a binder");
}

BOOST_AUTO_TEST_CASE(two_owners_created_at_once_on_one_store_one_is_refused) {
    auto& store = new_store();
    std::vector<error_code> results;
    for (int i = 0; i < 2; ++i)
        store.async_create_owner(host_owner(), [&](error_code ec, instance_owner) { results.push_back(ec); });
    test::run_until(ioc, [&] { return results.size() == 2; });
    BOOST_TEST(std::count(results.begin(), results.end(), error_code{}) == 1);
    BOOST_TEST(std::count(results.begin(), results.end(), make_error_code(errc::invalid_command)) == 1);
    BOOST_TEST(store.owner().is_valid());
}

BOOST_AUTO_TEST_CASE(a_failed_wait_for_events_explains_itself) {
    auto& store = new_store();
    auto owner = make_owner(store);
    run(store, store.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
    bool caught = false;
    run_coroutine(*this, [&]() -> asio::awaitable<void> {
        try {
            co_await store.async_wait_for_events(store.create_instance_handle(owner));
        } catch (const store_error& e) {
            caught = true;
            BOOST_TEST((e.code() == condition::owner_invalid), e.code().message());
            BOOST_TEST(e.diag().command == "wait_for_events");
            BOOST_TEST(e.diag().message.find(to_string(owner.id())) != std::string::npos, e.diag().message);
        }
    });
    BOOST_TEST(caught);
}

BOOST_AUTO_TEST_CASE(a_second_live_owner_on_one_store_is_refused_and_the_first_stays) {
    auto& store = new_store();
    const auto first = store.create_owner(host_owner());
    error_code ec;
    try {
        store.create_owner(host_owner());
    } catch (const store_error& e) {
        ec = e.code();
        BOOST_TEST(e.diag().message.find(to_string(first.id())) != std::string::npos, e.diag().message);
    }
    BOOST_TEST((ec == errc::invalid_command), ec.message());
    BOOST_TEST((store.owner().id() == first.id()));
    BOOST_TEST(first.is_valid());
}

BOOST_AUTO_TEST_CASE(handles_bind_to_the_owner_of_the_moment_and_an_explicit_owner_wins) {
    auto& store = new_store();
    BOOST_TEST(!store.owner(), "no owner before one is created");
    BOOST_TEST(!store.create_instance_handle().owner(), "a handle made before any owner has none");
    const auto first = store.create_owner(host_owner());
    auto bound_to_first = store.create_instance_handle();
    BOOST_TEST((bound_to_first.owner().id() == first.id()));
    run(store, store.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
    const auto second = store.create_owner(host_owner());
    BOOST_TEST((store.create_instance_handle().owner().id() == second.id()));
    // A handle keeps the owner it was bound to: that owner is gone, and its command says so.
    run(store, bound_to_first, cmd::load_workflow{}).require_error(errc::owner_lease_expired);
    BOOST_TEST((store.create_instance_handle(first, random_uuid()).owner().id() == first.id()));
}

BOOST_AUTO_TEST_CASE(a_store_destroyed_with_operations_pending_completes_them) {
    auto& store = new_store();
    make_owner(store);
    int completed = 0;
    error_code last;
    for (int i = 0; i < 8; ++i) {
        cmd::save_workflow save;
        save.instance_data = counter_bag(i);
        store.async_execute(store.create_instance_handle(random_uuid()), std::move(save),
                            [&](error_code ec, instance_view) {
                                ++completed;
                                if (ec) last = ec;
                            });
    }
    stores.clear();  // before any of them ran
    ioc.restart();
    ioc.run();
    BOOST_TEST(completed == 8, "every pending operation completed");
    BOOST_TEST((!last || last == asio::error::operation_aborted), last.message());
}

BOOST_AUTO_TEST_SUITE_END()
