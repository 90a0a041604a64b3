#pragma once
// A command as a function call (docs/sql.md, "Which function runs which C++ command"), and the
// command_result row back as the outcome the store_backend contract asks for.

#include "pg_wire.hpp"

#include <durable/store_backend.hpp>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace durable::pg::detail {

enum statement : int {
    st_create_lock_owner,
    st_delete_lock_owner,
    st_extend_lock,
    st_recover_instance_locks,
    st_unlock_instance,
    st_load_instance,
    st_save_instance,
    st_try_load_runnable_instance,
    st_detect_runnable_instances,
    st_get_activatable_workflows,
    st_read_promoted_properties,
    st_get_store_version,
    statement_count
};

/// The call texts for one schema, prepared under stable names ("durable_<function>").
struct statement_texts {
    explicit statement_texts(const std::string& schema);
    const std::string& name(statement s) const { return names[static_cast<std::size_t>(s)]; }
    const std::string& text(statement s) const { return texts[static_cast<std::size_t>(s)]; }

    std::array<std::string, statement_count> names;
    std::array<std::string, statement_count> texts;
};

/// What this backend knows of the instances its handles hold locked: the metadata and keys of
/// the last view, so that a save need not have them sent back (docs/sql.md: a save reports keys
/// and metadata only when they could have changed) and can send the whole metadata when it
/// changes it (which folds pending change bags into one).
struct held_instance {
    std::int64_t version = -1;
    property_bag metadata;
    std::map<uuid, instance_key_view> keys;
};

class held_instances {
public:
    std::optional<held_instance> find(const uuid& id, std::int64_t version) const;
    void put(const uuid& id, held_instance held);
    /// Forgets the entry, if it is for `version` (any version when version < 0).
    void erase(const uuid& id, std::int64_t version);

private:
    mutable std::mutex mutex_;
    std::unordered_map<uuid, held_instance, boost::hash<uuid>> held_;
};

struct command_call {
    statement which = st_get_store_version;
    param_list params;
    /// May be sent again after the connection broke with the call in flight: the function's
    /// effect is idempotent (or recognised, as a bound save's command id is).
    bool retry_when_in_doubt = false;
    /// create_workflow_owner: the id the owner is created with.
    uuid owner_id{};
    /// The instance the command is about, when the request names one (diagnostics of an
    /// outcome in doubt).
    std::optional<uuid> instance_id;
    /// save_workflow: the whole metadata sent in place of the stored one, when it was.
    std::optional<property_bag> new_metadata;
};

/// Builds the call. Fails (value_too_large, invalid_command) without any round trip when the
/// command cannot be sent.
error_code make_call(const command_request& request, const store_options& options, const held_instances& held,
                     command_call& call, diagnostics& diag);

/// Maps the result row of a successful call. `undo`: a load that took a lock but whose result
/// cannot be handed over (a blob over max_bag_bytes, damaged, of a newer format) reports the
/// error; the lock it took must be released again (unlock_call), so the failed load leaves the
/// instance as it found it, as in the embedded stores.
error_code read_outcome(const command_request& request, const store_options& options, const PGresult* result,
                        const command_call& call, held_instances& held, command_outcome& outcome,
                        std::optional<released_lock>& undo);

/// The unlock_instance call that releases `lock` for the request's owner.
command_call unlock_call(const command_request& request, const released_lock& lock);

}  // namespace durable::pg::detail
