#pragma once
// async_gate: one coroutine at a time, others wait without blocking a thread. Used on one strand
// only (no internal locking). Also a wake-everyone signal for "something finished".

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <memory>

namespace durable::host::detail {

namespace asio = boost::asio;

/// Waiters park on timers that never expire; notify cancels them.
class async_signal {
public:
    asio::awaitable<void> wait() {
        auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                          asio::steady_timer::time_point::max());
        waiters_.push_back(timer);
        boost::system::error_code ignored;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    void notify_one() {
        if (waiters_.empty()) return;
        waiters_.front()->cancel();
        waiters_.pop_front();
    }
    void notify_all() {
        for (auto& w : waiters_) w->cancel();
        waiters_.clear();
    }

private:
    std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

class async_gate {
public:
    asio::awaitable<void> acquire() {
        while (busy_) co_await released_.wait();
        busy_ = true;
    }
    void release() {
        busy_ = false;
        released_.notify_one();
    }
    bool busy() const noexcept { return busy_; }

private:
    bool busy_ = false;
    async_signal released_;
};

/// Releases a gate acquired before it was made.
class gate_hold {
public:
    explicit gate_hold(async_gate& gate) noexcept : gate_(&gate) {}
    gate_hold(gate_hold&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    gate_hold& operator=(gate_hold&&) = delete;
    ~gate_hold() {
        if (gate_ != nullptr) gate_->release();
    }

private:
    async_gate* gate_;
};

}  // namespace durable::host::detail
