// The original's stored-procedure logic (reference sections 3.6, 4, 5, 6) over a record_store.
// Each command runs under the store's exclusive guard against a staged transaction: nothing
// reaches the records unless the whole command succeeds, which gives the embedded stores the
// all-or-nothing behaviour the SQL store gets from a database transaction.

#include <durable/extension/command_engine.hpp>

#include "engine_transaction.hpp"
#include "saturating_time.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace durable::extension {

using detail::saturating_add;

namespace {

/// A failed command: the code, with the diagnostics already filled in by the thrower.
using command_failed = record_error;

/// Damage (a record that exists but cannot be read), as opposed to an I/O failure or a decision.
bool is_damage(const record_error& e) {
    return e.code() == errc::corrupt_data || e.code() == errc::unsupported_format;
}

class engine {
public:
    engine(record_store& records, const store_options& options, const command_request& request, command_outcome& out)
        : tx_(records), options_(options), request_(request), out_(out),
          now_((options.clock ? *options.clock : *default_store_clock()).now()) {}

    /// Runs the command and commits it; returns what remains of the commit (see record_store).
    record_store::commit_completion run() {
        std::visit([this](const auto& cmd) { execute(cmd); }, request_.command);
        return tx_.commit();
    }

private:
    // ---- helpers ------------------------------------------------------------------------

    [[noreturn]] void fail(error_code code, std::string message) { throw command_failed(code, std::move(message)); }

    const uuid& me() const { return *request_.owner_id; }

    owner_record require_live_owner() {
        auto owner = tx_.owner(me());
        if (!owner) fail(errc::owner_not_found, "owner " + to_string(me()) + " is not registered in the store");
        if (owner->lease_expires <= now_)
            fail(errc::owner_lease_expired, "the lease of owner " + to_string(me()) + " has expired");
        return *owner;
    }

    /// Runs `work` for one of many records; when the record turns out to be damaged, reports it
    /// and goes on, so that one bad record never stops recovery, detection or a query for the
    /// rest. Returns false when it passed the record over.
    template <class Work>
    bool unless_damaged(Work&& work) {
        try {
            work();
            return true;
        } catch (const record_error& e) {
            if (!is_damage(e)) throw;  // an I/O failure fails the command: it is not the record's fault
            report_damaged_record(options_, {e.code(), e.what()});
            return false;
        }
    }

    /// Owners whose records can be read; damaged ones are reported and passed over.
    std::vector<owner_record> readable_owners() {
        std::vector<owner_record> owners;
        for (const auto& id : tx_.base().owner_ids())
            unless_damaged([&] {
                if (auto owner = tx_.owner(id)) owners.push_back(std::move(*owner));
            });
        return owners;
    }

    /// The size limit applies to a bag before compression, so it means the same whatever the
    /// encoding, and a load can hold stored blobs to the same bound.
    void require_within_limit(std::size_t payload_bytes, const std::string& what) {
        if (payload_bytes > options_.max_bag_bytes)
            fail(errc::value_too_large, what + " takes " + std::to_string(payload_bytes) +
                                            " bytes before compression, more than store_options::max_bag_bytes (" +
                                            std::to_string(options_.max_bag_bytes) + ")");
    }
    static std::size_t payload_bytes(const bytes& blob) {
        if (blob.empty()) return 0;
        bag_header header;
        std::string why;
        return read_bag_header(blob, header, why) ? 0 : header.payload_bytes;
    }

    /// The entries `include` accepts (all when it is empty); no blob when there are none.
    bytes encode_part(const property_bag& bag, const std::function<bool(const instance_value&)>& include) const {
        if (std::none_of(bag.begin(), bag.end(), [&](const auto& entry) { return !include || include(entry.second); }))
            return {};
        return encode_bag_if(bag, options_.instance_encoding, include);
    }

    bytes encode(const property_bag& bag, const std::string& what) {
        bytes blob = encode_part(bag, {});
        require_within_limit(payload_bytes(blob), what);
        return blob;
    }

    property_bag decode(const bytes& blob, const std::string& what) {
        property_bag bag;
        if (blob.empty()) return bag;
        std::string why;
        // The stored blob is untrusted: the limit bounds what it can make a load allocate.
        if (auto ec = decode_bag(blob, bag, why, options_.max_bag_bytes)) fail(ec, what + ": " + why);
        return bag;
    }

