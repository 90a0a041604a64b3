#pragma once
// Extension API: the rows a record_store keeps: one record per owner, instance and key. They mirror the
// SQL store's lock_owners_table, instances_table (with the runnable queue entry folded in) and
// keys_table; bags are stored encoded, as the database stores them.

#include <durable/codec.hpp>
#include <durable/value.hpp>
#include <durable/workflow_identity.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace durable::extension {

struct owner_record {
    uuid id{};
    timestamp lease_expires{};
    timestamp created{};
    std::optional<name> workflow_host_type;
    std::string machine_name;
    bool activation_service = false;
    bool deletes_instances_on_completion = true;
    identity_filter filter = identity_filter::exact;
    std::vector<workflow_identity> identities;
    bytes metadata;             ///< readable owner metadata (encoded; empty = none)
    bytes write_only_metadata;  ///< never reported to other hosts
    friend bool operator==(const owner_record&, const owner_record&) = default;
};

struct instance_record {
    uuid id{};
    std::optional<uuid> lock_owner;  ///< valid only while that owner's lease is live
    std::int64_t version = 1;        ///< fencing token: +1 whenever the lock changes owner
    bool initialized = false;
    bool completed = false;
    bool suspended = false;
    bool ready_to_run = false;
    std::optional<timestamp> pending_timer;
    /// Queued as runnable from this time on (the runnable_instances_table row).
    std::optional<timestamp> runnable_time;
    std::optional<name> workflow_host_type;
    std::optional<workflow_identity> identity;
    timestamp creation_time{};
    std::optional<timestamp> last_updated;
    // The four-way data split; empty = no blob.
    bytes read_write_primitive;
    bytes read_write_complex;
    bytes write_only_primitive;
    bytes write_only_complex;
    bytes metadata;
    std::string execution_status;
    std::string blocking_bookmarks;
    std::string suspension_reason;
    std::string suspension_exception_name;
    std::string last_machine_run_on;
    /// The keys of the instance (associated or completed), ascending. The instance record is
    /// the authority on which keys it has: a key record it lists that cannot be read is damage
    /// to report, never a key that is silently absent.
    std::vector<uuid> keys;
    /// Promoted values (durable/promotion.hpp): promotion name -> its values as an encoded bag.
    /// Part of the data: replaced by every save with data, omitted with it (data_omitted).
    std::map<std::string, bytes> promoted;
    /// Set by a store that was asked for the control fields only and left the four data blobs
    /// unread. Such a record may be written back only after the data has been replaced.
    bool data_omitted = false;
    friend bool operator==(const instance_record&, const instance_record&) = default;
};

struct key_record {
    uuid id{};
    uuid instance_id{};
    bool associated = true;
    std::optional<bytes> metadata;  ///< nullopt: not written yet (the first writer wins)
    friend bool operator==(const key_record&, const key_record&) = default;
};

/// Which runnable instances an owner may pick: its host type and identity filter.
struct runnable_filter {
    name workflow_host_type;
    identity_filter filter = identity_filter::exact;
    std::vector<workflow_identity> identities;

    bool matches(const std::optional<name>& host_type,
                 const std::optional<workflow_identity>& identity) const;
};

}  // namespace durable::extension
