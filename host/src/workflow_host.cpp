// workflow_host: the instances a host holds, the steps it runs, and what it hands the store at
// each persistence point. Everything here runs on one strand.

#include <durable/host/workflow_host.hpp>

#include "async_gate.hpp"
#include "instance_record.hpp"

#include <durable/store_error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace durable::host {

namespace cmd = durable::commands;
using detail::async_gate;
using detail::async_signal;
using detail::gate_hold;
using detail::instance_record;

namespace {

[[noreturn]] void fail(host_errc code, const uuid* instance_id, std::string message) {
    diagnostics diag;
    diag.command = "workflow_host";
    diag.message = std::move(message);
    if (instance_id != nullptr) diag.instance_id = *instance_id;
    throw store_error(make_error_code(code), std::move(diag));
}

bool is_lock_or_owner_loss(const error_code& ec) {
    return ec == condition::lock_lost || ec == condition::owner_invalid || ec == errc::invalid_handle;
}

std::string execution_status_of(const instance_record& r) {
    switch (r.status) {
        case run_status::running: return "Executing";
        case run_status::waiting: return "Idle";
        case run_status::faulted: return "Faulted";
        case run_status::completed:
        case run_status::terminated: return "Closed";
    }
    return "Unknown";
}

std::string bookmark_list(const std::vector<bookmark_route>& bookmarks) {
    std::string text;
    for (const auto& b : bookmarks) text += (text.empty() ? "[" : " [") + b.bookmark + "]";
    return text;
}

/// The error code and diagnostics an exception from the host's work stands for.
error_code to_error(std::exception_ptr ep, diagnostics* diag) {
    try {
        std::rethrow_exception(ep);
    } catch (const store_error& e) {
        if (diag != nullptr) *diag = e.diag();
        return e.code();
    } catch (const boost::system::system_error& e) {
        if (diag != nullptr) diag->message = e.what();
        return e.code();
    } catch (const std::invalid_argument& e) {
        if (diag != nullptr) diag->message = e.what();
        return make_error_code(errc::invalid_command);
    } catch (const std::exception& e) {
        if (diag != nullptr) diag->message = e.what();
        return make_error_code(boost::system::errc::io_error);
    }
}

}  // namespace

/// An instance this host holds in memory (and, unless it was just dropped, the lock on it).
struct loaded_instance {
    uuid id;
    instance_handle handle;
    instance_record record;
    const workflow_definition* definition = nullptr;
    async_gate gate;  // one operation at a time on the instance
    std::unique_ptr<asio::steady_timer> timer;         // its durable timer while loaded
    std::unique_ptr<asio::steady_timer> unload_timer;  // unload_after_idle
    bool dropped = false;                              // no longer ours: never save it again
    bool loading = false;                              // a placeholder whose load by id is under way
    /// The lock a concurrent load by key of this host won while this placeholder's load was
    /// under way (that load is then refused with handle_conflict and takes this instead).
    struct handover_type {
        instance_handle handle;
        instance_view view;
    };
    std::optional<handover_type> handover;
};

struct workflow_host::impl : std::enable_shared_from_this<impl> {
    using strand_type = asio::strand<asio::any_io_executor>;

    impl(asio::any_io_executor ex, instance_store& s, host_options o, std::vector<workflow_definition> defs)
        : executor(std::move(ex)), strand(asio::make_strand(executor)), store(s), options(std::move(o)),
          clock(s.options().clock ? s.options().clock : default_store_clock()) {
        options.validate();
        if (defs.empty()) throw std::invalid_argument("a workflow_host needs at least one workflow definition");
        for (auto& d : defs) {
            (void)d.first_step();  // throws for a definition without steps
            auto identity = d.identity();
            if (!definitions.emplace(identity, std::move(d)).second)
                throw std::invalid_argument("two definitions of " + identity.to_string() + " were given");
        }
    }

    asio::any_io_executor executor;
    strand_type strand;
    instance_store& store;
    host_options options;
    std::shared_ptr<const store_clock> clock;
    std::map<workflow_identity, workflow_definition> definitions;

    std::unordered_map<uuid, std::shared_ptr<loaded_instance>> loaded;
    std::atomic<std::size_t> loaded_size{0};
    instance_owner owner;
    mutable std::mutex owner_mutex;  // owner() may be read from any thread
    async_gate owner_gate;

    bool stopping = false;
    bool running = false;
    asio::cancellation_signal run_cancel;
    std::size_t in_flight = 0;  // instance tasks started in the background
    async_signal task_finished;

    // --- small helpers ------------------------------------------------------------------------

    timestamp now() const { return clock->now(); }

