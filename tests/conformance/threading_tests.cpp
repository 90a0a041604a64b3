// The store on a multi-threaded io_context, driven from several threads at once, with its
// background tasks running, and destroyed while the io_context still runs. Run under
// ThreadSanitizer (the tsan preset; scripts/test.sh does) this is the proof that the facade, its
// core and the backends share no state unguarded.

#include "fixture.hpp"

#include <durable/store_error.hpp>
#include <durable/with_diagnostics.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(threading, store_fixture)

BOOST_AUTO_TEST_CASE(commands_from_many_threads_on_a_multi_threaded_io_context) {
    constexpr int io_threads = 3;
    constexpr int workers = 4;
    constexpr int rounds = 25;

    asio::io_context pool_ioc;
    auto work = asio::make_work_guard(pool_ioc);
    std::vector<std::thread> runners;
    for (int i = 0; i < io_threads; ++i) runners.emplace_back([&] { pool_ioc.run(); });

    store_options o = options();
    o.run_background_tasks = true;  // renewal and detection run beside the commands
    o.clock = nullptr;              // real time: background timers fire on their own
    o.host_lock_renewal_period = std::chrono::seconds{1};
    o.runnable_instances_detection_period = std::chrono::seconds{1};
    auto store = backing->open(pool_ioc.get_executor(), o);
    cmd::create_workflow_owner create;
    create.workflow_host_type = order_host;
    const auto owner = store->async_create_owner(std::move(create), with_diagnostics(asio::use_future)).get();

    // A waiter for events that the commands below make due, beside them.
    auto events = store->async_wait_for_events(store->create_instance_handle(owner), with_diagnostics(asio::use_future));

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            try {
                for (int r = 0; r < rounds; ++r) {
                    const uuid id = random_uuid();
                    auto handle = store->create_instance_handle(id);
                    cmd::save_workflow save;
                    save.instance_data = counter_bag(w * 1000 + r);
                    store->async_execute(handle, std::move(save), with_diagnostics(asio::use_future)).get();
                    cmd::save_workflow unlock;
                    unlock.instance_data = counter_bag(w * 1000 + r + 1);
                    unlock.unlock_instance = true;
                    store->async_execute(handle, std::move(unlock), with_diagnostics(asio::use_future)).get();
                    auto loaded = store->create_instance_handle(id);
                    const auto view =
                        store->async_execute(loaded, cmd::load_workflow{}, with_diagnostics(asio::use_future)).get();
                    if (counter_of(view) != w * 1000 + r + 1) ++failures;
                    if (r % 2 == 0) loaded.free();  // the unlock runs in the background, on the strand
                }
            } catch (const std::exception& e) {
                BOOST_TEST_MESSAGE("worker failed: " << e.what());
                ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    BOOST_TEST(failures == 0);

    // An instance left ready to run and unlocked is detected by the background task.
    cmd::save_workflow ready;
    ready.instance_data = counter_bag(1);
    ready.ready_to_run = true;
    ready.unlock_instance = true;
    store->async_execute(store->create_instance_handle(random_uuid()), std::move(ready), with_diagnostics(asio::use_future))
        .get();
    BOOST_TEST_REQUIRE((events.wait_for(std::chrono::seconds{60}) == std::future_status::ready),
                       "runnable detection signalled the waiter");
    BOOST_TEST((events.get() == std::vector{persistence_event::has_runnable_workflow}));

    // Destroyed while the io_context runs on other threads: background tasks end on their strand.
    store.reset();
    work.reset();
    for (auto& t : runners) t.join();
}

BOOST_AUTO_TEST_SUITE_END()
