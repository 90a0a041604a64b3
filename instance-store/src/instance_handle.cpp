#include "store_core.hpp"

namespace durable {

uuid instance_owner::id() const noexcept { return state_ ? state_->id : nil_uuid; }
bool instance_owner::is_valid() const noexcept { return state_ && state_->valid; }

bool instance_handle::is_valid() const noexcept {
    if (!state_) return false;
    std::scoped_lock lock(state_->mutex);
    return state_->valid;
}

std::optional<uuid> instance_handle::instance_id() const {
    if (!state_) return std::nullopt;
    std::scoped_lock lock(state_->mutex);
    return state_->instance_id;
}

instance_owner instance_handle::owner() const {
    if (!state_) return {};
    std::scoped_lock lock(state_->mutex);
    return instance_owner(state_->owner);
}

std::int64_t instance_handle::lock_version() const noexcept {
    if (!state_) return -1;
    std::scoped_lock lock(state_->mutex);
    return state_->lock_version;
}

diagnostics instance_handle::last_diagnostics() const {
    if (!state_) return {};
    std::scoped_lock lock(state_->mutex);
    return state_->last_diagnostics;
}

void instance_handle::free() {
    if (!state_) return;
    std::shared_ptr<detail::owner_state> owner;
    std::optional<uuid> instance;
    std::int64_t version = -1;
    {
        std::scoped_lock lock(state_->mutex);
        if (!state_->valid) return;
        state_->valid = false;
        if (state_->lock_version >= 0 && state_->owner && state_->instance_id) {
            owner = state_->owner;
            instance = state_->instance_id;
            version = state_->lock_version;
            std::scoped_lock owner_lock(owner->mutex);
            owner->lock_holders.erase(*instance);
        }
        state_->lock_version = -1;
    }
    if (!owner || !owner->valid) return;
    if (auto core = state_->core.lock(); core && core->store != nullptr)
        core->schedule_unlock(std::move(owner), *instance, version);
}

}  // namespace durable