    /// A key record whose metadata stays unwritten when none is given (the first writer wins).
    key_record new_key(const uuid& key_id, const uuid& instance_id, const property_bag& metadata) {
        return key_record{key_id, instance_id, true,
                          metadata.empty() ? std::nullopt : std::optional<bytes>(encode(metadata, "key metadata"))};
    }

    runnable_filter filter_of(const owner_record& owner) const {
        return runnable_filter{owner.workflow_host_type.value_or(name{}), owner.filter, owner.identities};
    }

    instance_record new_instance(const uuid& id) const {
        instance_record r;
        r.id = id;
        r.lock_owner = me();
        r.version = 1;
        r.creation_time = now_;
        return r;
    }

    /// The original's InsertRunnableInstanceEntry: queue an unlocked instance that has work.
    void queue_if_due(instance_record& inst) const {
        if (inst.suspended || inst.completed || !inst.workflow_host_type) return;
        const std::optional<timestamp> due = inst.ready_to_run ? std::optional<timestamp>(now_) : inst.pending_timer;
        if (due && (!inst.runnable_time || *due < *inst.runnable_time)) inst.runnable_time = due;
    }

    /// Queues an instance left locked by an expired owner as runnable now (lock recovery).
    bool queue_orphan(instance_record& inst) const {
        if (!inst.initialized || inst.suspended || inst.completed || inst.runnable_time) return false;
        inst.runnable_time = now_;
        return true;
    }

    /// Queues the initialized instances still locked by `owner` as runnable now, each in its own
    /// right: a damaged one is reported and passed over. Returns whether the owner holds any.
    bool queue_orphans_of(const uuid& owner, int& budget) {
        bool holds_instances = false;
        for (const auto& id : tx_.base().instances_locked_by(owner)) {
            unless_damaged([&] {
                auto inst = tx_.instance(id);
                if (!inst || inst->lock_owner != owner) return;
                holds_instances = true;
                if (budget > 0 && queue_orphan(*inst)) {
                    tx_.put(std::move(*inst));
                    --budget;
                }
            });
        }
        return holds_instances;
    }

    bool released_by_me(const uuid& id, std::int64_t version) const {
        const auto& released = request_.released_locks;
        return std::find(released.begin(), released.end(), released_lock{id, version}) != released.end();
    }

    /// The original's LockInstance decision table (reference 4.2). Returns nullopt when the
    /// instance does not exist and the handle holds no lock: the caller may create it.
    std::optional<instance_record> lock_instance(const uuid& id, bool bound, std::int64_t handle_version,
                                                 bool with_data = true) {
        out_.diag.instance_id = id;
        auto inst = tx_.instance(id, with_data);
        if (!inst) {
            if (bound) {
                out_.diag.instance_version = handle_version;
                fail(errc::instance_lock_lost, "the instance no longer exists");
            }
            return std::nullopt;
        }
        if (inst->completed) fail(errc::instance_completed, "the instance is completed");

        const auto holder = inst->lock_owner;
        const auto holder_record = holder ? tx_.owner(*holder) : std::nullopt;
        const bool holder_live = holder_record && holder_record->lease_expires > now_;
        if (!bound) {
            if (holder_live && *holder != me()) {
                out_.diag.lock_holder = *holder;
                out_.diag.lock_holder_metadata = decode(holder_record->metadata, "metadata of owner " + to_string(*holder));
                fail(errc::instance_locked, "the instance is locked by owner " + to_string(*holder) + " (machine " +
                                                holder_record->machine_name + ")");
            }
            if (holder_live && !released_by_me(id, inst->version)) {
                // Our own live lock, and no handle of ours let go of it: another handle holds it
                // or is taking it right now (the original's code 14). Decided here, before this
                // command writes anything.
                out_.diag.instance_version = inst->version;
                fail(errc::handle_conflict, "another handle of this owner holds the lock on this instance at version " +
                                                std::to_string(inst->version));
            }
            // The lock changes hands (from nobody, from an expired owner, or from a handle of ours
            // that let go of it): the version moves on, fencing out the previous holder and any
            // unlock still on its way for the old version.
            inst->lock_owner = me();
            ++inst->version;
        } else if (holder != me()) {
            out_.diag.instance_version = handle_version;
            fail(errc::instance_lock_lost, "the instance is no longer locked by this owner");
        } else if (inst->version != handle_version) {
            out_.diag.instance_version = inst->version;
            fail(errc::stale_instance_version, "the instance was re-locked at version " + std::to_string(inst->version) +
                                                   " but this handle holds version " + std::to_string(handle_version));
        }
        inst->runnable_time.reset();  // a locked instance leaves the runnable queue
        return inst;
    }

