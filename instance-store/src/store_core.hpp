#pragma once
// Internal state behind instance_store, instance_handle and instance_owner. Shared-owned so that
// background timers and pending operations can outlive a store safely: once the store is shut
// down, they see `store == nullptr` and finish without touching it.

#include <durable/instance_store.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <set>

namespace durable::detail {

struct owner_state {
    owner_state(uuid owner_id, std::optional<name> host, bool activation)
        : id(owner_id), host_type(std::move(host)), activation_service(activation) {}

    const uuid id;
    const std::optional<name> host_type;
    const bool activation_service;
    std::atomic<bool> valid{true};

    std::mutex mutex;
    /// Instance -> the handle of this owner that holds its lock (the original's BoundHandles).
    std::map<uuid, std::weak_ptr<handle_state>> lock_holders;
    /// Locks handles let go of whose background unlock has not finished yet; every command of
    /// this owner carries them (command_request::released_locks).
    std::vector<released_lock> released;
};

struct handle_state : std::enable_shared_from_this<handle_state> {
    explicit handle_state(std::weak_ptr<store_core> c) : core(std::move(c)) {}
    /// A handle dropped while it holds a lock lets go of it, as free() does: otherwise the lock
    /// would stay with the owner, and no later handle of it could take the instance.
    ~handle_state();

    const std::weak_ptr<store_core> core;
    mutable std::mutex mutex;
    std::shared_ptr<owner_state> owner;
    std::optional<uuid> instance_id;
    std::int64_t lock_version = -1;
    bool valid = true;
    bool busy = false;
    diagnostics last_diagnostics;
};

/// Marks `hs` invalid and, if it holds a lock, hands the lock back: it is recorded as released
/// (so a reload at once takes it anew) and unlocked in the background. Idempotent.
void release_handle(handle_state& hs);

struct store_core : std::enable_shared_from_this<store_core> {
    store_core(instance_store* s, asio::any_io_executor ex, store_options opts);

    using run_callback = std::function<void(error_code, command_outcome)>;

    /// Forwards to the store's provider; fails with operation_aborted once shut down.
    void async_run(command_request request, asio::any_completion_handler<void(error_code, command_outcome)> handler);

    /// Runs an internal command for `owner` through the store; the callback runs on the strand.
    /// Does nothing once the store is shut down.
    void run_internal(const std::shared_ptr<owner_state>& owner, commands::command cmd, run_callback callback);

    // Handle bookkeeping shared by the sync and async paths. prepare() moves `cmd` into
    // `request` when it succeeds.
    bool prepare(handle_state& hs, commands::command&& cmd, command_request& request, diagnostics& diag,
                 error_code& ec);
    instance_view complete(handle_state& hs, const command_request& request, error_code& ec, command_outcome& outcome);
    std::optional<std::chrono::milliseconds> locked_retry_delay(const commands::command& cmd, error_code ec, int attempt,
                                                                std::chrono::steady_clock::duration elapsed);
    void schedule_unlock(std::shared_ptr<owner_state> owner, uuid instance_id, std::int64_t version, int attempt = 0);

    // Owner lifecycle and background tasks; all on the strand.
    void owner_created(std::shared_ptr<owner_state> owner);
    void owner_gone(const std::shared_ptr<owner_state>& owner, errc why);
    void runnable_search_came_up_empty(const std::shared_ptr<owner_state>& owner);
    void schedule_renewal();
    void start_detection();
    void detect_once();
    void arm_detection(std::chrono::steady_clock::duration delay);
    void signal(persistence_event e);
    void reset(persistence_event e);
    /// One async_wait_for_events. Shared with its cancellation slot, which may fire before the
    /// waiter is registered on the strand; `cancelled` then makes the registration complete it.
    struct waiter {
        explicit waiter(asio::any_completion_handler<events_signature> h) : handler(std::move(h)) {}
        asio::any_completion_handler<events_signature> handler;  // empty once completed
        bool cancelled = false;                                   // strand-only
    };
    void add_waiter(std::shared_ptr<waiter> w, std::shared_ptr<owner_state> owner);
    void cancel_waiter(const std::shared_ptr<waiter>& w);
    void complete_waiter(waiter& w, error_code ec, std::vector<persistence_event> events);
    void complete_all_waiters(error_code ec, const std::vector<persistence_event>& events);
    void shut_down();

    instance_store* store;  // null once shut down; touched only on the strand or under mutex
    asio::any_io_executor executor;
    asio::strand<asio::any_io_executor> strand;
    const store_options options;

    std::mutex mutex;  // guards owner and default_owner
    std::shared_ptr<owner_state> owner;
    instance_owner default_owner;

    // Strand-only state.
    bool shut = false;
    asio::steady_timer renew_timer;
    asio::steady_timer detect_timer;
    bool detecting = false;
    std::set<persistence_event> signalled;
    std::list<std::shared_ptr<waiter>> waiters;
};

}  // namespace durable::detail
