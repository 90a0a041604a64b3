#pragma once
// Internal state behind instance_store, instance_handle and instance_owner. Shared-owned with the
// backend it owns, so that background timers and pending operations can outlive the facade
// safely: once it is shut down, they finish without starting anything new.

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
#include <string_view>

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
    store_core(asio::any_io_executor ex, store_options opts, std::shared_ptr<store_backend> b);

    using run_callback = std::function<void(error_code, command_outcome)>;

    /// Forwards to the backend; fails with operation_aborted once shut down.
    void async_run(command_request request, asio::any_completion_handler<void(error_code, command_outcome)> handler);

    /// Runs an internal command for `owner` through the store; the callback runs on the strand.
    /// Does nothing once the store is shut down.
    void run_internal(const std::shared_ptr<owner_state>& owner, commands::command cmd, run_callback callback);

    // Handle bookkeeping shared by the sync and async paths. prepare() moves `cmd` into
    // `request` when it succeeds.
    bool prepare(handle_state& hs, commands::command&& cmd, command_request& request, diagnostics& diag,
                 error_code& ec);
    instance_view complete(handle_state& hs, const command_request& request, error_code& ec, command_outcome& outcome);
    /// When the backend broke the command-result contract: debug builds abort naming the rule;
    /// release builds fail the command with store_unavailable, naming it.
    void check_outcome(const command_request& request, error_code& ec, command_outcome& outcome) const;
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
    void stop_detection();
    void arm_detection(std::chrono::steady_clock::duration delay);
    /// The backend's push (store_events::runnable_may_be_due): detect now instead of waiting.
    void wake_detection();
    void signal(persistence_event e);
    void reset(persistence_event e);
    /// One async_wait_for_events. Shared with its cancellation slot, which may fire before the
    /// waiter is registered on the strand; `cancelled` then makes the registration complete it.
    struct waiter {
        waiter(asio::any_completion_handler<events_signature> h, diagnostics* d) : handler(std::move(h)), diag(d) {}
        asio::any_completion_handler<events_signature> handler;  // empty once completed
        diagnostics* diag;                                        // explains a failure, if set
        std::shared_ptr<owner_state> owner;                       // what it waits for; strand-only
        bool cancelled = false;                                   // strand-only
    };
    void add_waiter(std::shared_ptr<waiter> w, std::shared_ptr<owner_state> owner);
    void cancel_waiter(const std::shared_ptr<waiter>& w);
    void complete_waiter(waiter& w, error_code ec, std::vector<persistence_event> events,
                         std::string_view why = {});
    void complete_all_waiters(error_code ec, const std::vector<persistence_event>& events,
                              std::string_view why = {});
    /// The facade is going: the backend stops, background tasks end, waiters fail. Once.
    void shut_down();

    /// The public face of an owner.
    static instance_owner owner_of(std::shared_ptr<owner_state> state) { return instance_owner(std::move(state)); }

    /// True while `candidate` is this store's current owner.
    bool is_store_owner(const std::shared_ptr<owner_state>& candidate);

    const asio::any_io_executor executor;
    const asio::strand<asio::any_io_executor> strand;
    const store_options options;
    const std::shared_ptr<store_backend> backend;  // owned; outlives every operation that uses it
    std::atomic<bool> shut{false};

    std::mutex mutex;  // guards owner and owner_being_created
    std::shared_ptr<owner_state> owner;
    bool owner_being_created = false;  // a create_workflow_owner is between prepare() and complete()

    // Strand-only state.
    asio::steady_timer renew_timer;
    asio::steady_timer detect_timer;
    /// Runnable detection: off (no owner, or has_runnable_workflow is signalled and waits for a
    /// try-load to come up empty), running (a detect command is out), waiting (timer armed).
    enum class detection { off, running, waiting } detection_state = detection::off;
    bool wake_while_running = false;   // a push arrived while a detect command was out
    std::uint64_t detection_round = 0;  // a timer whose round is past was superseded by a push
    std::set<persistence_event> signalled;
    std::list<std::shared_ptr<waiter>> waiters;
};

}  // namespace durable::detail
