#pragma once
// instance_record: what the host persists of an instance, and its plain encoding in the store's
// values (see workflow_host.hpp for the names).

#include <durable/host/instance_status.hpp>
#include <durable/instance_value.hpp>

namespace durable::host::detail {

struct instance_record {
    workflow_identity definition;
    run_status status = run_status::running;
    std::string step;
    std::vector<bookmark_route> bookmarks;
    std::optional<timestamp> timer_due;
    std::string timer_step;
    std::int64_t attempt = 1;
    value payload;  ///< of the resume that led into `step`, kept until the step succeeds
    bool suspended = false;
    std::string suspension_reason;
    std::string error;
    variables vars;
    variables outputs;

    bool is_finished() const noexcept {
        return status == run_status::completed || status == run_status::faulted || status == run_status::terminated;
    }
};

property_bag encode(const instance_record& record);

/// Throws store_error(corrupt_data) naming the instance and the value that is missing or of
/// the wrong kind: data this host did not write, or a newer host's.
instance_record decode(const property_bag& data, const uuid& instance_id);

instance_status status_of(const uuid& instance_id, const instance_record& record, bool loaded_here);

}  // namespace durable::host::detail