    void log(const std::string& line) const {
        if (options.on_message) options.on_message(line);
        else std::cerr << "durable host: " << line << '\n';
    }

    const workflow_definition* find_definition(const workflow_identity& id) const {
        const auto it = definitions.find(id);
        return it == definitions.end() ? nullptr : &it->second;
    }

    void check_not_stopping() const {
        if (stopping) fail(host_errc::host_stopped, nullptr, "the host is stopping; it takes no new work");
    }

    void forget(loaded_instance& inst) {
        inst.dropped = true;
        if (inst.timer) inst.timer->cancel();
        if (inst.unload_timer) inst.unload_timer->cancel();
        const auto it = loaded.find(inst.id);
        if (it != loaded.end() && it->second.get() == &inst) loaded.erase(it);
        loaded_size = loaded.size();
    }

    /// Runs `task` in the background on the strand; async_stop waits for all of them.
    template <class Task>
    void spawn(Task task) {
        ++in_flight;
        asio::co_spawn(strand, std::move(task), [self = shared_from_this()](std::exception_ptr ep) {
            if (ep) {
                diagnostics diag;
                const error_code ec = to_error(ep, &diag);
                if (ec != asio::error::operation_aborted)
                    self->log("background work failed: " + ec.message() + (diag.message.empty() ? "" : ": " + diag.to_string()));
            }
            --self->in_flight;
            self->task_finished.notify_all();
        });
    }

    // --- the owner ----------------------------------------------------------------------------

    asio::awaitable<void> ensure_owner() {
        if (owner && owner.is_valid()) co_return;
        co_await owner_gate.acquire();
        gate_hold hold(owner_gate);
        if (owner && owner.is_valid()) co_return;
        if (owner) {
            // The lease ran out: every lock it held may have a new holder by now.
            log("the lock owner " + to_string(owner.id()) + " was lost; dropping " + std::to_string(loaded.size()) +
                " loaded instance(s) and registering a new owner");
            drop_all();
        }
        cmd::create_workflow_owner create;
        create.workflow_host_type = options.host_type;
        for (const auto& [identity, d] : definitions) create.definition_identities.push_back(identity);
        create.filter = options.filter;
        create.owner_metadata = options.owner_metadata;
        auto created = co_await store.async_create_owner(std::move(create));
        std::lock_guard lock(owner_mutex);
        owner = std::move(created);
    }

    void drop_all() {
        set_aside_locks.clear();  // held for the lost owner: nothing to let go of any more
        auto all = std::move(loaded);
        loaded.clear();
        loaded_size = 0;
        for (auto& [id, inst] : all) {
            inst->dropped = true;
            if (inst->timer) inst->timer->cancel();
            if (inst->unload_timer) inst->unload_timer->cancel();
        }
    }

    // --- saving -------------------------------------------------------------------------------

    enum class save_mode { keep_lock, unlock, complete };

    /// Saves the instance as it is in memory. A save that fails drops the instance from memory
    /// (its last saved state stays in the store), so nothing unsaved is ever reported saved.
    asio::awaitable<void> save(loaded_instance& inst, save_mode mode,
                               cmd::suspension_change suspension = cmd::suspension_change::none) {
        const instance_record& r = inst.record;
        cmd::save_workflow s;
        s.instance_data = detail::encode(r);
        // No definition identity: the instance keeps the one its first save gave it (start), and
        // a PostgreSQL store then need not look it up again at every save.
        s.execution_status = execution_status_of(r);
        s.blocking_bookmarks = bookmark_list(r.bookmarks);
        s.ready_to_run = r.status == run_status::running && !r.suspended;
        if (r.timer_due && r.status == run_status::waiting && !r.suspended)
            s.pending_timer = std::max(*r.timer_due - now(), duration::zero());
        s.suspension = suspension;
        if (suspension == cmd::suspension_change::suspend) s.suspension_reason = r.suspension_reason;
        s.unlock_instance = mode != save_mode::keep_lock;
        s.complete_instance = mode == save_mode::complete;
        try {
            co_await store.async_execute(inst.handle, std::move(s));
        } catch (const store_error& e) {
            // Data the store refuses leaves the instance loaded and locked for the caller to
            // fault it; any other failure drops it (its last saved state stays in the store).
            if (is_refused_data(e.code())) throw;
            if (is_lock_or_owner_loss(e.code()))
                log("instance " + to_string(inst.id) + " is no longer held by this host (" + e.code().message() +
                    "); dropped from memory without saving");
            forget(inst);
            throw;
        }
        if (mode != save_mode::keep_lock) forget(inst);
    }

    /// The store refused the instance's data itself (too large, a name it cannot keep): saving
    /// it again would fail the same way.
    static bool is_refused_data(const error_code& ec) {
        return ec == errc::value_too_large || ec == errc::invalid_command;
    }

