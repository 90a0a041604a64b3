#include "store_core.hpp"

#include <durable/store_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>
#include <variant>
#include <unistd.h>

namespace durable {

namespace {

std::string host_name() {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
    return buffer;
}

store_options completed_options(store_options options) {
    options.validate();
    if (options.machine_name.empty()) options.machine_name = host_name();
    if (!options.clock) options.clock = default_store_clock();
    return options;
}

/// One async_execute: prepare, run (retrying a locked load per policy), bind, complete.
class execute_op : public std::enable_shared_from_this<execute_op> {
public:
    /// An execute completes with the view; a create-owner with the owner it made.
    using handler_type =
        std::variant<asio::any_completion_handler<execute_signature>, asio::any_completion_handler<owner_signature>>;

    execute_op(std::shared_ptr<detail::store_core> core, std::shared_ptr<detail::handle_state> hs, diagnostics* diag_out,
               handler_type handler)
        : core_(std::move(core)), hs_(std::move(hs)), diag_out_(diag_out), handler_(std::move(handler)),
          retry_timer_(core_->strand), started_(std::chrono::steady_clock::now()) {}

    void start(commands::command cmd) {
        error_code ec;
        diagnostics diag;
        if (!core_->prepare(*hs_, std::move(cmd), request_, diag, ec)) return finish(ec, {}, std::move(diag));
        prepared_ = true;
        auto slot = std::visit([](auto& h) { return asio::get_associated_cancellation_slot(h); }, handler_);
        if (slot.is_connected()) {
            slot.assign([weak = weak_from_this()](asio::cancellation_type type) {
                if (auto self = weak.lock())
                    asio::post(self->core_->strand, [self, type] {
                        self->cancelled_ = true;
                        self->retry_timer_.cancel();
                        self->store_cancel_.emit(type);  // a store that waits ends its wait
                    });
            });
        }
        // Attempts start on the strand, where cancellations are emitted: a cancellation signal
        // must not be emitted while the store connects its slot.
        asio::post(core_->strand, [self = shared_from_this()] { self->attempt(); });
    }

private:
    void attempt() {
        if (cancelled_) return finish_run(asio::error::operation_aborted, {});
        ++attempts_;
        core_->async_run(request_for_attempt(), asio::bind_cancellation_slot(
                                       store_cancel_.slot(),
                                       asio::bind_executor(core_->strand, [self = shared_from_this()](error_code ec, command_outcome out) {
                                           self->on_result(ec, std::move(out));
                                       })));
    }

    /// A load may be retried, so the request is kept; loads carry no instance data. A save
    /// runs once: its data is moved to the store, and only what complete() and the contract
    /// check read stays here.
    command_request request_for_attempt() {
        auto* save = std::get_if<commands::save_workflow>(&request_.command);
        if (save == nullptr) return request_;
        commands::save_workflow kept;
        kept.unlock_instance = save->unlock_instance;
        kept.complete_instance = save->complete_instance;
        command_request sent = std::move(request_);
        request_ = command_request{std::move(kept), sent.owner_id, sent.instance_id, sent.lock_version, sent.released_locks, {}};
        return sent;
    }

    void on_result(error_code ec, command_outcome out) {
        // This attempt is over: a cancellation from now on (during the retry back-off) must not
        // reach the backend's finished operation.
        store_cancel_.slot().clear();
        if (!cancelled_) {
            if (auto delay = core_->locked_retry_delay(request_.command, ec, attempts_,
                                                       std::chrono::steady_clock::now() - started_)) {
                retry_timer_.expires_after(*delay);
                retry_timer_.async_wait([self = shared_from_this(), out = std::move(out)](error_code wait_ec) mutable {
                    if (wait_ec || self->cancelled_) {
                        out.diag.message = "cancelled while waiting to retry a locked instance";
                        return self->finish_run(asio::error::operation_aborted, std::move(out));
                    }
                    self->attempt();
                });
                return;
            }
        }
        finish_run(ec, std::move(out));
    }

