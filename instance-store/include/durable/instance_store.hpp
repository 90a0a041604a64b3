#pragma once
// instance_store: the abstract store every host talks to (the original's InstanceStore).

#include <durable/commands/command.hpp>
#include <durable/diagnostics.hpp>
#include <durable/error.hpp>
#include <durable/events.hpp>
#include <durable/instance_handle.hpp>
#include <durable/instance_view.hpp>
#include <durable/store_options.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace durable {

namespace asio = boost::asio;

using execute_signature = void(error_code, instance_view);
using events_signature = void(error_code, std::vector<persistence_event>);

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

/// What a provider is asked to run: the command plus what the handle is bound to.
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
};

/// What a provider reports. On success `view` carries the instance the command bound (its id
/// and lock version) and what was read; on failure `diag` says why.
struct command_outcome {
    instance_view view;
    diagnostics diag;
};

/// The abstract instance store.
///
/// Thread-safety: the member functions may be called from any thread. Completion handlers run
/// on their associated executor, by default the store's. Nothing completes inline.
///
/// Object lifetimes: the store must outlive its handles and pending operations, and be
/// destroyed either from a handler running on its executor or after that io_context has
/// stopped.
class instance_store {
public:
    using executor_type = asio::any_io_executor;

    virtual ~instance_store();
    instance_store(const instance_store&) = delete;
    instance_store& operator=(const instance_store&) = delete;

    executor_type get_executor() const noexcept;
    const store_options& options() const noexcept;

    /// Handles: unbound, bound to an owner, to an instance id, or both. A nil instance id is
    /// rejected (std::invalid_argument), as in the original.
    instance_handle create_instance_handle();
    instance_handle create_instance_handle(const instance_owner& owner);
    instance_handle create_instance_handle(const uuid& instance_id);
    instance_handle create_instance_handle(const instance_owner& owner, const uuid& instance_id);

    /// The owner handles created without one are bound to (set it after creating the owner).
    void set_default_instance_owner(instance_owner owner);
    instance_owner default_instance_owner() const;

    /// Runs `cmd` on `handle`.
    ///
    /// Handler signature: void(error_code, instance_view). Errors are of store_category
    /// (errc); compare with durable::condition for groups. The handle's last_diagnostics()
    /// explains failures; the overload below also fills a caller-owned diagnostics.
    ///
    /// Executor: the handler's associated executor, else the store's.
    ///
    /// Cancellation: terminal, partial and total are honoured while the operation waits
    /// (locked-instance retry back-off; the PostgreSQL store's socket waits) and complete it
    /// with operation_aborted. A cancelled save may still have committed: reload to know.
    ///
    /// Object lifetimes: the command is taken by value; nothing the caller owns needs to
    /// outlive initiation, except `diag` in the overload that takes it.
    template <commands::command_type Command,
              asio::completion_token_for<execute_signature> CompletionToken = asio::deferred_t>
    auto async_execute(instance_handle handle, Command cmd, CompletionToken&& token = {}) {
        return async_execute_impl(std::move(handle), commands::command{std::move(cmd)}, nullptr,
                                  std::forward<CompletionToken>(token));
    }

    template <commands::command_type Command,
              asio::completion_token_for<execute_signature> CompletionToken = asio::deferred_t>
    auto async_execute(instance_handle handle, Command cmd, diagnostics& diag,
                       CompletionToken&& token = {}) {
        return async_execute_impl(std::move(handle), commands::command{std::move(cmd)}, &diag,
                                  std::forward<CompletionToken>(token));
    }

    /// Waits until an event bound to the handle's owner is signalled; completes with all that
    /// are signalled. Events stay signalled until reset by the store.
    ///
    /// Handler signature: void(error_code, std::vector<persistence_event>). Fails with
    /// invalid_handle if the handle has no owner, owner_lease_expired if the owner is lost.
    /// Cancellation: terminal, partial and total complete it with operation_aborted.
    template <asio::completion_token_for<events_signature> CompletionToken = asio::deferred_t>
    auto async_wait_for_events(instance_handle owner_handle, CompletionToken&& token = {}) {
        return asio::async_initiate<CompletionToken, events_signature>(
            [](auto handler, instance_store* self, instance_handle h) {
                self->initiate_wait_for_events(std::move(h), std::move(handler));
            },
            token, this, std::move(owner_handle));
    }

    /// Blocking form; throws store_error. Runs on the calling thread and does not need the
    /// io_context to run.
    template <commands::command_type Command>
    instance_view execute(instance_handle handle, Command cmd) {
        return execute_sync(std::move(handle), commands::command{std::move(cmd)});
    }

    /// Blocking form that never throws store errors.
    template <commands::command_type Command>
    instance_view execute(instance_handle handle, Command cmd, error_code& ec, diagnostics& diag) {
        return execute_sync(std::move(handle), commands::command{std::move(cmd)}, ec, diag);
    }

protected:
    instance_store(executor_type executor, store_options options);

    /// Runs one command to completion on the calling thread.
    virtual error_code run_command(const command_request& request, command_outcome& outcome) = 0;

    /// Runs one command asynchronously; must not complete inline. The default runs
    /// run_command from a handler posted to the store's executor: right for stores whose
    /// commands do no blocking I/O.
    virtual void async_run_command(command_request request,
                                   asio::any_completion_handler<void(error_code, command_outcome)> handler);

    /// Derived destructors call this first: it stops background tasks and fails waiters, so
    /// no callback reaches a half-destroyed store.
    void shut_down() noexcept;

private:
    template <class CompletionToken>
    auto async_execute_impl(instance_handle handle, commands::command cmd, diagnostics* diag,
                            CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, execute_signature>(
            [](auto handler, instance_store* self, instance_handle h, commands::command c,
               diagnostics* d) {
                self->initiate_execute(std::move(h), std::move(c), d, std::move(handler));
            },
            token, this, std::move(handle), std::move(cmd), diag);
    }

    void initiate_execute(instance_handle handle, commands::command cmd, diagnostics* diag,
                          asio::any_completion_handler<execute_signature> handler);
    void initiate_wait_for_events(instance_handle handle,
                                  asio::any_completion_handler<events_signature> handler);
    instance_view execute_sync(instance_handle handle, commands::command cmd);
    instance_view execute_sync(instance_handle handle, commands::command cmd, error_code& ec,
                               diagnostics& diag);

    friend struct detail::store_core;
    friend class instance_handle;
    std::shared_ptr<detail::store_core> core_;
};

}  // namespace durable
