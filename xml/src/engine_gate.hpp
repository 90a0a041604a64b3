#pragma once
// engine_gate: a timed mutex built from a mutex and a condition variable, for the XML store's
// "one command at a time in this process" lock, whose waiters wake every few milliseconds to check
// their deadline and cancellation. std::timed_mutex would do, but with glibc its timed wait is
// pthread_mutex_clocklock, which ThreadSanitizer in GCC 12 does not intercept: it then reports
// every unlock as the unlock of an unlocked mutex, hiding real races. Meets TimedLockable.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace durable::xml {

class engine_gate {
public:
    void lock() {
        std::unique_lock lock(mutex_);
        opened_.wait(lock, [this] { return !held_; });
        held_ = true;
    }

    bool try_lock() {
        std::scoped_lock lock(mutex_);
        if (held_) return false;
        held_ = true;
        return true;
    }

    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock lock(mutex_);
        if (!opened_.wait_for(lock, timeout, [this] { return !held_; })) return false;
        held_ = true;
        return true;
    }

    void unlock() {
        {
            std::scoped_lock lock(mutex_);
            held_ = false;
        }
        opened_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool held_ = false;
};

}  // namespace durable::xml
