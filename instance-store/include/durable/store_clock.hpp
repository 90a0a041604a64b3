#pragma once
// The clock the embedded stores (memory, XML) judge leases and timers by. The PostgreSQL store
// uses the database clock instead. Tests inject a manual_clock to move time deterministically.

#include <durable/value.hpp>

#include <atomic>
#include <memory>

namespace durable {

class store_clock {
public:
    virtual ~store_clock() = default;
    virtual timestamp now() const = 0;
};

/// std::chrono::system_clock, truncated to microseconds.
class system_store_clock final : public store_clock {
public:
    timestamp now() const override;
};

/// A clock that moves only when told. Thread-safe.
class manual_clock final : public store_clock {
public:
    explicit manual_clock(timestamp start) : now_(start.time_since_epoch().count()) {}
    timestamp now() const override { return timestamp{duration{now_.load()}}; }
    void advance(duration d) { now_ += d.count(); }

private:
    std::atomic<duration::rep> now_;
};

std::shared_ptr<const store_clock> default_store_clock();

}  // namespace durable
