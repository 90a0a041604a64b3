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
    if (state_) detail::release_handle(*state_);
}

namespace detail {

handle_state::~handle_state() { release_handle(*this); }

void release_handle(handle_state& hs) {
    std::shared_ptr<owner_state> owner;
    std::optional<uuid> instance;
    std::int64_t version = -1;
    {
        std::scoped_lock lock(hs.mutex);
        if (!hs.valid) return;
        hs.valid = false;
        if (hs.lock_version >= 0 && hs.owner && hs.instance_id) {
            owner = hs.owner;
            instance = hs.instance_id;
            version = hs.lock_version;
            std::scoped_lock owner_lock(owner->mutex);
            // The slot may have passed to a newer handle that the store gave the lock to since.
            if (auto it = owner->lock_holders.find(*instance);
                it != owner->lock_holders.end() && (it->second.expired() || it->second.lock().get() == &hs))
                owner->lock_holders.erase(it);
            owner->released.push_back({*instance, version});
        }
        hs.lock_version = -1;
    }
    if (!owner || !owner->valid) return;
    if (auto core = hs.core.lock(); core && !core->shut) core->schedule_unlock(std::move(owner), *instance, version);
}

}  // namespace detail
}  // namespace durable