    static bool lists_key(const instance_record& inst, const uuid& key_id) {
        return std::binary_search(inst.keys.begin(), inst.keys.end(), key_id);
    }
    static void list_key(instance_record& inst, const uuid& key_id) {
        const auto at = std::lower_bound(inst.keys.begin(), inst.keys.end(), key_id);
        if (at == inst.keys.end() || *at != key_id) inst.keys.insert(at, key_id);
    }
    static void unlist_key(instance_record& inst, const uuid& key_id) {
        const auto at = std::lower_bound(inst.keys.begin(), inst.keys.end(), key_id);
        if (at != inst.keys.end() && *at == key_id) inst.keys.erase(at);
    }

    void associate_keys(instance_record& inst, const std::map<uuid, property_bag>& keys) {
        for (const auto& [key_id, metadata] : keys) {
            auto existing = tx_.key(key_id);
            if (!existing) {
                tx_.put(new_key(key_id, inst.id, metadata));
                list_key(inst, key_id);
                continue;
            }
            if (existing->instance_id != inst.id) {
                out_.diag.key = key_id;
                out_.diag.conflicting_instance_id = existing->instance_id;
                fail(errc::key_collision, "key " + to_string(key_id) + " is associated with instance " +
                                              to_string(existing->instance_id));
            }
            if (!existing->metadata && !metadata.empty()) {  // key metadata: the first writer wins
                existing->metadata = encode(metadata, "key metadata");
                tx_.put(*existing);
            }
        }
    }

    key_record owned_key(const instance_record& inst, const uuid& key_id) {
        auto existing = tx_.key(key_id);
        if (!existing || existing->instance_id != inst.id || !lists_key(inst, key_id)) {
            out_.diag.key = key_id;
            fail(errc::key_not_found, "key " + to_string(key_id) + " is not associated with this instance");
        }
        return *existing;
    }

    /// The keys the instance lists, each of which must be readable and point back at it: a key
    /// that cannot be read is damage to report, never a key that is silently missing.
    void report_keys(const instance_record& inst) {
        for (const auto& key_id : inst.keys) {
            const auto k = tx_.key(key_id);
            if (!k || k->instance_id != inst.id)
                fail(errc::corrupt_data, "instance " + to_string(inst.id) + " lists key " + to_string(key_id) + ", but " +
                                             (k ? "that key belongs to instance " + to_string(k->instance_id)
                                                : std::string("no record of that key exists")));
            instance_key_view view;
            view.key = k->id;
            view.state = k->associated ? instance_key_state::associated : instance_key_state::completed;
            if (k->metadata) view.metadata = decode(*k->metadata, "metadata of key " + to_string(k->id));
            view.metadata_consistency = value_consistency::none;
            out_.view.keys.emplace(k->id, std::move(view));
        }
        out_.view.keys_consistency = value_consistency::none;
    }

    static instance_state state_of(const instance_record& inst) {
        if (inst.completed) return instance_state::completed;
        return inst.initialized ? instance_state::initialized : instance_state::uninitialized;
    }

    /// Fills the view as a load does: readable data, metadata and keys, all authoritative.
    void report_loaded(const instance_record& inst) {
        auto& v = out_.view;
        v.instance_id = inst.id;
        v.lock_version = inst.version;
        v.state = state_of(inst);
        const std::string what = "instance " + to_string(inst.id);
        v.data = decode(inst.read_write_primitive, what + " data");
        v.data.merge(decode(inst.read_write_complex, what + " data"));
        v.data_consistency = value_consistency::none;
        v.metadata = decode(inst.metadata, what + " metadata");
        v.metadata_consistency = value_consistency::none;
        report_keys(inst);
    }

    /// LoadInstance with operation type LoadOrCreateByInstance (accepting) or LoadByInstance.
    void load_by_instance(const uuid& id, bool accept_uninitialized, bool bound, std::int64_t version) {
        auto inst = lock_instance(id, bound, version);
        if (!inst) {
            if (!accept_uninitialized) fail(errc::instance_not_found, "no instance with this id exists");
            inst = new_instance(id);
        }
        if (!inst->initialized && !accept_uninitialized)
            fail(errc::instance_not_found, "the instance exists but has not been initialized by a save with data");
        report_loaded(*inst);
        tx_.put(std::move(*inst));
    }