    // --- running steps ------------------------------------------------------------------------

    /// Runs the instance's steps until a persistence point: idle, completion or a fault. The
    /// caller holds the instance's gate.
    asio::awaitable<void> drive(std::shared_ptr<loaded_instance> inst) {
        instance_record& r = inst->record;
        while (!inst->dropped) {
            const auto* entry = inst->definition->find(r.step);
            if (entry == nullptr) {
                // Named first: g++ 12 destroys temporaries of a co_await expression twice (STYLE.md).
                std::string reason = "the definition " + r.definition.to_string() + " has no step '" + r.step + "'";
                co_await fault(*inst, std::move(reason));
                co_return;
            }
            const variables before = r.vars;  // a step that throws leaves no trace in the variables
            std::optional<step_result> result;
            std::string thrown;
            try {
                step_context ctx(inst->id, inst->definition->identity(), r.vars, r.payload, r.attempt, now());
                if (const auto* plain = std::get_if<plain_step>(&entry->body)) result.emplace((*plain)(ctx));
                else result.emplace(co_await std::get<coroutine_step>(entry->body)(ctx));
            } catch (const std::exception& e) {
                thrown = e.what();
            } catch (...) {
                thrown = "a step threw something that is not a std::exception";
            }
            if (inst->dropped) co_return;
            if (!result) {
                r.vars = before;
                if (r.attempt < entry->retry.max_attempts) {
                    ++r.attempt;
                    r.status = run_status::waiting;
                    r.bookmarks.clear();
                    r.timer_due = now() + entry->retry.backoff_before(r.attempt);
                    r.timer_step = r.step;
                    r.error = "attempt " + std::to_string(r.attempt - 1) + " of step '" + r.step + "' failed: " + thrown;
                    co_await idle(inst);
                } else {
                    std::string reason = "step '" + r.step + "' failed" +
                                         (r.attempt > 1 ? " after " + std::to_string(r.attempt) + " attempts" : "") +
                                         ": " + thrown;
                    co_await fault(*inst, std::move(reason));
                }
                co_return;
            }
            r.error.clear();
            r.payload = value{};
            r.attempt = 1;
            step_result::kind what = std::move(*result).take();
            const std::string ran = r.step;
            bool persisted = true;  // the step led to a persistence point that ends this drive
            std::string refused;    // the store refused what the step left
            try {
                if (auto* next = std::get_if<step_result::go_to_step>(&what)) {
                    persisted = false;
                    r.step = std::move(next->step);
                    if (next->persist_first) co_await save(*inst, save_mode::keep_lock);
                } else if (auto* wait = std::get_if<step_result::wait>(&what)) {
                    r.status = run_status::waiting;
                    r.bookmarks = std::move(wait->bookmarks);
                    r.timer_due.reset();
                    r.timer_step.clear();
                    if (wait->delay) r.timer_due = now() + *wait->delay;
                    if (wait->until) r.timer_due = *wait->until;
                    if (r.timer_due) r.timer_step = std::move(wait->timer_step);
                    co_await idle(inst);
                } else if (auto* done = std::get_if<step_result::complete>(&what)) {
                    r.status = run_status::completed;
                    r.outputs = std::move(done->outputs);
                    co_await complete(*inst);
                } else {
                    std::string reason = std::move(std::get<step_result::fail>(what).reason);
                    co_await fault(*inst, std::move(reason));
                }
            } catch (const store_error& e) {
                if (!is_refused_data(e.code()) || inst->dropped) throw;
                refused = e.diag().to_string();
            }
            if (!refused.empty()) {
                // Saving it again would fail the same way: the instance faults with the variables
                // it had before the step, and says why.
                r.vars = before;
                r.outputs.clear();
                std::string reason = "the store refused what step '" + ran + "' left: " + refused;
                co_await fault(*inst, std::move(reason));
                co_return;
            }
            if (persisted) co_return;
        }
    }

    asio::awaitable<void> fault(loaded_instance& inst, std::string reason) {
        instance_record& r = inst.record;
        log("instance " + to_string(inst.id) + " faulted: " + reason);
        r.status = run_status::faulted;
        r.error = std::move(reason);
        r.bookmarks.clear();
        r.timer_due.reset();
        r.timer_step.clear();
        std::string refused;
        try {
            co_await save(inst, save_mode::unlock);
        } catch (const store_error& e) {
            if (!is_refused_data(e.code())) throw;
            refused = e.diag().to_string();
        }
        if (!refused.empty()) {
            log("the fault of instance " + to_string(inst.id) + " could not be saved either (" + refused +
                "); dropped from memory, its last saved state stays");
            forget(inst);
            inst.handle.free();
        }
    }

