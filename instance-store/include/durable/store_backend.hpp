#pragma once
// store_backend: the seam a store plugs into. The instance_store facade owns its backend and
// does all the bookkeeping every store shares (handles, owners, lock holders, locked-instance
// retry, lease renewal, lock recovery, runnable detection, waiters); a backend only runs
// commands. It is written for custom-store authors and is part of the public API.
//
// Teardown order is right by construction: the facade shares ownership of the backend with
// every pending operation, calls shut_down() once when the facade goes, and the backend is
// destroyed after the last operation that could call it.

#include <durable/commands/command.hpp>
#include <durable/diagnostics.hpp>
#include <durable/error.hpp>
#include <durable/instance_view.hpp>
#include <durable/store_options.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace durable {

namespace asio = boost::asio;

class instance_store;
namespace detail {
struct store_core;
}

/// A lock the owner let go of (a handle freed or dropped) whose unlock may not have reached the
/// store yet: that unlock runs in the background and names the version it releases.
struct released_lock {
    uuid instance_id;
    std::int64_t version = -1;
    friend bool operator==(const released_lock&, const released_lock&) = default;
};

/// What a backend is asked to run: the command plus what the handle is bound to.
struct command_request {
    commands::command command;
    std::optional<uuid> owner_id;
    std::optional<uuid> instance_id;
    std::int64_t lock_version = -1;  ///< -1: the handle holds no lock
    /// The owner's locks whose unlock may still be on its way. A store treats such a lock as
    /// released: a load by the same owner takes it anew and moves the version on, so the late
    /// unlock, which names the old version, cannot release the new holder. Any other live lock
    /// of the requesting owner that an unbound handle meets is held by another of its handles:
    /// handle_conflict, decided before anything is written.
    std::vector<released_lock> released_locks;
    /// save_workflow with instance data: the values the store's promotions take from that data,
    /// computed and checked by the facade (promote_values). The save replaces the instance's
    /// promoted values with these, in the same transaction; empty: it keeps none. A save
    /// without data leaves them as they are.
    promoted_values promoted;
};

/// What a backend reports: on success `view`, on failure `diag` (the error code is returned
/// beside it). The facade fills in `diag.command` and the view's bindings for the caller.
///
/// The contract, per command, for a successful outcome (check_command_outcome checks it, and
/// debug builds check every outcome):
///
///   create_workflow_owner        view.owner_id: the new owner's id (not nil).
///   delete_workflow_owner        nothing.
///   load_workflow,               view.instance_id: the instance loaded, equal to the request's
///   load_workflow_by_instance_key  when it had one; view.lock_version >= 0: the lock now held
///                                (the same as the request's when it already held one).
///                                view.state is uninitialized or initialized.
///   save_workflow                view.instance_id as for a load. view.lock_version >= 0 while
///                                the lock is kept; -1 when the save unlocked or completed the
///                                instance (and only then), which ends the handle's work.
///   try_load_runnable_workflow   either nothing bound (no runnable instance: the search came up
///                                empty, which re-arms runnable detection), or as for a load.
///   query_activatable_workflows  view.activatable_workflows.
///   query_promoted_properties    view.promoted_properties: what the instance's last save with
///                                data stored (empty for an instance that does not exist).
///   detect_runnable_instances    view.store_time: the store clock's now; view.next_runnable_time:
///                                the owner's earliest runnable time, absent when none.
///   extend_lock, recover_instance_locks, unlock_instance: nothing.
///
/// On failure the view is ignored. Errors are of store_category; an error that means the owner
/// is gone (durable::condition::owner_invalid) ends the owner, one that means the lock is gone
/// (condition::lock_lost) frees the handle. A backend never reports an error for a command it
/// committed: the caller would retry a change that was made. The one exception is
/// commit_in_doubt, which says the command may or may not have committed (a connection lost
/// after the request was sent, a crash between the steps of a durable write); diag.instance_id
/// names the instance. A load that ends in doubt may have taken the lock: the owner finds it
/// held when it reloads (handle_conflict) until lock recovery or the owner's end releases it.
struct command_outcome {
    instance_view view;
    diagnostics diag;
};

/// Empty when `outcome` keeps the contract above for `request` completed with `ec`; otherwise
/// the first rule it breaks, in words.
std::string check_command_outcome(const command_request& request, error_code ec, const command_outcome& outcome);

/// How a backend tells the facade that something happened in the store. Cheap to copy; safe to
/// call from any thread at any time, also after the store is gone (then it does nothing).
class store_events {
public:
    store_events() = default;

    /// A commit (this process's or, through LISTEN/NOTIFY or the like, another's) may have made
    /// an instance runnable: runnable detection runs now rather than at its next period. Polling
    /// stays the safety net, so a missed call delays detection, never loses it.
    void runnable_may_be_due() const;

    /// True once the store these events belong to is gone: a backend may drop them.
    bool is_store_gone() const noexcept { return core_.expired(); }

private:
    friend struct detail::store_core;
    friend class instance_store;
    explicit store_events(std::weak_ptr<detail::store_core> core) : core_(std::move(core)) {}
    std::weak_ptr<detail::store_core> core_;
};

/// What the facade gives its backend when the store is made.
struct backend_context {
    asio::any_io_executor executor;  ///< the store's executor
    const store_options* options = nullptr;  ///< the store's options, validated and completed
    store_events events;
};

/// The interface a store implements.
///
/// Thread-safety: run_command and async_run_command may be called from several threads at
/// once, for different handles and owners; a backend serialises what it must.
class store_backend {
public:
    virtual ~store_backend();

    /// Called by the facade once, before any command; hands over the context.
    void attach(backend_context context);

    /// Runs one command to completion on the calling thread (the blocking execute). Must not
    /// need the io_context to run.
    virtual error_code run_command(const command_request& request, command_outcome& outcome) = 0;

    /// Runs one command asynchronously. Completes the handler exactly once, never inline, and
    /// through its associated executor (asio::post(context().executor, asio::append(std::move(
    /// handler), ec, std::move(outcome))) does): the facade's bookkeeping runs on a strand that
    /// it binds to the handler. The handler may have a cancellation slot
    /// (asio::get_associated_cancellation_slot): a backend that waits (for a lock, a socket) ends
    /// the wait on cancellation and completes with operation_aborted. The slot may be used only
    /// until the handler is completed; the facade clears it then. The default runs run_command
    /// from a handler posted to the store's executor: right for stores whose commands do no
    /// blocking I/O.
    virtual void async_run_command(command_request request,
                                   asio::any_completion_handler<void(error_code, command_outcome)> handler);

    /// Called by the facade once, when it goes. Commands still running may finish; commands
    /// started afterwards complete with operation_aborted.
    void shut_down() noexcept;
    bool is_shut_down() const noexcept { return shut_.load(std::memory_order_acquire); }

protected:
    /// Called from attach(), after context() is set: start what needs the executor or options.
    virtual void attached() {}
    /// Called from shut_down(), after is_shut_down() became true: end waits, stop threads.
    /// Must not wait for the io_context, which may have stopped.
    virtual void on_shut_down() noexcept {}

    /// Valid from attach() on.
    const backend_context& context() const noexcept { return context_; }
    const store_options& options() const noexcept { return *context_.options; }

private:
    backend_context context_;
    std::atomic<bool> shut_{false};
};

}  // namespace durable
