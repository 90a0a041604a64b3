#pragma once
#include <durable/instance_value.hpp>
#include <durable/uuid.hpp>

#include <map>
#include <optional>

namespace durable::commands {

/// Locks and loads the instance a key leads to, binding the handle to it.
///
/// Validation: the handle is bound to an owner and not to an instance; the lookup key is not
/// nil; with associate_instance_key_to_instance_id, accept_uninitialized_instance must be set;
/// without it, the lookup key may not also be listed in instance_keys_to_associate.
///
/// With associate_instance_key_to_instance_id and an unknown lookup key, that instance is
/// loaded or created and the key associated with it, atomically (load-or-create by key).
struct load_workflow_by_instance_key {
    load_workflow_by_instance_key() = default;
    explicit load_workflow_by_instance_key(uuid lookup) : lookup_instance_key(lookup) {}

    uuid lookup_instance_key{};
    std::optional<uuid> associate_instance_key_to_instance_id;
    /// Further keys to associate with the loaded instance, with their metadata.
    std::map<uuid, property_bag> instance_keys_to_associate;
    bool accept_uninitialized_instance = false;
};

}  // namespace durable::commands