    asio::awaitable<void> complete(loaded_instance& inst) {
        inst.record.bookmarks.clear();
        inst.record.timer_due.reset();
        inst.record.timer_step.clear();
        co_await save(inst, save_mode::complete);
    }

    /// The idle persistence point, per host_options::on_idle.
    asio::awaitable<void> idle(std::shared_ptr<loaded_instance> inst) {
        switch (options.on_idle) {
            case idle_action::unload: co_await save(*inst, save_mode::unlock); co_return;
            case idle_action::persist: co_await save(*inst, save_mode::keep_lock); break;
            case idle_action::none: break;
        }
        arm_timers(inst);
    }

    /// While an instance stays loaded and idle, its durable timer and unload_after_idle run here.
    void arm_timers(const std::shared_ptr<loaded_instance>& inst) {
        const instance_record& r = inst->record;
        if (inst->dropped || r.status != run_status::waiting || r.suspended) return;
        if (r.timer_due) {
            inst->timer = std::make_unique<asio::steady_timer>(strand);
            inst->timer->expires_after(std::max(*r.timer_due - now(), duration::zero()));
            inst->timer->async_wait([self = shared_from_this(), inst, due = *r.timer_due](error_code ec) {
                if (ec || inst->dropped || self->stopping) return;
                self->spawn(self->fire_timer(inst, due));
            });
        }
        if (options.unload_after_idle) {
            inst->unload_timer = std::make_unique<asio::steady_timer>(strand);
            inst->unload_timer->expires_after(*options.unload_after_idle);
            inst->unload_timer->async_wait([self = shared_from_this(), inst](error_code ec) {
                if (ec || inst->dropped || self->stopping) return;
                self->spawn(self->unload_idle(inst));
            });
        }
    }

    void disarm_timers(loaded_instance& inst) {
        if (inst.timer) inst.timer->cancel();
        if (inst.unload_timer) inst.unload_timer->cancel();
    }

    asio::awaitable<void> fire_timer(std::shared_ptr<loaded_instance> inst, timestamp due) {
        co_await inst->gate.acquire();
        gate_hold hold(inst->gate);
        instance_record& r = inst->record;
        if (inst->dropped || r.status != run_status::waiting || r.suspended || r.timer_due != due) co_return;
        if (now() < due) {  // the store's clock is behind the steady clock: wait the rest
            arm_timers(inst);
            co_return;
        }
        disarm_timers(*inst);
        take_timer(r);
        co_await drive(inst);
    }

    static void take_timer(instance_record& r) {
        r.step = r.timer_step;
        r.status = run_status::running;
        r.bookmarks.clear();
        r.timer_due.reset();
        r.timer_step.clear();
    }

    asio::awaitable<void> unload_idle(std::shared_ptr<loaded_instance> inst) {
        co_await inst->gate.acquire();
        gate_hold hold(inst->gate);
        if (inst->dropped || inst->record.status != run_status::waiting) co_return;
        disarm_timers(*inst);
        co_await save(*inst, save_mode::unlock);
    }

    // --- getting hold of an instance ----------------------------------------------------------

    struct target_ref {
        uuid id;
        bool is_key;
    };