    void finish_run(error_code ec, command_outcome out) {
        if (ec == asio::error::operation_aborted) {
            if (out.diag.message.empty()) out.diag.message = "cancelled before the command could run";
            out.view = instance_view{};
        }
        auto view = core_->complete(*hs_, request_, ec, out);
        finish(ec, std::move(view), std::move(out.diag));
    }

    void finish(error_code ec, instance_view view, diagnostics diag) {
        if (!prepared_) {
            std::scoped_lock lock(hs_->mutex);
            hs_->last_diagnostics = diag;
        }
        if (diag_out_ != nullptr) *diag_out_ = std::move(diag);
        std::visit(
            [&](auto& handler) {
                asio::get_associated_cancellation_slot(handler).clear();
                if constexpr (std::is_same_v<std::decay_t<decltype(handler)>,
                                             asio::any_completion_handler<owner_signature>>) {
                    instance_owner created;
                    if (!ec) {
                        std::scoped_lock lock(hs_->mutex);
                        created = detail::store_core::owner_of(hs_->owner);
                    }
                    asio::post(core_->executor, asio::append(std::move(handler), ec, std::move(created)));
                } else {
                    asio::post(core_->executor, asio::append(std::move(handler), ec, std::move(view)));
                }
            },
            handler_);
    }

