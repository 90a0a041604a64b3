#pragma once
// workflow_host: runs workflow instances and hands them to an instance_store at persistence
// points, so that they carry on after a restart, in this process or another.
//
// A host registers one lock owner (its host type and the identities of its definitions),
// renewed in the background by the store. run() waits for the store's has_runnable_workflow
// event and resumes what is due: durable timers, retry back-offs, and instances left by hosts
// that crashed. The host talks only to the abstract instance_store, so it runs on the memory,
// XML and PostgreSQL stores alike.
//
// Persistence points, as in the original: idle (waiting for a bookmark or a timer) per
// host_options::on_idle; an explicit step_result::persist_then; completion (complete and unlock;
// the store's completion action deletes or keeps the instance); suspend, unsuspend, terminate;
// graceful stop, which unloads every loaded instance and deletes the owner.
//
// Instance data is plain store values, readable by any tool: in namespace urn:durable:host the
// step, status, timer, attempt, error and suspension; each variable under
// urn:durable:host:variable, each output under urn:durable:host:output, each bookmark (its
// value: the step it leads to) under urn:durable:host:bookmark.
//
// Threading: every member function may be called from any thread; the host's work runs on one
// strand of the executor, so one io_context thread carries thousands of instances. Only loaded
// instances use memory. Completion handlers run on their associated executor, by default the
// host's. The default token is the store's, with_diagnostics(asio::deferred): `co_await` throws
// a store_error whose code is the store's (instance_locked, key_not_found, ...) or host_errc.
//
// With g++ 12, name the arguments before co_await: `co_await host.async_start(d, in,
// {key_for("order/42")})` does not compile ("array used as initializer"), and other braced
// temporaries inside a co_await expression are destroyed twice (STYLE.md). Build the vector of
// keys (or the variables) first, then pass it.

#include <durable/host/definition.hpp>
#include <durable/host/host_error.hpp>
#include <durable/host/host_options.hpp>
#include <durable/host/instance_status.hpp>
#include <durable/instance_store.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(durable::uuid)
DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(durable::host::instance_status)

namespace durable::host {

namespace asio = boost::asio;

using start_signature = void(error_code, uuid);
using status_signature = void(error_code, instance_status);
using done_signature = void(error_code);

/// A correlation key made from text ("order/42"): the same text gives the same key in every
/// process (a name-based UUID, version 5, in durable's own namespace).
uuid key_for(std::string_view text);

class workflow_host {
public:
    /// A host over `store`, which must outlive it. Throws std::invalid_argument for bad options,
    /// no definitions, or two definitions with one identity.
    workflow_host(asio::any_io_executor executor, instance_store& store, host_options options,
                  std::vector<workflow_definition> definitions);
    /// Stops the run loop and drops loaded instances without saving (their locks are let go
    /// of by the store): call async_stop first for a graceful stop.
    ~workflow_host();
    workflow_host(const workflow_host&) = delete;
    workflow_host& operator=(const workflow_host&) = delete;

    asio::any_io_executor get_executor() const noexcept;

    /// Starts an instance of `definition` (one of this host's) with `inputs` as its variables
    /// and `keys` associated. Completes with the instance id once the instance and its keys are
    /// saved (so an acknowledged start is never lost); its first steps run after that, and an
    /// operation on the instance issued after the start completes (async_status, say) waits for
    /// them to reach the first persistence point. A key already in use fails with key_collision
    /// and starts nothing.
    template <asio::completion_token_for<start_signature> Token = default_token>
    auto async_start(workflow_identity definition, variables inputs, std::vector<uuid> keys,
                     Token&& token = default_token{}) {
        return asio::async_initiate<Token, start_signature>(
            [this](auto handler, workflow_identity d, variables in, std::vector<uuid> k) {
                diagnostics* diag = durable::detail::diagnostics_target(handler, nullptr);
                initiate_start(std::move(d), std::move(in), std::move(k), diag, std::move(handler));
            },
            token, std::move(definition), std::move(inputs), std::move(keys));
    }