    /// The loaded instance `t` names, its gate held: from memory, or loaded from the store.
    /// `loaded_now` says whether this call loaded it.
    asio::awaitable<std::pair<std::shared_ptr<loaded_instance>, bool>> obtain(target_ref t) {
        // Two operations of this host may load one instance at once (one by key, one by id): the
        // store lends its lock to one handle only and tells the other handle_conflict. The winner
        // hands its lock to the placeholder of a load by id that is still under way; a loser
        // retries and queues behind whichever holds the instance here by then.
        int conflicts = 0;
        for (;;) {
            if (!t.is_key) {
                if (const auto it = loaded.find(t.id); it != loaded.end()) {
                    auto inst = it->second;
                    co_await inst->gate.acquire();
                    if (inst->dropped) {  // unloaded while we waited: look again
                        inst->gate.release();
                        continue;
                    }
                    co_return std::pair{inst, false};
                }
            }
            co_await ensure_owner();
            check_not_stopping();
            auto inst = std::make_shared<loaded_instance>();
            instance_view view;
            std::optional<uuid> conflict_on;
            if (t.is_key) {
                inst->handle = store.create_instance_handle(owner);
                try {
                    view = co_await store.async_execute(inst->handle, cmd::load_workflow_by_instance_key(t.id));
                } catch (const store_error& e) {
                    if (e.code() != errc::handle_conflict || !e.diag().instance_id || ++conflicts > max_conflicts) throw;
                    conflict_on = e.diag().instance_id;
                }
                if (conflict_on) {
                    t = target_ref{*conflict_on, false};
                    co_await pause(std::chrono::milliseconds{1});
                    continue;
                }
                inst->id = *view.instance_id;
                if (const auto it = loaded.find(inst->id); it != loaded.end()) {
                    // A load by id of this instance is under way: it will be refused, so it takes
                    // this handle's lock instead, and this operation queues behind it.
                    auto& other = *it->second;
                    if (other.loading && !other.handover) other.handover = loaded_instance::handover_type{std::move(inst->handle), std::move(view)};
                    else inst->handle.free();
                    t = target_ref{inst->id, false};
                    continue;
                }
                co_await inst->gate.acquire();
                loaded[inst->id] = inst;
                loaded_size = loaded.size();
            } else {
                // Placeholder first, so that a second caller for this id waits for this load.
                inst->id = t.id;
                inst->loading = true;
                co_await inst->gate.acquire();
                loaded[t.id] = inst;
                loaded_size = loaded.size();
                inst->handle = store.create_instance_handle(owner, t.id);
                bool refused_for_conflict = false;
                try {
                    view = co_await store.async_execute(inst->handle, cmd::load_workflow{});
                } catch (const store_error& e) {
                    if (e.code() != errc::handle_conflict || (!inst->handover && ++conflicts > max_conflicts)) {
                        forget(*inst);
                        inst->gate.release();
                        throw;
                    }
                    refused_for_conflict = true;
                }
                inst->loading = false;
                if (refused_for_conflict) {
                    if (!inst->handover) {  // the winner has not shown itself yet: look again
                        forget(*inst);
                        inst->gate.release();
                        co_await pause(std::chrono::milliseconds{1});
                        continue;
                    }
                    inst->handle = std::move(inst->handover->handle);
                    view = std::move(inst->handover->view);
                }
                inst->handover.reset();
            }
            try {
                inst->record = detail::decode(view.data, inst->id);
                inst->definition = find_definition(inst->record.definition);
                if (inst->definition == nullptr)
                    fail(host_errc::definition_not_found, &inst->id,
                         "instance " + to_string(inst->id) + " runs " + inst->record.definition.to_string() +
                             ", which this host does not have");
            } catch (...) {
                forget(*inst);
                inst->handle.free();  // untouched: let go of the lock as it was
                inst->gate.release();
                throw;
            }
            co_return std::pair{inst, true};
        }
    }

    /// handle_conflicts one operation sits out before it reports one: only a handle of this
    /// host's that never lets go (a bug) gets this far.
    static constexpr int max_conflicts = 50;

    // --- the operations -----------------------------------------------------------------------

    asio::awaitable<uuid> start(workflow_identity identity, variables inputs, std::vector<uuid> keys) {
        check_not_stopping();
        if (inputs.contains(std::string{})) throw std::invalid_argument("an input of async_start has an empty name");
        const workflow_definition* definition = find_definition(identity);
        if (definition == nullptr)
            fail(host_errc::definition_not_found, nullptr, "this host has no definition " + identity.to_string());
        co_await ensure_owner();
        auto inst = std::make_shared<loaded_instance>();
        inst->id = random_uuid();
        inst->definition = definition;
        inst->handle = store.create_instance_handle(owner, inst->id);
        inst->record.definition = definition->identity();
        inst->record.step = definition->first_step();
        inst->record.vars = std::move(inputs);
        co_await inst->gate.acquire();
        loaded[inst->id] = inst;
        loaded_size = loaded.size();
        cmd::save_workflow first;
        first.instance_data = detail::encode(inst->record);
        first.definition_identity = inst->record.definition;
        first.execution_status = "Executing";
        first.ready_to_run = true;
        for (const auto& key : keys) first.instance_keys_to_associate[key] = {};
        try {
            co_await store.async_execute(inst->handle, std::move(first));
        } catch (...) {
            forget(*inst);
            inst->gate.release();
            throw;
        }
        // The gate passes to the first steps: an operation on the instance that arrives once the
        // start is acknowledged (a status query, say) waits for them to reach a persistence point.
        spawn(run_started(inst));
        co_return inst->id;
    }

    /// Runs a started instance's first steps; the caller acquired its gate.
    asio::awaitable<void> run_started(std::shared_ptr<loaded_instance> inst) {
        gate_hold hold(inst->gate);
        if (inst->dropped || inst->record.status != run_status::running) co_return;
        co_await drive(inst);
    }

