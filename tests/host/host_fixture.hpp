#pragma once
// Hosts over memory stores that share one database: each store object plays one host process,
// so "a new process" is a new store and host over the same database. A manual clock moves
// durable timers and leases on demand.

#include <durable/host/workflow_host.hpp>
#include <durable/memory_instance_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

namespace durable::host::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline const name test_host_type{"urn:durable:test", "HostTests"};

/// One simulated host process: a store object and a host over the shared database.
struct process {
    std::unique_ptr<memory_instance_store> store;
    std::unique_ptr<workflow_host> host;
    std::vector<std::string> messages;  // what the host told on_message
};

struct host_fixture {
    asio::io_context ioc;
    std::shared_ptr<memory_database> database = make_memory_database();
    std::shared_ptr<manual_clock> clock =
        std::make_shared<manual_clock>(timestamp{std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}});

    store_options store_settings(instance_completion_action completion = instance_completion_action::delete_nothing) {
        store_options o;
        o.clock = clock;
        o.completion_action = completion;
        o.host_lock_renewal_period = 1s;
        o.runnable_instances_detection_period = 1s;
        return o;
    }

    std::unique_ptr<process> start_process(std::vector<workflow_definition> definitions, host_options options = {},
                                           store_options settings = {}) {
        auto p = std::make_unique<process>();
        if (!settings.clock) settings = store_settings();
        p->store = std::make_unique<memory_instance_store>(ioc.get_executor(), database, std::move(settings));
        if (options.host_type.local.empty()) options.host_type = test_host_type;
        auto* messages = &p->messages;
        options.on_message = [messages](const std::string& line) { messages->push_back(line); };
        p->host = std::make_unique<workflow_host>(ioc.get_executor(), *p->store, std::move(options), std::move(definitions));
        return p;
    }

    /// Runs `body` on the io_context until it finishes; rethrows what it throws.
    void run(std::function<asio::awaitable<void>()> body) {
        std::exception_ptr failure;
        bool done = false;
        asio::co_spawn(ioc, body(), [&](std::exception_ptr ep) {
            failure = ep;
            done = true;
        });
        while (!done) {
            ioc.restart();
            ioc.run_one_for(std::chrono::milliseconds{100});
        }
        // Let the work the body left behind (stops, unlocks) finish.
        ioc.restart();
        ioc.poll();
        if (failure) std::rethrow_exception(failure);
    }

    asio::awaitable<void> sleep(std::chrono::milliseconds how_long) {
        asio::steady_timer t(ioc, how_long);
        co_await t.async_wait(asio::use_awaitable);
    }

    /// Polls `host`'s status of `id` until `predicate` holds or `limit` passes (real time).
    template <class Predicate>
    asio::awaitable<instance_status> wait_until(workflow_host& host, uuid id, Predicate predicate,
                                                std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            error_code ec;
            instance_status s;
            std::tie(ec, s) = co_await host.async_status(id, asio::as_tuple(asio::use_awaitable));
            if (!ec && predicate(s)) co_return s;
            if (ec == errc::instance_completed) {
                s.status = run_status::completed;
                if (predicate(s)) co_return s;
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("status of " + to_string(id) + " did not reach the expected state (last: " +
                                         (ec ? ec.message() : std::string(to_string(s.status))) + ")");
            co_await sleep(50ms);
        }
    }
};

/// Expects `op` to throw a store_error with `expected`; returns it.
template <class Awaitable>
asio::awaitable<store_error> expect_error(Awaitable op, error_code expected) {
    try {
        co_await std::move(op);
    } catch (const store_error& e) {
        BOOST_TEST(e.code() == expected, "got " << e.code().message() << " (" << e.diag().to_string() << "), expected "
                                                 << expected.message());
        co_return e;
    }
    BOOST_FAIL("expected " << expected.message() << ", but the operation succeeded");
    throw std::logic_error("unreachable");
}

}  // namespace durable::host::test
