#pragma once
// Running store operations to completion in tests, with the error, diagnostics and value
// captured (the model is boostorg/mysql's network_result).

#include <durable/instance_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <optional>
#include <utility>
#include <string>

namespace durable::test {

struct exec_result {
    error_code ec;
    diagnostics diag;
    instance_view view;

    /// Fails the test with the diagnostics when the command did not succeed.
    const exec_result& require_ok() const {
        BOOST_TEST_REQUIRE(!ec, "expected success, got " << ec.message() << " (" << ec.value() << "): " << diag.to_string());
        return *this;
    }
    const exec_result& require_error(errc expected) const {
        BOOST_TEST_REQUIRE(ec == make_error_code(expected),
                           "expected " << make_error_code(expected).message() << ", got "
                                       << (ec ? ec.message() : std::string("success")) << ": " << diag.to_string());
        return *this;
    }
};

/// Runs the io_context one handler at a time until `done` holds (background timers may keep
/// the context busy forever, so run() would not return).
/// The completion of a co_spawned test coroutine: what escapes it is rethrown out of the
/// io_context's run, so the test fails with it (asio::detached would swallow it).
inline void rethrow_failure(std::exception_ptr failure) {
    if (failure) std::rethrow_exception(failure);
}

template <class Predicate>
void run_until(asio::io_context& ioc, Predicate done) {
    ioc.restart();
    while (!done()) {
        if (ioc.run_one() == 0) {
            BOOST_TEST_REQUIRE(done(), "io_context ran out of work before the operation completed");
            return;
        }
    }
}

/// Starts async_execute with a callback that fills `result` and counts `done` up.
template <class Command>
void start(instance_store& store, const instance_handle& handle, Command cmd, exec_result& result, int& done) {
    store.async_execute(handle, std::move(cmd), result.diag, [&result, &done](error_code ec, instance_view view) {
        result.ec = ec;
        result.view = std::move(view);
        ++done;
    });
}

/// async_execute with a plain callback, run to completion.
template <class Command>
exec_result exec(asio::io_context& ioc, instance_store& store, const instance_handle& handle, Command cmd) {
    exec_result result;
    int done = 0;
    start(store, handle, std::move(cmd), result, done);
    run_until(ioc, [&] { return done == 1; });
    return result;
}

/// Two commands in flight at once (on one store or two), both run to completion.
template <class CommandA, class CommandB>
std::pair<exec_result, exec_result> exec_both(asio::io_context& ioc, instance_store& store_a, const instance_handle& handle_a,
                                              CommandA cmd_a, instance_store& store_b, const instance_handle& handle_b,
                                              CommandB cmd_b) {
    std::pair<exec_result, exec_result> results;
    int done = 0;
    start(store_a, handle_a, std::move(cmd_a), results.first, done);
    start(store_b, handle_b, std::move(cmd_b), results.second, done);
    run_until(ioc, [&] { return done == 2; });
    return results;
}

}  // namespace durable::test
