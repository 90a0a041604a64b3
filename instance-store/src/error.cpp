#include <durable/error.hpp>

#include <string>

namespace durable {
namespace {

class store_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "durable.store"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::instance_not_found: return "instance not found or not initialized";
            case errc::instance_locked: return "instance is locked by another owner";
            case errc::key_collision: return "instance key is associated with another instance";
            case errc::key_not_found: return "instance key not found";
            case errc::instance_exists: return "instance already exists and is initialized";
            case errc::instance_lock_lost: return "the lock on the instance was lost";
            case errc::instance_completed: return "instance is completed";
            case errc::key_completed: return "instance key is completed";
            case errc::stale_instance_version: return "stale instance version: the lock was re-acquired by another handle";
            case errc::owner_lease_expired: return "the owner's lease has expired";
            case errc::owner_not_found: return "the owner is not known to the store";
            case errc::maintenance_in_progress: return "store maintenance is in progress";
            case errc::identity_not_found: return "definition identity not found";
            case errc::invalid_command: return "invalid command";
            case errc::invalid_handle: return "invalid instance handle";
            case errc::handle_busy: return "another command is running on this handle";
            case errc::handle_conflict: return "another handle of this owner is bound to the instance";
            case errc::not_supported: return "command not supported by this store";
            case errc::corrupt_data: return "stored data is corrupt";
            case errc::unsupported_format: return "stored data has an unsupported format version or encoding";
            case errc::value_too_large: return "value too large";
            case errc::store_unavailable: return "store unavailable";
            case errc::schema_mismatch: return "store schema version mismatch";
            case errc::commit_in_doubt: return "connection lost during commit: outcome unknown";
        }
        return "unknown durable.store error " + std::to_string(ev);
    }

    bool equivalent(int code, const boost::system::error_condition& cond) const noexcept override {
        if (cond.category() != condition_category()) return default_error_condition(code) == cond;
        switch (static_cast<condition>(cond.value())) {
            case condition::lock_lost:
                return code == static_cast<int>(errc::instance_lock_lost) ||
                       code == static_cast<int>(errc::stale_instance_version);
            case condition::owner_invalid:
                return code == static_cast<int>(errc::owner_lease_expired) ||
                       code == static_cast<int>(errc::owner_not_found);
            case condition::transient:
                return code == static_cast<int>(errc::maintenance_in_progress) ||
                       code == static_cast<int>(errc::store_unavailable);
        }
        return false;
    }
};

class condition_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "durable.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
            case condition::lock_lost: return "instance lock lost";
            case condition::owner_invalid: return "instance owner invalid";
            case condition::transient: return "transient failure";
        }
        return "unknown durable.condition " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& store_category() noexcept {
    static const store_category_impl instance;
    return instance;
}

const boost::system::error_category& condition_category() noexcept {
    static const condition_category_impl instance;
    return instance;
}

}  // namespace durable