    // ---- commands -----------------------------------------------------------------------

    void execute(const commands::create_workflow_owner& cmd) {
        owner_record owner;
        owner.id = random_uuid();
        owner.created = now_;
        owner.lease_expires = saturating_add(now_, options_.lease_duration());
        owner.workflow_host_type = cmd.workflow_host_type;
        owner.machine_name = options_.machine_name;
        owner.activation_service = cmd.activation_service;
        owner.deletes_instances_on_completion = options_.completion_action == instance_completion_action::delete_all;
        owner.filter = cmd.filter;
        owner.identities = cmd.definition_identities;
        auto readable = readable_part(cmd.owner_metadata);
        property_bag write_only;
        for (const auto& [k, v] : cmd.owner_metadata)
            if (v.is_write_only()) write_only.emplace(k, v);
        owner.metadata = encode(readable, "owner metadata");
        owner.write_only_metadata = encode(write_only, "owner metadata");
        tx_.put(owner);
        out_.view.owner_id = owner.id;
        out_.view.owner_metadata = std::move(readable);
        out_.view.owner_metadata_consistency = value_consistency::none;
    }

    void execute(const commands::delete_workflow_owner&) {
        auto owner = tx_.owner(me());
        if (!owner) fail(errc::owner_not_found, "owner " + to_string(me()) + " is not registered in the store");
        // Expire at once; and rather than wait for the next recovery pass, queue the owner's
        // instances now, so a graceful shutdown hands work over immediately.
        owner->lease_expires = std::min(owner->lease_expires, now_);
        tx_.put(*owner);
        int unbounded = std::numeric_limits<int>::max();
        queue_orphans_of(me(), unbounded);
    }

    void execute(const commands::extend_lock&) {
        auto owner = require_live_owner();  // an expired owner is never revived
        owner.lease_expires = saturating_add(now_, options_.lease_duration());
        tx_.put(owner);
    }

    void execute(const commands::recover_instance_locks&) {
        require_live_owner();
        int budget = 1000;  // instances queued per pass, bounded as the original's TOP(1000)
        for (const auto& owner : readable_owners()) {
            if (owner.lease_expires > now_) continue;
            if (!queue_orphans_of(owner.id, budget)) tx_.erase_owner(owner.id);
        }
    }

    void execute(const commands::detect_runnable_instances&) {
        const auto owner = require_live_owner();
        out_.view.store_time = now_;
        if (owner.workflow_host_type) out_.view.next_runnable_time = tx_.base().earliest_runnable(filter_of(owner));
    }

    void execute(const commands::unlock_instance& cmd) {
        auto owner = tx_.owner(me());
        if (!owner || owner->lease_expires <= now_) return;  // the lock is void already
        auto inst = tx_.instance(cmd.instance_id);
        if (!inst || inst->lock_owner != me() || inst->version != cmd.instance_version) return;
        inst->lock_owner.reset();
        queue_if_due(*inst);
        tx_.put(std::move(*inst));
    }

    void execute(const commands::load_workflow& cmd) {
        require_live_owner();
        load_by_instance(*request_.instance_id, cmd.accept_uninitialized_instance, request_.lock_version >= 0,
                         request_.lock_version);
    }