    std::shared_ptr<detail::store_core> core_;
    std::shared_ptr<detail::handle_state> hs_;
    diagnostics* diag_out_;
    handler_type handler_;
    command_request request_;
    asio::steady_timer retry_timer_;
    asio::cancellation_signal store_cancel_;  // strand-only: reaches the store's wait
    const std::chrono::steady_clock::time_point started_;
    int attempts_ = 0;
    bool prepared_ = false;
    bool cancelled_ = false;
};

std::shared_ptr<store_backend> checked(std::shared_ptr<store_backend> backend) {
    if (!backend) throw std::invalid_argument("instance_store: the backend must not be null");
    return backend;
}

}  // namespace

instance_store::instance_store(executor_type executor, store_options options, std::shared_ptr<store_backend> backend)
    : core_(std::make_shared<detail::store_core>(executor, completed_options(std::move(options)),
                                                 checked(std::move(backend)))) {
    core_->backend->attach({core_->executor, &core_->options, store_events(core_)});
}

instance_store::~instance_store() { core_->shut_down(); }

instance_store::executor_type instance_store::get_executor() const noexcept { return core_->executor; }
const store_options& instance_store::options() const noexcept { return core_->options; }

instance_owner instance_store::owner() const {
    std::scoped_lock lock(core_->mutex);
    return instance_owner(core_->owner);
}

instance_handle instance_store::create_instance_handle() { return create_instance_handle(owner()); }

instance_handle instance_store::create_instance_handle(const instance_owner& for_owner) {
    auto hs = std::make_shared<detail::handle_state>(core_);
    hs->owner = for_owner.state_;
    return instance_handle(std::move(hs));
}

instance_handle instance_store::create_instance_handle(const uuid& instance_id) {
    return create_instance_handle(owner(), instance_id);
}

instance_handle instance_store::create_instance_handle(const instance_owner& for_owner, const uuid& instance_id) {
    if (instance_id == nil_uuid) throw std::invalid_argument("create_instance_handle: the instance id must not be nil");
    auto handle = create_instance_handle(for_owner);
    handle.state_->instance_id = instance_id;
    return handle;
}

instance_owner instance_store::create_owner(commands::create_workflow_owner cmd) {
    auto handle = create_instance_handle(instance_owner{});
    execute(handle, std::move(cmd));
    return handle.owner();
}

void instance_store::initiate_create_owner(commands::create_workflow_owner cmd, diagnostics* diag,
                                           asio::any_completion_handler<owner_signature> handler) {
    auto handle = create_instance_handle(instance_owner{});
    std::make_shared<execute_op>(core_, handle.state_, diag, std::move(handler))->start(std::move(cmd));
}

void instance_store::initiate_execute(instance_handle handle, commands::command cmd, diagnostics* diag,
                                      asio::any_completion_handler<execute_signature> handler) {
    if (!handle.state_) {
        if (diag != nullptr) *diag = diagnostics{commands::command_name(cmd), "empty instance_handle", {}, {}, {}, {}, {}, -1, {}};
        asio::post(core_->executor, asio::append(std::move(handler), make_error_code(errc::invalid_handle), instance_view{}));
        return;
    }
    std::make_shared<execute_op>(core_, handle.state_, diag, std::move(handler))->start(std::move(cmd));
}

void instance_store::initiate_wait_for_events(instance_handle handle, diagnostics* diag,
                                              asio::any_completion_handler<events_signature> handler) {
    std::shared_ptr<detail::owner_state> waiting_owner;
    if (handle.state_) {
        std::scoped_lock lock(handle.state_->mutex);
        waiting_owner = handle.state_->owner;
    }
    if (!waiting_owner) {
        if (diag != nullptr) {
            diag->clear();
            diag->command = "wait_for_events";
            diag->message = handle.state_ ? "the handle is not bound to an owner" : "empty instance_handle";
        }
        asio::post(core_->executor, asio::append(std::move(handler), make_error_code(errc::invalid_handle),
                                                 std::vector<persistence_event>{}));
        return;
    }
    // The slot is connected now, at initiation, so a cancellation emitted right away is never
    // lost: it reaches the strand after the registration, or marks the waiter before it.
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto w = std::make_shared<detail::store_core::waiter>(std::move(handler), diag);
    if (slot.is_connected()) {
        slot.assign([weak_core = std::weak_ptr<detail::store_core>(core_),
                     weak_waiter = std::weak_ptr<detail::store_core::waiter>(w)](asio::cancellation_type) {
            auto core = weak_core.lock();
            auto waiting = weak_waiter.lock();
            if (core && waiting) asio::post(core->strand, [core, waiting] { core->cancel_waiter(waiting); });
        });
    }
    asio::post(core_->strand, [core = core_, w = std::move(w), waiting_owner]() mutable {
        core->add_waiter(std::move(w), waiting_owner);
    });
}

instance_view instance_store::execute_sync(instance_handle handle, commands::command cmd) {
    error_code ec;
    diagnostics diag;
    auto view = execute_sync(std::move(handle), std::move(cmd), ec, diag);
    throw_if_error(ec, diag);
    return view;
}

instance_view instance_store::execute_sync(instance_handle handle, commands::command cmd, error_code& ec,
                                           diagnostics& diag) {
    ec.clear();
    if (!handle.state_) {
        ec = errc::invalid_handle;
        diag = diagnostics{};
        diag.command = commands::command_name(cmd);
        diag.message = "empty instance_handle";
        return {};
    }
    auto& hs = *handle.state_;
    command_request request;
    if (!core_->prepare(hs, std::move(cmd), request, diag, ec)) {
        std::scoped_lock lock(hs.mutex);
        hs.last_diagnostics = diag;
        return {};
    }
    const auto started = std::chrono::steady_clock::now();
    command_outcome outcome;
    for (int attempt = 1;; ++attempt) {
        outcome = command_outcome{};
        ec = core_->shut ? error_code(asio::error::operation_aborted) : core_->backend->run_command(request, outcome);
        const auto delay = core_->locked_retry_delay(request.command, ec, attempt, std::chrono::steady_clock::now() - started);
        if (!delay) break;
        std::this_thread::sleep_for(*delay);
    }
    auto view = core_->complete(hs, request, ec, outcome);
    diag = std::move(outcome.diag);
    return view;
}

}  // namespace durable
