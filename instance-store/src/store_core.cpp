// Handle binding, locked-instance retry and the owner's background tasks (lease renewal, lock
// recovery, runnable detection), shared by every store.

#include "store_core.hpp"

#include "saturating_time.hpp"

#include <durable/commands/validation.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>

namespace durable::detail {

store_core::store_core(asio::any_io_executor ex, store_options opts, std::shared_ptr<store_backend> b)
    : executor(ex), strand(asio::make_strand(ex)), options(std::move(opts)), backend(std::move(b)), renew_timer(strand),
      detect_timer(strand) {}

void store_core::async_run(command_request request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) {
    if (shut) {
        command_outcome outcome;
        outcome.diag.message = "the store was shut down before the command ran";
        asio::post(executor, asio::append(std::move(handler), error_code(asio::error::operation_aborted), std::move(outcome)));
        return;
    }
    backend->async_run_command(std::move(request), std::move(handler));
}

void store_core::check_outcome(const command_request& request, error_code& ec, command_outcome& outcome) const {
    auto broken = check_command_outcome(request, ec, outcome);
    if (broken.empty()) return;
    broken = "the store backend broke the command-result contract (store_backend.hpp): " + broken;
#ifndef NDEBUG
    std::fprintf(stderr, "durable: %s\n", broken.c_str());
    std::abort();
#else
    // A bug in the backend; what it did is unknown, so the caller must not take it as done.
    ec = errc::store_unavailable;
    outcome.view = instance_view{};
    outcome.diag.message = std::move(broken);
#endif
}

bool store_core::is_store_owner(const std::shared_ptr<owner_state>& candidate) {
    std::scoped_lock lock(mutex);
    return candidate && owner == candidate;
}

void store_core::run_internal(const std::shared_ptr<owner_state>& for_owner, commands::command cmd,
                              run_callback callback) {
    if (shut) return;
    command_request request;
    request.command = std::move(cmd);
    request.owner_id = for_owner->id;
    // Internal commands carry no instance data: the copy kept for the contract check is small.
    async_run(request, asio::bind_executor(strand, [self = shared_from_this(), request,
                                                    callback = std::move(callback)](error_code ec, command_outcome outcome) {
                  if (self->shut) return;
                  self->check_outcome(request, ec, outcome);
                  callback(ec, std::move(outcome));
              }));
}

// ---- handle bookkeeping -------------------------------------------------------------------

bool store_core::prepare(handle_state& hs, commands::command&& cmd, command_request& request, diagnostics& diag,
                         error_code& ec) {
    diag.clear();
    diag.command = commands::command_name(cmd);
    auto failed = [&](errc code, std::string message) {
        ec = code;
        diag.message = std::move(message);
        return false;
    };

    std::scoped_lock lock(hs.mutex);
    if (hs.core.lock().get() != this) return failed(errc::invalid_handle, "the handle belongs to another store");
    if (!hs.valid) return failed(errc::invalid_handle, "the handle was freed, completed, or doomed by a lost lock");
    if (hs.busy) return failed(errc::handle_busy, "another command is still running on this handle");
    if (hs.owner && !hs.owner->valid)
        return failed(errc::owner_lease_expired,
                      "owner " + to_string(hs.owner->id) + " was lost (deleted or lease expired); create a new owner");
    const bool creates_owner = std::holds_alternative<commands::create_workflow_owner>(cmd);

    std::string why;
    if (auto invalid = commands::validate(cmd, {hs.owner != nullptr, hs.instance_id.has_value(), hs.lock_version >= 0}, why))
        return failed(errc::invalid_command, why);
    // Computed here, once for every store, so that all of them refuse the same values.
    if (const auto* save = std::get_if<commands::save_workflow>(&cmd); save && save->instance_data)
        if (!promote_values(options.promotions, *save->instance_data, request.promoted, why))
            return failed(errc::invalid_command, why);

    // Two handles of one owner may not both hold an instance's lock.
    if (hs.owner && hs.instance_id && hs.lock_version < 0) {
        std::scoped_lock owner_lock(hs.owner->mutex);
        auto it = hs.owner->lock_holders.find(*hs.instance_id);
        if (it != hs.owner->lock_holders.end() && !it->second.expired()) {
            diag.instance_id = hs.instance_id;
            return failed(errc::handle_conflict, "another handle of this owner holds the lock on this instance");
        }
    }

    if (hs.owner) {
        std::scoped_lock owner_lock(hs.owner->mutex);
        request.released_locks = hs.owner->released;
    }
    if (creates_owner) {
        // Reserved until complete(): two concurrent creations must not both register an owner.
        std::scoped_lock store_lock(mutex);
        if (owner && owner->valid)
            return failed(errc::invalid_command, "this store object already has a live owner (" + to_string(owner->id) +
                                                     "); the original supports one owner per store");
        if (owner_being_created)
            return failed(errc::invalid_command,
                          "another create_workflow_owner is running on this store object; the original supports one "
                          "owner per store");
        owner_being_created = true;
    }
    request.command = std::move(cmd);  // instance data can be large: never copied
    request.owner_id = hs.owner ? std::optional<uuid>(hs.owner->id) : std::nullopt;
    request.instance_id = hs.instance_id;
    request.lock_version = hs.lock_version;
    hs.busy = true;
    return true;
}

namespace {
bool binds_instance(const commands::command& cmd) {
    return std::holds_alternative<commands::load_workflow>(cmd) ||
           std::holds_alternative<commands::load_workflow_by_instance_key>(cmd) ||
           std::holds_alternative<commands::save_workflow>(cmd) ||
           std::holds_alternative<commands::try_load_runnable_workflow>(cmd);
}
}  // namespace

instance_view store_core::complete(handle_state& hs, const command_request& request, error_code& ec,
                                   command_outcome& outcome) {
    check_outcome(request, ec, outcome);
    std::shared_ptr<owner_state> lost_owner;
    std::shared_ptr<owner_state> created_owner;
    bool runnable_empty = false;
    instance_view view;
    {
        std::scoped_lock lock(hs.mutex);
        hs.busy = false;
        auto unbind_lock = [&hs] {
            if (hs.owner && hs.instance_id && hs.lock_version >= 0) {
                std::scoped_lock owner_lock(hs.owner->mutex);
                if (auto it = hs.owner->lock_holders.find(*hs.instance_id);
                    it != hs.owner->lock_holders.end() && it->second.lock().get() == &hs)
                    hs.owner->lock_holders.erase(it);
            }
            hs.lock_version = -1;
        };

        if (ec) {
            if (ec == condition::lock_lost) {  // the original frees the handle on a lost lock
                unbind_lock();
                hs.valid = false;
            }
            if (ec == condition::owner_invalid && hs.owner) lost_owner = hs.owner;
        } else if (const auto* create = std::get_if<commands::create_workflow_owner>(&request.command)) {
            hs.owner = std::make_shared<owner_state>(*outcome.view.owner_id, create->workflow_host_type,
                                                     create->activation_service);
            created_owner = hs.owner;
        } else if (std::holds_alternative<commands::delete_workflow_owner>(request.command)) {
            lost_owner = hs.owner;
            hs.valid = false;
        } else if (binds_instance(request.command)) {
            if (outcome.view.instance_id) {
                const uuid id = *outcome.view.instance_id;
                if (!hs.instance_id) hs.instance_id = id;
                if (outcome.view.lock_version >= 0) {
                    // The store decided: this handle holds the lock. A command never fails after
                    // the store committed it, so a handle of ours that still has the slot (its
                    // lock was released behind its back) gives way: its version is older, and the
                    // store refuses its next save as stale.
                    std::scoped_lock owner_lock(hs.owner->mutex);
                    hs.owner->lock_holders[id] = hs.weak_from_this();
                    hs.lock_version = outcome.view.lock_version;
                } else {
                    unbind_lock();  // unlocked or completed: the handle's work is done
                    hs.valid = false;
                }
            } else if (std::holds_alternative<commands::try_load_runnable_workflow>(request.command)) {
                runnable_empty = true;
            }
        }
        if (!ec) {
            view = std::move(outcome.view);
            view.owner_id = hs.owner ? std::optional<uuid>(hs.owner->id) : std::nullopt;
            view.instance_id = hs.instance_id;
            view.lock_version = hs.lock_version;
        }
        outcome.diag.command = commands::command_name(request.command);
        hs.last_diagnostics = ec ? outcome.diag : diagnostics{};
    }

    if (std::holds_alternative<commands::create_workflow_owner>(request.command)) {
        std::scoped_lock lock(mutex);
        owner_being_created = false;
        if (created_owner) owner = created_owner;
    }
    if (created_owner) {
        asio::post(strand, [self = shared_from_this(), created_owner] { self->owner_created(created_owner); });
    }
    if (lost_owner) {
        lost_owner->valid = false;  // at once, so the caller sees it when its handler runs
        const errc why = ec ? static_cast<errc>(ec.value()) : errc::owner_not_found;
        asio::post(strand, [self = shared_from_this(), lost_owner, why] { self->owner_gone(lost_owner, why); });
    }
    if (runnable_empty) {
        auto current_owner = hs.owner;
        asio::post(strand, [self = shared_from_this(), current_owner] { self->runnable_search_came_up_empty(current_owner); });
    }
    return view;
}

std::optional<std::chrono::milliseconds> store_core::locked_retry_delay(const commands::command& cmd, error_code ec,
                                                                        int attempt,
                                                                        std::chrono::steady_clock::duration elapsed) {
    using namespace std::chrono;
    if (ec != errc::instance_locked || options.locked_retry == locked_instance_retry::none) return std::nullopt;
    if (!std::holds_alternative<commands::load_workflow>(cmd) &&
        !std::holds_alternative<commands::load_workflow_by_instance_key>(cmd))
        return std::nullopt;
    milliseconds delay{5000};
    if (options.locked_retry == locked_instance_retry::aggressive) {
        // 100 ms x random integer in [1, 2^(n+1) - 1) for attempt n >= 1, capped at 10 s.
        thread_local std::mt19937_64 rng{std::random_device{}()};
        const int n = std::min(attempt, 20);
        std::uniform_int_distribution<std::int64_t> pick(1, (std::int64_t{1} << (n + 1)) - 2);
        delay = std::min(milliseconds{100 * pick(rng)}, milliseconds{10'000});
    }
    if (saturating_add(elapsed, std::chrono::steady_clock::duration(delay)) >
        saturating_cast<std::chrono::steady_clock::duration>(options.locked_retry_timeout))
        return std::nullopt;
    return delay;
}

void store_core::schedule_unlock(std::shared_ptr<owner_state> for_owner, uuid instance_id, std::int64_t version,
                                 int attempt) {
    asio::post(strand, [self = shared_from_this(), for_owner, instance_id, version, attempt] {
        if (!for_owner->valid) return;  // the lock is void with its owner
        self->run_internal(for_owner, commands::unlock_instance{instance_id, version},
                           [self, for_owner, instance_id, version, attempt](error_code ec, command_outcome) {
                               if (!ec) {
                                   // Done (or a no-op, if a reload took the lock anew meanwhile):
                                   // later commands need not treat it as released any more.
                                   std::scoped_lock lock(for_owner->mutex);
                                   std::erase(for_owner->released, released_lock{instance_id, version});
                                   return;
                               }
                               // Until an unlock gets through, the lock stays released for
                               // this owner's reloads, which take it anew.
                               constexpr int max_attempts = 5;
                               if (attempt + 1 >= max_attempts) return;
                               auto timer = std::make_shared<asio::steady_timer>(self->strand);
                               timer->expires_after(std::chrono::seconds{1} * (1 << attempt));
                               timer->async_wait([self, timer, for_owner, instance_id, version, attempt](error_code wait_ec) {
                                   if (!wait_ec && !self->shut)
                                       self->schedule_unlock(for_owner, instance_id, version, attempt + 1);
                               });
                           });
    });
}

// ---- owner lifecycle and background tasks (strand) ------------------------------------------

void store_core::owner_created(std::shared_ptr<owner_state> created) {
    if (shut) return;
    signalled.clear();
    stop_detection();
    if (!options.run_background_tasks) return;
    schedule_renewal();
    if (created->host_type || created->activation_service) start_detection();
}

void store_core::owner_gone(const std::shared_ptr<owner_state>& gone, errc why) {
    gone->valid = false;
    if (!is_store_owner(gone)) {
        // Replaced already (a new owner was created meanwhile): only its own waiters end.
        for (auto it = waiters.begin(); it != waiters.end();) {
            if ((*it)->owner != gone) {
                ++it;
                continue;
            }
            auto w = *it;
            it = waiters.erase(it);
            complete_waiter(*w, why, {}, "the owner the wait was for was lost (deleted, or its lease expired)");
        }
        return;
    }
    renew_timer.cancel();
    stop_detection();
    signalled.clear();
    complete_all_waiters(why, {}, "the store's owner was lost (deleted, or its lease expired); create a new owner");
}

void store_core::runnable_search_came_up_empty(const std::shared_ptr<owner_state>& searcher) {
    if (shut || !is_store_owner(searcher) || !searcher->valid) return;
    reset(persistence_event::has_runnable_workflow);
    if (options.run_background_tasks) start_detection();
}

void store_core::schedule_renewal() {
    const auto period = std::min(options.host_lock_renewal_period, std::chrono::seconds{30});
    renew_timer.expires_after(period);
    renew_timer.async_wait([self = shared_from_this()](error_code ec) {
        std::shared_ptr<owner_state> current;
        {
            std::scoped_lock lock(self->mutex);
            current = self->owner;
        }
        if (ec || self->shut || !current || !current->valid) return;
        self->run_internal(current, commands::extend_lock{}, [self, current](error_code renew_ec, command_outcome) {
            if (!self->is_store_owner(current)) return;  // replaced while the renewal was out
            if (renew_ec == condition::owner_invalid) {
                self->owner_gone(current, static_cast<errc>(renew_ec.value()));
                return;
            }
            // Errors other than a lost owner (a store blip) are retried at the next period;
            // the lease outlasts one missed renewal by 30 s.
            self->run_internal(current, commands::recover_instance_locks{}, [](error_code, command_outcome) {});
            self->schedule_renewal();
        });
    });
}

// Runnable detection. One detect command is out at a time; between commands a timer waits for
// the next period (or the owner's earliest runnable time, if sooner). A push from the backend
// ends that wait at once, or, while a command is out, makes its result be checked again at once.

void store_core::start_detection() {
    if (detection_state != detection::off) return;
    detect_once();
}

void store_core::stop_detection() {
    detection_state = detection::off;
    wake_while_running = false;
    ++detection_round;
    detect_timer.cancel();
}

void store_core::wake_detection() {
    if (shut || detection_state == detection::off) return;
    if (detection_state == detection::running) {
        wake_while_running = true;
        return;
    }
    ++detection_round;  // the armed timer's handler, even if already queued, does nothing
    detect_timer.cancel();
    detect_once();
}

void store_core::arm_detection(std::chrono::steady_clock::duration delay) {
    if (wake_while_running) delay = std::chrono::steady_clock::duration::zero();
    wake_while_running = false;
    detection_state = detection::waiting;
    detect_timer.expires_after(delay);
    detect_timer.async_wait([self = shared_from_this(), round = ++detection_round](error_code ec) {
        if (ec || self->shut || round != self->detection_round) return;
        self->detect_once();
    });
}

void store_core::detect_once() {
    std::shared_ptr<owner_state> current;
    {
        std::scoped_lock lock(mutex);
        current = owner;
    }
    if (shut || !current || !current->valid) {
        detection_state = detection::off;
        return;
    }
    detection_state = detection::running;
    wake_while_running = false;  // this detection sees every commit made so far
    const auto period = saturating_cast<std::chrono::steady_clock::duration>(options.runnable_instances_detection_period);
    if (current->activation_service) {
        run_internal(current, commands::query_activatable_workflows{}, [this, current, period](error_code ec, command_outcome out) {
            if (!is_store_owner(current) || detection_state != detection::running) return;
            if (!ec && !out.view.activatable_workflows.empty()) {
                signal(persistence_event::has_activatable_workflow);
                detection_state = detection::off;
                return;
            }
            reset(persistence_event::has_activatable_workflow);
            arm_detection(period);
        });
        return;
    }
    run_internal(current, commands::detect_runnable_instances{}, [this, current, period](error_code ec, command_outcome out) {
        if (!is_store_owner(current) || detection_state != detection::running) return;
        if (ec) {
            if (ec == condition::owner_invalid) {
                owner_gone(current, static_cast<errc>(ec.value()));
                return;
            }
            arm_detection(period);
            return;
        }
        const auto& next = out.view.next_runnable_time;
        if (next && *next <= *out.view.store_time) {
            // Signal and stop polling until a try-load finds nothing (the original's rhythm).
            signal(persistence_event::has_runnable_workflow);
            detection_state = detection::off;
            return;
        }
        reset(persistence_event::has_runnable_workflow);
        auto delay = period;
        if (next)
            delay = std::min(delay, saturating_cast<std::chrono::steady_clock::duration>(
                                        saturating_difference(*next, *out.view.store_time)));
        arm_detection(delay);
    });
}

void store_core::signal(persistence_event e) {
    signalled.insert(e);
    complete_all_waiters({}, {signalled.begin(), signalled.end()});
}

void store_core::reset(persistence_event e) { signalled.erase(e); }

void store_core::add_waiter(std::shared_ptr<waiter> w, std::shared_ptr<owner_state> waiting_owner) {
    if (shut) return complete_waiter(*w, asio::error::operation_aborted, {}, "the store was shut down");
    if (w->cancelled) return complete_waiter(*w, asio::error::operation_aborted, {}, "cancelled");
    if (!waiting_owner->valid)
        return complete_waiter(*w, errc::owner_lease_expired, {},
                               "owner " + to_string(waiting_owner->id) + " was lost (deleted, or its lease expired)");
    if (!is_store_owner(waiting_owner))
        return complete_waiter(*w, errc::invalid_handle, {},
                               "the handle's owner " + to_string(waiting_owner->id) + " is not this store's owner");
    if (!signalled.empty()) return complete_waiter(*w, {}, {signalled.begin(), signalled.end()});
    w->owner = std::move(waiting_owner);
    waiters.push_back(std::move(w));
}

void store_core::cancel_waiter(const std::shared_ptr<waiter>& w) {
    if (!w->handler) return;  // completed already
    w->cancelled = true;      // if not registered yet, add_waiter completes it
    if (auto it = std::find(waiters.begin(), waiters.end(), w); it != waiters.end()) {
        waiters.erase(it);
        complete_waiter(*w, asio::error::operation_aborted, {}, "cancelled");
    }
}

void store_core::complete_waiter(waiter& w, error_code ec, std::vector<persistence_event> events, std::string_view why) {
    if (w.diag != nullptr) {
        w.diag->clear();
        if (ec) {
            w.diag->command = "wait_for_events";
            w.diag->message = why;
        }
    }
    auto handler = std::move(w.handler);
    asio::get_associated_cancellation_slot(handler).clear();
    asio::post(executor, asio::append(std::move(handler), ec, std::move(events)));
}

void store_core::complete_all_waiters(error_code ec, const std::vector<persistence_event>& events, std::string_view why) {
    auto pending = std::move(waiters);
    waiters.clear();
    for (auto& w : pending) complete_waiter(*w, ec, events, why);
}

void store_core::shut_down() {
    if (shut.exchange(true)) return;
    backend->shut_down();
    // Timers and waiters belong to the strand, which may be running a handler on another
    // thread right now: they are ended there. If the io_context has stopped for good, the
    // posted work is destroyed with it, and with it the last references to this core.
    asio::post(strand, [self = shared_from_this()] {
        self->renew_timer.cancel();
        self->stop_detection();
        self->complete_all_waiters(asio::error::operation_aborted, {}, "the store was shut down");
    });
}

}  // namespace durable::detail

namespace durable {

void store_events::runnable_may_be_due() const {
    if (auto core = core_.lock(); core && !core->shut)
        asio::post(core->strand, [core] { core->wake_detection(); });
}

}  // namespace durable
