#pragma once
#include <durable/uuid.hpp>

namespace durable::commands {

/// Reads the promoted values (store_options::promote, durable/promotion.hpp) that the
/// instance's last save with data stored: instance_view::promoted_properties. An instance that
/// does not exist (never saved, or completed and deleted) has none: an empty result, not an
/// error. The instance need not be locked, by anyone.
/// Validation: the handle is bound to an owner and not to an instance; instance_id is not nil.
/// Fails like every owner command when the owner is gone (owner_not_found,
/// owner_lease_expired).
struct query_promoted_properties {
    query_promoted_properties() = default;
    explicit query_promoted_properties(uuid id) : instance_id(id) {}

    uuid instance_id{};
};

}  // namespace durable::commands
