#pragma once
#include <durable/instance_value.hpp>
#include <durable/uuid.hpp>
#include <durable/value.hpp>
#include <durable/workflow_identity.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace durable::commands {

/// Suspension state change carried by a save (the original's SuspendReason metadata).
enum class suspension_change : unsigned char { none = 0, suspend = 1, unsuspend = 2 };

/// Persists the handle's instance, locking (and if need be creating) it first.
///
/// Validation: the handle is bound to an instance and an owner; complete_instance requires
/// unlock_instance; data holds no deleted markers; a key is listed at most once across
/// associate/complete/free.
///
/// Without instance_data the save is metadata-only (the original's "ensure readiness" save that
/// creates and locks the row): the instance stays uninitialized and timer/status fields are
/// ignored. With instance_data (even an empty bag) the instance becomes initialized.
///
/// Unlocking or completing frees the handle. A save that unlocks an instance that is due (ready
/// to run, or with a timer) queues it as runnable for owners of its host type.
struct save_workflow {
    save_workflow() = default;

    std::optional<property_bag> instance_data;
    property_bag instance_metadata_changes;  ///< deleted markers remove names
    std::map<uuid, property_bag> instance_keys_to_associate;
    std::vector<uuid> instance_keys_to_complete;
    std::vector<uuid> instance_keys_to_free;
    bool unlock_instance = false;
    bool complete_instance = false;

    /// Durable timer: due this long after the store's clock at commit (never a host's clock).
    std::optional<duration> pending_timer;
    /// The workflow has work to do now (the original's Status == "Executing").
    bool ready_to_run = false;
    std::string execution_status;    ///< e.g. "Idle", "Executing", "Closed"; for observers
    std::string blocking_bookmarks;  ///< human-readable bookmark list; for observers
    suspension_change suspension = suspension_change::none;
    std::string suspension_reason;
    std::string suspension_exception_name;

    /// Host type of the instance. When absent, the instance keeps the one it has, or else
    /// takes the saving owner's: the original needed both set by hand, and timers silently
    /// never fired when one was missing.
    std::optional<name> workflow_host_type;
    /// Definition identity of the instance; absent keeps the existing one.
    std::optional<workflow_identity> definition_identity;
};

}  // namespace durable::commands
