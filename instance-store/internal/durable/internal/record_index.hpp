#pragma once
// Secondary indexes over instance records: instances by lock owner, and the runnable queue
// ordered by due time. The memory store keeps it beside its records;
// the XML store rebuilds it from the files when it opens, so try-load never scans files.

#include <durable/extension/records.hpp>

#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace durable::extension {

class record_index {
public:
    /// Replaces what is indexed for an instance (nullptr removes it).
    void update_instance(const uuid& id, const instance_record* record);
    void clear();

    std::vector<uuid> instances_locked_by(const uuid& owner) const;
    std::optional<uuid> first_runnable(timestamp due_by, const runnable_filter& filter,
                                       const std::set<uuid>& passed_over) const;
    std::optional<timestamp> earliest_runnable(const runnable_filter& filter) const;
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) const;
    std::size_t instance_count() const noexcept { return instances_.size(); }

private:
    struct indexed_instance {
        std::optional<uuid> lock_owner;
        std::optional<timestamp> runnable_time;
        std::optional<name> host_type;
        std::optional<workflow_identity> identity;
    };
    std::unordered_map<uuid, indexed_instance> instances_;
    std::unordered_map<uuid, std::set<uuid>> instances_by_owner_;
    std::set<std::pair<timestamp, uuid>> runnable_;
};

}  // namespace durable::extension
