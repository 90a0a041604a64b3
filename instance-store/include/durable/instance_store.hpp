#pragma once
// instance_store: the abstract store every host talks to (the original's InstanceStore).

#include <durable/commands/command.hpp>
#include <durable/diagnostics.hpp>
#include <durable/error.hpp>
#include <durable/events.hpp>
#include <durable/instance_handle.hpp>
#include <durable/instance_view.hpp>
#include <durable/store_backend.hpp>
#include <durable/store_options.hpp>
#include <durable/with_diagnostics.hpp>

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
using owner_signature = void(error_code, instance_owner);

namespace detail {
struct store_core;
}

/// The instance store every host talks to: a facade over a store_backend that it owns.
///
/// Thread-safety: the member functions may be called from any thread. Completion handlers run
/// on their associated executor, by default the store's. Nothing completes inline.
///
/// Completion tokens: every asynchronous operation takes any Asio completion token. The default
/// is with_diagnostics(asio::deferred): `co_await store.async_execute(...)` throws a store_error
/// that carries the diagnostics (who holds the lock, which key collided). A plain callback gets
/// (error_code, result); wrap other tokens in with_diagnostics() to get the store_error, e.g.
/// with_diagnostics(asio::use_future).
///
/// Owners: a store object registers one lock owner at a time (as the original). Create it with
/// async_create_owner / create_owner; handles created without an owner are bound to the
/// store's owner at the time (owner()), or to none before the first one is created.
///
/// Object lifetimes: handles and pending operations keep what they need alive, so the store may
/// be destroyed at any time; operations still pending then complete with operation_aborted.
/// Destroying it stops its background tasks (lease renewal, runnable detection); it does not
/// delete its owner, whose lease then runs out.
class instance_store {
public:
    using executor_type = asio::any_io_executor;

    /// A store over `backend`, which it owns. Throws std::invalid_argument for a null backend
    /// or options out of range (store_options::validate).
    instance_store(executor_type executor, store_options options, std::shared_ptr<store_backend> backend);
    virtual ~instance_store();
    instance_store(const instance_store&) = delete;
    instance_store& operator=(const instance_store&) = delete;

    executor_type get_executor() const noexcept;
    const store_options& options() const noexcept;

    /// Registers this store's lock owner (create_workflow_owner) and completes with it.
    /// Handler signature: void(error_code, instance_owner). Fails with invalid_command while the
    /// store already has a live owner.
    template <asio::completion_token_for<owner_signature> CompletionToken = default_token>
    auto async_create_owner(commands::create_workflow_owner cmd, CompletionToken&& token = default_token{}) {
        return asio::async_initiate<CompletionToken, owner_signature>(
            [](auto handler, instance_store* self, commands::create_workflow_owner c) {
                diagnostics* diag = detail::diagnostics_target(handler, nullptr);
                self->initiate_create_owner(std::move(c), diag, std::move(handler));
            },
            token, this, std::move(cmd));
    }

    /// Blocking form; throws store_error.
    instance_owner create_owner(commands::create_workflow_owner cmd);

    /// The owner this store created last (live or lost: check is_valid()), or an empty one.
    instance_owner owner() const;

    /// Handles: unbound, bound to an owner, to an instance id, or both. Without an owner, the
    /// handle is bound to owner() as it is now (none if no owner was created yet). A nil
    /// instance id is rejected (std::invalid_argument), as in the original.
    instance_handle create_instance_handle();
    instance_handle create_instance_handle(const instance_owner& owner);
    instance_handle create_instance_handle(const uuid& instance_id);
    instance_handle create_instance_handle(const instance_owner& owner, const uuid& instance_id);

    /// Runs `cmd` on `handle`.
    ///
    /// Handler signature: void(error_code, instance_view). Errors are of store_category
    /// (errc); compare with durable::condition for groups. Diagnostics explain failures: the
    /// store_error of the default token, the handle's last_diagnostics(), or the overload
    /// below, which fills a caller-owned diagnostics.
    ///
    /// Executor: the handler's associated executor, else the store's.
    ///
    /// Cancellation: terminal, partial and total are honoured while the operation waits
    /// (locked-instance retry back-off; a store's wait for its lock or its server) and
    /// complete it with operation_aborted. A cancelled save may still have committed: reload
    /// to know.
    ///
    /// Object lifetimes: the command is taken by value; pass it with std::move (instance data
    /// can be large, and a moved command is never copied). Nothing the caller owns needs to
    /// outlive initiation, except `diag` in the overload that takes it.
    template <commands::command_type Command,
              asio::completion_token_for<execute_signature> CompletionToken = default_token>
    auto async_execute(instance_handle handle, Command cmd, CompletionToken&& token = default_token{}) {
        return async_execute_impl(std::move(handle), commands::command{std::move(cmd)}, nullptr,
                                  std::forward<CompletionToken>(token));
    }

    template <commands::command_type Command,
              asio::completion_token_for<execute_signature> CompletionToken = default_token>
    auto async_execute(instance_handle handle, Command cmd, diagnostics& diag,
                       CompletionToken&& token = default_token{}) {
        return async_execute_impl(std::move(handle), commands::command{std::move(cmd)}, &diag,
                                  std::forward<CompletionToken>(token));
    }

    /// Waits until an event bound to the handle's owner is signalled; completes with all that
    /// are signalled. Events stay signalled until reset by the store.
    ///
    /// Handler signature: void(error_code, std::vector<persistence_event>). Fails with
    /// invalid_handle if the handle has no owner or another than the store's, owner_lease_expired
    /// (or owner_not_found) if the owner is lost.
    /// Cancellation: terminal, partial and total complete it with operation_aborted.
    template <asio::completion_token_for<events_signature> CompletionToken = default_token>
    auto async_wait_for_events(instance_handle owner_handle, CompletionToken&& token = default_token{}) {
        return asio::async_initiate<CompletionToken, events_signature>(
            [](auto handler, instance_store* self, instance_handle h) {
                diagnostics* diag = detail::diagnostics_target(handler, nullptr);
                self->initiate_wait_for_events(std::move(h), diag, std::move(handler));
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

private:
    template <class CompletionToken>
    auto async_execute_impl(instance_handle handle, commands::command cmd, diagnostics* diag,
                            CompletionToken&& token) {
        return asio::async_initiate<CompletionToken, execute_signature>(
            [](auto handler, instance_store* self, instance_handle h, commands::command c, diagnostics* d) {
                diagnostics* target = detail::diagnostics_target(handler, d);
                self->initiate_execute(std::move(h), std::move(c), target, std::move(handler));
            },
            token, this, std::move(handle), std::move(cmd), diag);
    }

    void initiate_execute(instance_handle handle, commands::command cmd, diagnostics* diag,
                          asio::any_completion_handler<execute_signature> handler);
    void initiate_create_owner(commands::create_workflow_owner cmd, diagnostics* diag,
                               asio::any_completion_handler<owner_signature> handler);
    void initiate_wait_for_events(instance_handle handle, diagnostics* diag,
                                  asio::any_completion_handler<events_signature> handler);
    instance_view execute_sync(instance_handle handle, commands::command cmd);
    instance_view execute_sync(instance_handle handle, commands::command cmd, error_code& ec,
                               diagnostics& diag);

    friend struct detail::store_core;
    friend class instance_handle;
    std::shared_ptr<detail::store_core> core_;
};

}  // namespace durable