    asio::awaitable<instance_status> status_op(op_kind kind, target_ref t, std::string text, value payload) {
        if (kind != op_kind::status) check_not_stopping();
        std::pair<std::shared_ptr<loaded_instance>, bool> got;
        try {
            got = co_await obtain(t);
        } catch (const store_error& e) {
            // A completed instance the store kept: a status query says so; others fail as they are.
            if (kind == op_kind::status && (e.code() == errc::instance_completed || e.code() == errc::key_completed)) {
                instance_status s;
                s.status = run_status::completed;
                if (e.diag().instance_id) s.instance_id = *e.diag().instance_id;
                else if (!t.is_key) s.instance_id = t.id;
                co_return s;
            }
            throw;
        }
        auto [inst, loaded_now] = std::move(got);
        gate_hold hold(inst->gate);
        instance_record& r = inst->record;
        try {
            switch (kind) {
                case op_kind::status: break;
                case op_kind::resume: co_await resume(inst, std::move(text), std::move(payload)); loaded_now = false; break;
                case op_kind::suspend: co_await suspend(inst, std::move(text)); loaded_now = false; break;
                case op_kind::unsuspend: co_await unsuspend(inst); loaded_now = false; break;
                case op_kind::terminate: co_await terminate(inst, std::move(text)); loaded_now = false; break;
            }
        } catch (...) {
            // Refused before anything changed: an instance loaded just for this goes back as it was.
            if (loaded_now && !inst->dropped) {
                forget(*inst);
                inst->handle.free();
            }
            throw;
        }
        instance_status status = detail::status_of(inst->id, r, !inst->dropped && loaded.contains(inst->id));
        if (loaded_now && !inst->dropped) {
            // Loaded only to be read: unlock it unchanged (its timer and readiness stay as saved).
            co_await save(*inst, save_mode::unlock);
            status.loaded_here = false;
        }
        co_return status;
    }

    void check_can_change(const loaded_instance& inst) const {
        if (inst.record.is_finished())
            fail(host_errc::instance_not_running, &inst.id,
                 "instance " + to_string(inst.id) + " is " + to_string(inst.record.status));
    }

    asio::awaitable<void> resume(std::shared_ptr<loaded_instance> inst, std::string bookmark, value payload) {
        instance_record& r = inst->record;
        check_can_change(*inst);
        if (r.suspended)
            fail(host_errc::instance_suspended, &inst->id,
                 "instance " + to_string(inst->id) + " is suspended (" + r.suspension_reason + "); unsuspend it first");
        const auto route = std::find_if(r.bookmarks.begin(), r.bookmarks.end(),
                                        [&](const bookmark_route& b) { return b.bookmark == bookmark; });
        if (route == r.bookmarks.end())
            fail(host_errc::bookmark_not_found, &inst->id,
                 "instance " + to_string(inst->id) + " does not wait for bookmark '" + bookmark + "'" +
                     (r.bookmarks.empty() ? std::string(" (it waits for no bookmark)")
                                          : " (it waits for " + bookmark_list(r.bookmarks) + ")"));
        disarm_timers(*inst);
        r.step = route->step;
        r.payload = std::move(payload);
        r.status = run_status::running;
        r.attempt = 1;
        r.bookmarks.clear();
        r.timer_due.reset();
        r.timer_step.clear();
        co_await drive(inst);
    }

    asio::awaitable<void> suspend(std::shared_ptr<loaded_instance> inst, std::string reason) {
        check_can_change(*inst);
        disarm_timers(*inst);
        inst->record.suspended = true;
        inst->record.suspension_reason = std::move(reason);
        co_await save(*inst, options.on_idle == idle_action::unload ? save_mode::unlock : save_mode::keep_lock,
                      cmd::suspension_change::suspend);
    }

    asio::awaitable<void> unsuspend(std::shared_ptr<loaded_instance> inst) {
        check_can_change(*inst);
        instance_record& r = inst->record;
        if (!r.suspended) co_return;
        r.suspended = false;
        r.suspension_reason.clear();
        const bool due = r.status == run_status::running || (r.timer_due && *r.timer_due <= now());
        co_await save(*inst, due || options.on_idle != idle_action::unload ? save_mode::keep_lock : save_mode::unlock,
                      cmd::suspension_change::unsuspend);
        if (inst->dropped) co_return;
        if (due) {
            if (r.status == run_status::waiting) take_timer(r);
            co_await drive(inst);
        } else {
            arm_timers(inst);
        }
    }

    asio::awaitable<void> terminate(std::shared_ptr<loaded_instance> inst, std::string reason) {
        check_can_change(*inst);
        disarm_timers(*inst);
        inst->record.status = run_status::terminated;
        inst->record.error = std::move(reason);
        co_await complete(*inst);
    }

    // --- the runnable loop --------------------------------------------------------------------

