#include "sample_host.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <exception>
#include <memory>

namespace asio = boost::asio;

namespace durable::samples {

asio::awaitable<int> run_then_stop(host::workflow_host& host, asio::awaitable<int> action) {
    std::exception_ptr failure;
    int code = 1;
    try {
        code = co_await std::move(action);
    } catch (...) {
        failure = std::current_exception();
    }
    co_await host.async_stop();
    if (failure) std::rethrow_exception(failure);
    co_return code;
}

asio::awaitable<stop_reason> run_until(host::workflow_host& host, asio::steady_timer& wake) {
    const auto executor = co_await asio::this_coro::executor;
    // The loop's end, shared with its completion handler, which may run after this frame is
    // gone if the frame is destroyed early (the io_context stopped).
    struct loop_state {
        explicit loop_state(const asio::any_io_executor& ex) : ended(ex) {}
        bool done = false;
        std::exception_ptr failure;
        asio::steady_timer ended;
    };
    auto loop = std::make_shared<loop_state>(executor);
    loop->ended.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(
        executor, [&host]() -> asio::awaitable<void> { co_await host.async_run(); },
        [loop, wake_timer = &wake](std::exception_ptr failure) {
            loop->done = true;
            loop->failure = failure;
            loop->ended.cancel();
            // A loop that failed early must not leave the caller waiting for its time.
            if (failure) wake_timer->cancel();
        });

    asio::signal_set signals(executor, SIGINT, SIGTERM);
    bool signalled = false;
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        signalled = true;
        wake.cancel();
    });

    const auto [waited] = co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    signals.cancel();
    if (!loop->done) co_await host.async_stop();
    while (!loop->done) co_await loop->ended.async_wait(asio::as_tuple(asio::use_awaitable));
    if (loop->failure) std::rethrow_exception(loop->failure);
    if (signalled) co_return stop_reason::signalled;
    co_return waited ? stop_reason::woken : stop_reason::time_up;
}

std::string describe_status(const host::instance_status& status) {
    std::string text = host::to_string(status.status);
    if (status.suspended) {
        text += ", suspended";
        if (!status.suspension_reason.empty()) text += " (" + status.suspension_reason + ")";
    }
    return text;
}

}  // namespace durable::samples