    void execute(const commands::load_workflow_by_instance_key& cmd) {
        require_live_owner();
        out_.diag.key = cmd.lookup_instance_key;
        const auto key = tx_.key(cmd.lookup_instance_key);
        uuid target{};
        if (!key) {
            if (!cmd.associate_instance_key_to_instance_id)
                fail(errc::key_not_found, "no instance is associated with key " + to_string(cmd.lookup_instance_key));
            target = *cmd.associate_instance_key_to_instance_id;
        } else if (!key->associated) {
            out_.diag.instance_id = key->instance_id;
            fail(errc::key_completed, "key " + to_string(cmd.lookup_instance_key) + " is completed");
        } else {
            target = key->instance_id;
        }

        // Every decision comes before the first write, so a refused load leaves nothing behind.
        auto inst = lock_instance(target, false, -1);
        if (!inst) {
            if (key) fail(errc::corrupt_data, "key " + to_string(cmd.lookup_instance_key) + " leads to instance " +
                                                  to_string(target) + ", which does not exist");
            if (!cmd.accept_uninitialized_instance) fail(errc::instance_not_found, "the instance does not exist");
            inst = new_instance(target);
        }
        if (key && !lists_key(*inst, key->id))
            fail(errc::corrupt_data, "key " + to_string(key->id) + " leads to instance " + to_string(target) +
                                         ", which does not list that key");
        if (!key && inst->initialized)
            fail(errc::instance_exists, "load-or-create by key: instance " + to_string(target) +
                                            " is already initialized and does not hold key " +
                                            to_string(cmd.lookup_instance_key));
        if (!inst->initialized && !cmd.accept_uninitialized_instance)
            fail(errc::instance_not_found, "the instance the key leads to has not been initialized");
        if (!key) {
            const auto md = cmd.instance_keys_to_associate.find(cmd.lookup_instance_key);
            tx_.put(new_key(cmd.lookup_instance_key, target,
                            md == cmd.instance_keys_to_associate.end() ? property_bag{} : md->second));
            list_key(*inst, cmd.lookup_instance_key);
        }
        auto more_keys = cmd.instance_keys_to_associate;
        more_keys.erase(cmd.lookup_instance_key);
        associate_keys(*inst, more_keys);
        out_.diag.key.reset();
        report_loaded(*inst);
        tx_.put(std::move(*inst));
    }

    void execute(const commands::save_workflow& cmd) {
        const auto owner = require_live_owner();
        const uuid& id = *request_.instance_id;
        // A save that carries data replaces all of it: the old data need not be read.
        auto inst = lock_instance(id, request_.lock_version >= 0, request_.lock_version, !cmd.instance_data);
        if (!inst) inst = new_instance(id);

        auto& v = out_.view;
        v.instance_id = id;
        if (cmd.complete_instance && owner.deletes_instances_on_completion) {
            for (const auto& key_id : inst->keys) tx_.erase_key(key_id);
            tx_.erase_instance(id);
            v.state = instance_state::completed;
            v.keys_consistency = value_consistency::none;
            return;
        }

        if (cmd.definition_identity) inst->identity = cmd.definition_identity;
        if (cmd.workflow_host_type)
            inst->workflow_host_type = cmd.workflow_host_type;
        else if (!inst->workflow_host_type)
            inst->workflow_host_type = owner.workflow_host_type;

        if (cmd.instance_data) {
            // The four-way split of partition(), encoded straight from the command's bag.
            const auto part = [&](bool write_only, bool primitive) {
                return encode_part(*cmd.instance_data, [=](const instance_value& candidate) {
                    return candidate.is_write_only() == write_only && is_primitive(candidate.get()) == primitive;
                });
            };
            inst->read_write_primitive = part(false, true);
            inst->read_write_complex = part(false, false);
            inst->write_only_primitive = part(true, true);
            inst->write_only_complex = part(true, false);
            require_within_limit(payload_bytes(inst->read_write_primitive) + payload_bytes(inst->read_write_complex) +
                                     payload_bytes(inst->write_only_primitive) + payload_bytes(inst->write_only_complex),
                                 "instance data");
            inst->promoted.clear();
            for (const auto& [promotion_name, values] : request_.promoted)
                inst->promoted.emplace(promotion_name, encode(values, "promoted values of '" + promotion_name + "'"));
            inst->data_omitted = false;  // all four parts and the promoted values replaced
            inst->initialized = true;
            inst->pending_timer =
                cmd.pending_timer ? std::optional<timestamp>(saturating_add(now_, *cmd.pending_timer)) : std::nullopt;
            inst->ready_to_run = cmd.ready_to_run;
            inst->execution_status = cmd.execution_status;
            inst->blocking_bookmarks = cmd.blocking_bookmarks;
            inst->last_machine_run_on = options_.machine_name;
        }
        switch (cmd.suspension) {
            case commands::suspension_change::none: break;
            case commands::suspension_change::suspend:
                inst->suspended = true;
                inst->suspension_reason = cmd.suspension_reason;
                inst->suspension_exception_name = cmd.suspension_exception_name;
                break;
            case commands::suspension_change::unsuspend:
                inst->suspended = false;
                inst->suspension_reason.clear();
                inst->suspension_exception_name.clear();
                break;
        }
        auto metadata = decode(inst->metadata, "instance " + to_string(id) + " metadata");
        if (!cmd.instance_metadata_changes.empty()) {
            apply_changes(metadata, cmd.instance_metadata_changes);
            metadata = readable_part(metadata);  // write-only metadata is not stored, as in the original
            inst->metadata = encode(metadata, "instance metadata");
        }

        const bool release = cmd.unlock_instance || cmd.complete_instance;
        inst->completed = cmd.complete_instance;
        inst->lock_owner = release ? std::nullopt : std::optional<uuid>(me());
        inst->last_updated = now_;
        associate_keys(*inst, cmd.instance_keys_to_associate);
        for (const auto& k : cmd.instance_keys_to_complete) {
            auto key = owned_key(*inst, k);
            key.associated = false;
            tx_.put(key);
        }
        for (const auto& k : cmd.instance_keys_to_free) {
            tx_.erase_key(owned_key(*inst, k).id);
            unlist_key(*inst, k);
        }
        if (cmd.unlock_instance && !cmd.complete_instance) queue_if_due(*inst);
        v.lock_version = release ? -1 : inst->version;
        v.state = state_of(*inst);
        report_keys(*inst);
        tx_.put(std::move(*inst));

        if (cmd.instance_data) {
            v.data = readable_part(*cmd.instance_data);
            v.data_consistency = value_consistency::none;
        }
        v.metadata = std::move(metadata);
        v.metadata_consistency = value_consistency::none;
    }

