#pragma once
// Error codes of the store category. Values 1-15 keep the original SQL store's result codes
// (CommandResult), so logs and database functions speak the same numbers; values from 100 on
// are this port's own.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace durable {

using boost::system::error_code;

enum class errc : int {
    // --- the original's result codes -------------------------------------------------------
    instance_not_found = 1,       ///< no such instance, or not initialized (InstanceNotReady)
    instance_locked = 2,          ///< another live owner holds the lock (diagnostics: holder)
    key_collision = 3,            ///< the key belongs to another instance
    key_not_found = 4,            ///< no such key, or not owned by this instance
    instance_exists = 5,          ///< load-or-create by key found the target already initialized
    instance_lock_lost = 6,       ///< the lock this handle held is gone (fencing)
    instance_completed = 7,       ///< the instance is completed
    key_completed = 8,            ///< the key exists but is completed
    stale_instance_version = 10,  ///< this owner re-acquired the lock through another handle
    owner_lease_expired = 11,     ///< this handle's owner's lease has expired
    owner_not_found = 12,         ///< this handle's owner is unknown to the store
    maintenance_in_progress = 13, ///< destructive maintenance holds the store
    identity_not_found = 15,      ///< a definition identity the command names is unknown
    // --- this port's own ---------------------------------------------------------------------
    invalid_command = 100,        ///< the command breaks a validation rule (diagnostics say which)
    invalid_handle = 101,         ///< handle freed, doomed by an earlier error, or of another store
    handle_busy = 102,            ///< a command is already running on this handle
    handle_conflict = 103,        ///< another live handle of this owner is bound to the instance
    not_supported = 104,          ///< the store does not implement this command
    corrupt_data = 110,           ///< stored bytes or a file cannot be decoded
    unsupported_format = 111,     ///< stored data of a newer format version or unknown encoding
    value_too_large = 112,        ///< an encoded bag exceeds store_options::max_bag_bytes
    store_unavailable = 113,      ///< I/O or connection failure; nothing was changed
    schema_mismatch = 120,        ///< the store's schema version is not the one this build knows
    commit_in_doubt = 121,        ///< the connection broke during commit; the outcome is unknown
};

const boost::system::error_category& store_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

/// Groups a host branches on, whatever the store.
enum class condition : int {
    lock_lost = 1,      ///< instance_lock_lost or stale_instance_version: reload before going on
    owner_invalid = 2,  ///< owner_lease_expired or owner_not_found: create a new owner
    transient = 3,      ///< worth retrying as is (store categories declare their members)
};

const boost::system::error_category& condition_category() noexcept;

inline boost::system::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

}  // namespace durable

template <>
struct boost::system::is_error_code_enum<durable::errc> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<durable::condition> : std::true_type {};
