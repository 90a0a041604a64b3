#pragma once
// Extension API: the storage interface the command engine runs on. A store that keeps records
// itself (memory, XML files, a custom embedded store) implements reads, an exclusive guard and an
// atomic commit of a change set; the engine (command_engine.hpp) implements the original's
// semantics once on top, for all of them, and its backend (store_backend.hpp) calls
// run_engine_command. The contract, beyond each function's comment: every read and the commit
// run under the guard lock_exclusive returned; a commit is all or nothing, and durable once its
// completion has run; a read never sees a change that was not committed.

#include <durable/extension/records.hpp>
#include <durable/error.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace durable::extension {

/// Writes of one command; nullopt erases. A change of a key always comes with a change of the
/// instance it belongs to (whose `keys` list it updates), so a store may keep the two together.
struct change_set {
    std::map<uuid, std::optional<owner_record>> owners;
    std::map<uuid, std::optional<instance_record>> instances;
    std::map<uuid, std::optional<key_record>> keys;
    bool empty() const noexcept { return owners.empty() && instances.empty() && keys.empty(); }
};

/// Thrown by a record_store that cannot read or write (I/O failure, corrupt file, a wait for a
/// lock that timed out or was cancelled). The engine turns it into an error code and
/// diagnostics; nothing of the command is committed.
class record_error : public std::runtime_error {
public:
    record_error(error_code code, const std::string& what) : std::runtime_error(what), code_(code) {}
    error_code code() const noexcept { return code_; }

private:
    error_code code_;
};

class record_store {
public:
    virtual ~record_store() = default;

    /// Held for the whole of one command: serialises commands on this store (and, for a store
    /// shared between processes, across them).
    class guard {
    public:
        virtual ~guard() = default;
    };
    /// Throws record_error: operation_aborted once `stop` is requested while waiting,
    /// store_unavailable when the wait times out (naming the lock and, if known, its holder).
    virtual std::unique_ptr<guard> lock_exclusive(std::stop_token stop) = 0;

    // Reads throw record_error: corrupt_data or unsupported_format for a record that exists but
    // cannot be read (damage), store_unavailable for an I/O failure. A damaged record is never
    // reported as absent.
    virtual std::optional<owner_record> find_owner(const uuid& id) = 0;
    /// The ids of every owner record, readable or not (find_owner tells which is damaged).
    virtual std::vector<uuid> owner_ids() = 0;
    /// `with_data` false: the caller will replace the data, so a store may skip reading it
    /// (and then sets instance_record::data_omitted).
    virtual std::optional<instance_record> find_instance(const uuid& id, bool with_data) = 0;
    virtual std::vector<uuid> instances_locked_by(const uuid& owner) = 0;
    virtual std::optional<key_record> find_key(const uuid& id) = 0;

    /// Runnable queue, earliest first: the first entry due by `due_by` that `filter` accepts
    /// and that is not in `passed_over` (instances a try-load found damaged).
    virtual std::optional<uuid> first_runnable(timestamp due_by, const runnable_filter& filter,
                                               const std::set<uuid>& passed_over) = 0;
    /// The earliest runnable time `filter` accepts, due or not.
    virtual std::optional<timestamp> earliest_runnable(const runnable_filter& filter) = 0;
    /// Due entries counted by host type (entries without one are never runnable).
    virtual std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) = 0;

    /// The part of a commit that runs after the exclusive guard is released (fsyncs, renames),
    /// so that slow I/O of one command overlaps the work of the next. Empty when the commit was
    /// complete on return. Throws record_error; until it returns, the commit is not durable.
    using commit_completion = std::function<void()>;

    /// Applies all of `changes` or none of them. Later commands see the changes at once; a store
    /// whose completion is not empty makes any command that reads a changed record wait until
    /// the completion has made it durable, so nothing is ever decided on unacknowledged state.
    /// Takes the changes over, so a store can keep or render records without copying data.
    virtual commit_completion commit(change_set changes) = 0;
};

}  // namespace durable::extension