    asio::awaitable<void> run_loop() {
        while (!stopping) {
            bool owner_failed = false;
            try {
                co_await ensure_owner();
            } catch (const store_error& e) {
                // A store that is down or restarting: keep trying, the host has nothing else to do.
                if (e.code() != condition::transient && e.code() != errc::store_unavailable) throw;
                log("registering the lock owner failed, retrying in 1 s: " + e.diag().to_string());
                owner_failed = true;
            }
            if (owner_failed) {
                co_await pause(std::chrono::seconds{1});
                continue;
            }
            auto owner_handle = store.create_instance_handle(owner);
            std::vector<persistence_event> events;
            bool failed = false;
            try {
                events = co_await store.async_wait_for_events(
                    owner_handle, with_diagnostics(asio::bind_cancellation_slot(run_cancel.slot(), asio::use_awaitable)));
            } catch (const store_error& e) {
                if (stopping || e.code() == asio::error::operation_aborted) break;
                if (e.code() == condition::owner_invalid) continue;  // ensure_owner registers a new one
                log("waiting for runnable instances failed: " + e.diag().to_string());
                failed = true;
            }
            if (failed) {
                co_await pause(std::chrono::seconds{1});
                continue;
            }
            if (std::find(events.begin(), events.end(), persistence_event::has_runnable_workflow) != events.end())
                co_await drain_runnable();
        }
    }

    asio::awaitable<void> pause(std::chrono::milliseconds how_long) {
        asio::steady_timer timer(strand, how_long);
        error_code ignored;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }

    std::size_t runnable_in_flight = 0;
    async_signal runnable_finished;

    /// Try-loads due instances until none is left, keeping at most max_runnable_in_flight busy.
    asio::awaitable<void> drain_runnable() {
        while (!stopping) {
            while (runnable_in_flight >= options.max_runnable_in_flight) co_await runnable_finished.wait();
            auto handle = store.create_instance_handle(owner);
            instance_view view;
            try {
                view = co_await store.async_execute(handle, cmd::try_load_runnable_workflow{});
            } catch (const store_error& e) {
                if (e.code() != condition::owner_invalid)
                    log("loading a runnable instance failed: " + e.diag().to_string());
                co_return;
            }
            if (!view.is_bound_to_instance()) co_return;
            ++runnable_in_flight;
            spawn(run_runnable(std::move(handle), std::move(view)));
        }
    }

    /// An instance the store says is due: a timer, a retry, or one a crashed host left behind.
    asio::awaitable<void> run_runnable(instance_handle handle, instance_view view) {
        struct release_slot {
            impl* self;
            ~release_slot() {
                --self->runnable_in_flight;
                self->runnable_finished.notify_one();
            }
        } slot{this};
        auto inst = std::make_shared<loaded_instance>();
        inst->id = *view.instance_id;
        inst->handle = std::move(handle);
        if (loaded.contains(inst->id)) co_return;  // cannot be: the store would not lend it twice
        co_await inst->gate.acquire();
        gate_hold hold(inst->gate);
        loaded[inst->id] = inst;
        loaded_size = loaded.size();
        instance_record& r = inst->record;
        // An instance this host cannot run stays locked by it until it stops: let go of, it would
        // come back first in due order at every try-load and stop the loop from reaching the rest.
        try {
            r = detail::decode(view.data, inst->id);
        } catch (const store_error& e) {
            log(e.diag().message + "; it stays locked by this host, untouched, until the host stops");
            set_aside(*inst);
            co_return;
        }
        inst->definition = find_definition(r.definition);
        if (inst->definition == nullptr) {
            log("runnable instance " + to_string(inst->id) + " runs " + r.definition.to_string() +
                ", which this host does not have; it stays locked by this host, untouched, until the host stops");
            set_aside(*inst);
            co_return;
        }
        if (r.suspended || r.is_finished()) {
            co_await save(*inst, save_mode::unlock);
        } else if (r.status == run_status::running) {
            co_await drive(inst);
        } else if (r.timer_due && *r.timer_due <= now()) {
            take_timer(r);
            co_await drive(inst);
        } else {
            // Left by a crashed host before its timer is due, or waiting for a bookmark only:
            // park it again; the store queues it for its timer.
            co_await save(*inst, save_mode::unlock);
        }
    }

    /// Locks of runnable instances this host cannot run, held so that try-load passes them over.
    std::vector<instance_handle> set_aside_locks;

    void set_aside(loaded_instance& inst) {
        set_aside_locks.push_back(std::move(inst.handle));
        forget(inst);
    }

    // --- stopping -----------------------------------------------------------------------------

