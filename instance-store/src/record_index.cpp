#include <durable/internal/record_index.hpp>

namespace durable::extension {

void record_index::update_instance(const uuid& id, const instance_record* record) {
    if (auto it = instances_.find(id); it != instances_.end()) {
        const auto& old = it->second;
        if (old.lock_owner) {
            auto owned = instances_by_owner_.find(*old.lock_owner);
            if (owned != instances_by_owner_.end()) {
                owned->second.erase(id);
                if (owned->second.empty()) instances_by_owner_.erase(owned);
            }
        }
        if (old.runnable_time) runnable_.erase({*old.runnable_time, id});
        instances_.erase(it);
    }
    if (record == nullptr) return;
    indexed_instance entry{record->lock_owner, record->runnable_time, record->workflow_host_type, record->identity};
    if (entry.lock_owner) instances_by_owner_[*entry.lock_owner].insert(id);
    if (entry.runnable_time) runnable_.insert({*entry.runnable_time, id});
    instances_.emplace(id, std::move(entry));
}

void record_index::clear() {
    instances_.clear();
    instances_by_owner_.clear();
    runnable_.clear();
}

std::vector<uuid> record_index::instances_locked_by(const uuid& owner) const {
    auto it = instances_by_owner_.find(owner);
    if (it == instances_by_owner_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

std::optional<uuid> record_index::first_runnable(timestamp due_by, const runnable_filter& filter,
                                                 const std::set<uuid>& passed_over) const {
    for (const auto& [time, id] : runnable_) {
        if (time > due_by) break;
        if (passed_over.contains(id)) continue;
        const auto& entry = instances_.at(id);
        if (filter.matches(entry.host_type, entry.identity)) return id;
    }
    return std::nullopt;
}

std::optional<timestamp> record_index::earliest_runnable(const runnable_filter& filter) const {
    for (const auto& [time, id] : runnable_) {
        const auto& entry = instances_.at(id);
        if (filter.matches(entry.host_type, entry.identity)) return time;
    }
    return std::nullopt;
}

std::vector<std::pair<name, std::int64_t>> record_index::due_runnable_by_host_type(timestamp now) const {
    std::map<name, std::int64_t> counts;
    for (const auto& [time, id] : runnable_) {
        if (time > now) break;
        const auto& entry = instances_.at(id);
        if (entry.host_type) ++counts[*entry.host_type];
    }
    return {counts.begin(), counts.end()};
}

}  // namespace durable::extension