    void execute(const commands::try_load_runnable_workflow&) {
        const auto owner = require_live_owner();
        if (!owner.workflow_host_type)
            fail(errc::invalid_command, "try_load_runnable_workflow requires an owner created with a workflow host type");
        // A candidate that cannot be loaded because it is damaged is reported and passed over,
        // or it would stay first in the queue and block every later try-load.
        std::set<uuid> damaged;
        for (;;) {
            const auto id = tx_.base().first_runnable(now_, filter_of(owner), damaged);
            if (!id) return;  // nothing runnable: an empty result, not an error
            if (unless_damaged([&] { load_by_instance(*id, false, false, -1); })) return;
            tx_.unstage_instance(*id);
            out_ = command_outcome{};
            damaged.insert(*id);
        }
    }

    void execute(const commands::query_promoted_properties& cmd) {
        require_live_owner();
        const auto inst = tx_.instance(cmd.instance_id);
        if (!inst) return;  // never saved, or deleted: no promoted values
        for (const auto& [promotion_name, blob] : inst->promoted)
            out_.view.promoted_properties.emplace(
                promotion_name,
                decode(blob, "promoted values of '" + promotion_name + "' of instance " + to_string(cmd.instance_id)));
    }

    void execute(const commands::query_activatable_workflows&) {
        const auto owner = require_live_owner();
        const auto owners = readable_owners();
        for (const auto& due : tx_.base().due_runnable_by_host_type(now_)) {
            const name& host_type = due.first;  // a plain reference: clang 14 cannot capture bindings
            const bool served_here = std::any_of(owners.begin(), owners.end(), [&](const owner_record& o) {
                return o.lease_expires > now_ && o.machine_name == owner.machine_name && o.workflow_host_type == host_type;
            });
            if (!served_here) out_.view.activatable_workflows.push_back({host_type, due.second});
        }
    }

    engine_transaction tx_;
    const store_options& options_;
    const command_request& request_;
    command_outcome& out_;
    const timestamp now_;
};

}  // namespace

error_code run_engine_command(record_store& records, const store_options& options, const command_request& request,
                              command_outcome& outcome, std::stop_token stop) {
    try {
        record_store::commit_completion complete_commit;
        {
            const auto guard = records.lock_exclusive(std::move(stop));
            complete_commit = engine(records, options, request, outcome).run();
        }
        if (complete_commit) complete_commit();  // outside the guard: other commands go on meanwhile
        return {};
    } catch (const record_error& e) {
        outcome.view = instance_view{};
        outcome.diag.message = e.what();
        return e.code();
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        // Codec or library failures that are not the caller's fault: report, commit nothing.
        outcome.view = instance_view{};
        outcome.diag.message = std::string("store failure: ") + e.what();
        return make_error_code(errc::store_unavailable);
    }
}

}  // namespace durable::extension