    asio::awaitable<void> stop() {
        stopping = true;
        run_cancel.emit(asio::cancellation_type::terminal);
        while (in_flight > 0) co_await task_finished.wait();
        std::vector<std::shared_ptr<loaded_instance>> all;
        for (auto& [id, inst] : loaded) all.push_back(inst);
        std::size_t failed = 0;
        for (auto& inst : all) {
            co_await inst->gate.acquire();
            gate_hold hold(inst->gate);
            if (inst->dropped) continue;
            disarm_timers(*inst);
            try {
                co_await save(*inst, save_mode::unlock);
            } catch (const store_error& e) {
                ++failed;
                log("unloading instance " + to_string(inst->id) + " at shutdown failed: " + e.diag().to_string());
            }
        }
        for (auto& handle : set_aside_locks) handle.free();
        set_aside_locks.clear();
        if (owner && owner.is_valid()) {
            auto owner_handle = store.create_instance_handle(owner);
            co_await store.async_execute(std::move(owner_handle), cmd::delete_workflow_owner{});
        }
        if (failed > 0)
            fail(host_errc::host_stopped, nullptr,
                 std::to_string(failed) + " instance(s) could not be unloaded at shutdown; their last saved state stays");
    }

    template <class T, class Handler>
    static void complete_with(asio::any_io_executor fallback, Handler handler, diagnostics* diag, std::exception_ptr ep, T value) {
        error_code ec;
        if (ep) ec = to_error(ep, diag);
        auto ex = asio::get_associated_executor(handler, fallback);
        asio::dispatch(ex, [h = std::move(handler), ec, v = std::move(value)]() mutable { std::move(h)(ec, std::move(v)); });
    }
};

workflow_host::workflow_host(asio::any_io_executor executor, instance_store& store, host_options options,
                             std::vector<workflow_definition> definitions)
    : impl_(std::make_shared<impl>(std::move(executor), store, std::move(options), std::move(definitions))) {}

workflow_host::~workflow_host() {
    // Pending work keeps impl alive; it finds the host stopped and its instances dropped.
    asio::post(impl_->strand, [self = impl_] {
        self->stopping = true;
        self->run_cancel.emit(asio::cancellation_type::terminal);
        self->drop_all();
    });
}

asio::any_io_executor workflow_host::get_executor() const noexcept { return impl_->executor; }

std::size_t workflow_host::loaded_count() const { return impl_->loaded_size.load(); }

instance_owner workflow_host::owner() const {
    std::lock_guard lock(impl_->owner_mutex);
    return impl_->owner;
}

void workflow_host::initiate_start(workflow_identity definition, variables inputs, std::vector<uuid> keys,
                                   diagnostics* diag, asio::any_completion_handler<start_signature> handler) {
    auto self = impl_;
    asio::co_spawn(self->strand, self->start(std::move(definition), std::move(inputs), std::move(keys)),
                   [self, diag, h = std::move(handler)](std::exception_ptr ep, uuid id) mutable {
                       impl::complete_with(self->executor, std::move(h), diag, ep, id);
                   });
}

void workflow_host::initiate_status(op_kind kind, target t, std::string text, value payload, diagnostics* diag,
                                    asio::any_completion_handler<status_signature> handler) {
    auto self = impl_;
    asio::co_spawn(self->strand, self->status_op(kind, impl::target_ref{t.id, t.is_key}, std::move(text), std::move(payload)),
                   [self, diag, h = std::move(handler)](std::exception_ptr ep, instance_status s) mutable {
                       impl::complete_with(self->executor, std::move(h), diag, ep, std::move(s));
                   });
}

void workflow_host::initiate_run(diagnostics* diag, asio::any_completion_handler<done_signature> handler) {
    auto self = impl_;
    auto body = [self]() -> asio::awaitable<void> {
        if (self->running) fail(host_errc::already_running, nullptr, "async_run was called while the host runs");
        self->check_not_stopping();
        self->running = true;
        struct not_running {
            impl* s;
            ~not_running() { s->running = false; }
        } guard{self.get()};
        co_await self->run_loop();
    };
    asio::co_spawn(self->strand, body(), [self, diag, h = std::move(handler)](std::exception_ptr ep) mutable {
        error_code ec;
        if (ep) ec = to_error(ep, diag);
        auto ex = asio::get_associated_executor(h, self->executor);
        asio::dispatch(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    });
}

void workflow_host::initiate_stop(diagnostics* diag, asio::any_completion_handler<done_signature> handler) {
    auto self = impl_;
    asio::co_spawn(self->strand, self->stop(), [self, diag, h = std::move(handler)](std::exception_ptr ep) mutable {
        error_code ec;
        if (ep) ec = to_error(ep, diag);
        auto ex = asio::get_associated_executor(h, self->executor);
        asio::dispatch(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    });
}

}  // namespace durable::host