    /// Resumes bookmark `bookmark` of the instance with `payload`, loading it if need be.
    /// Completes once the instance has reached its next persistence point (and, unless
    /// on_idle is none, that point is saved), with its status then. Fails with
    /// instance_locked (diagnostics: the holder) when another host holds it, or waits per the
    /// store's locked_instance_retry; bookmark_not_found, instance_suspended,
    /// instance_not_running; instance_not_found for an unknown id.
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_resume(uuid instance_id, std::string bookmark, value payload, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::resume, target{instance_id, false}, std::move(bookmark), std::move(payload),
                                  std::forward<Token>(token));
    }
    /// async_resume for the instance `key` leads to (key_not_found for an unknown key).
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_resume_by_key(uuid key, std::string bookmark, value payload, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::resume, target{key, true}, std::move(bookmark), std::move(payload),
                                  std::forward<Token>(token));
    }
    /// Where the instance is, once steps running here have reached a persistence point (so right
    /// after async_start it says where the new instance first waits, or that it completed).
    /// An instance not loaded here is loaded and unloaded to read it
    /// (instance_locked when another host holds it; instance_completed for a completed instance
    /// the store kept; instance_not_found when it is unknown or was deleted at completion).
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_status(uuid instance_id, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::status, target{instance_id, false}, {}, {}, std::forward<Token>(token));
    }
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_status_by_key(uuid key, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::status, target{key, true}, {}, {}, std::forward<Token>(token));
    }
    /// Suspends the instance (persisted, with `reason`): resumes are refused and its timer does
    /// not fire until it is unsuspended.
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_suspend(uuid instance_id, std::string reason, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::suspend, target{instance_id, false}, std::move(reason), {},
                                  std::forward<Token>(token));
    }
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_unsuspend(uuid instance_id, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::unsuspend, target{instance_id, false}, {}, {}, std::forward<Token>(token));
    }
    /// Terminates the instance with `reason`: it completes (the store's completion action
    /// applies) with status terminated.
    template <asio::completion_token_for<status_signature> Token = default_token>
    auto async_terminate(uuid instance_id, std::string reason, Token&& token = default_token{}) {
        return initiate_status_op(op_kind::terminate, target{instance_id, false}, std::move(reason), {},
                                  std::forward<Token>(token));
    }

    /// Runs the runnable loop until async_stop (completes with success) or the executor stops.
    /// Registers the owner if no operation has yet. A lost owner (its lease ran out while the
    /// host was cut off) is replaced by a new one; instances it held are dropped from memory,
    /// never saved over their new holder.
    template <asio::completion_token_for<done_signature> Token = default_token>
    auto async_run(Token&& token = default_token{}) {
        return asio::async_initiate<Token, done_signature>(
            [this](auto handler) {
                diagnostics* diag = durable::detail::diagnostics_target(handler, nullptr);
                initiate_run(diag, std::move(handler));
            },
            token);
    }
    /// Graceful stop: refuses new operations (host_stopped), lets running steps reach their
    /// persistence point, unloads every loaded instance (saved and unlocked, whatever on_idle
    /// says), deletes the owner, and ends async_run.
    template <asio::completion_token_for<done_signature> Token = default_token>
    auto async_stop(Token&& token = default_token{}) {
        return asio::async_initiate<Token, done_signature>(
            [this](auto handler) {
                diagnostics* diag = durable::detail::diagnostics_target(handler, nullptr);
                initiate_stop(diag, std::move(handler));
            },
            token);
    }

    /// Instances held in memory now.
    std::size_t loaded_count() const;
    /// The current lock owner (empty before the first operation).
    instance_owner owner() const;

    struct impl;

private:
    enum class op_kind { resume, status, suspend, unsuspend, terminate };
    struct target {
        uuid id;
        bool is_key;
    };

    template <class Token>
    auto initiate_status_op(op_kind kind, target t, std::string text, value payload, Token&& token) {
        return asio::async_initiate<Token, status_signature>(
            [this](auto handler, op_kind k, target tg, std::string s, value p) {
                diagnostics* diag = durable::detail::diagnostics_target(handler, nullptr);
                initiate_status(k, tg, std::move(s), std::move(p), diag, std::move(handler));
            },
            token, kind, t, std::move(text), std::move(payload));
    }

    void initiate_start(workflow_identity definition, variables inputs, std::vector<uuid> keys, diagnostics* diag,
                        asio::any_completion_handler<start_signature> handler);
    void initiate_status(op_kind kind, target t, std::string text, value payload, diagnostics* diag,
                         asio::any_completion_handler<status_signature> handler);
    void initiate_run(diagnostics* diag, asio::any_completion_handler<done_signature> handler);
    void initiate_stop(diagnostics* diag, asio::any_completion_handler<done_signature> handler);

    std::shared_ptr<impl> impl_;
};

}  // namespace durable::host
