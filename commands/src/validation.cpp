// The Validate rules of the original's commands (reference section 2), plus the bag rules of
// InstanceValue: no deleted markers outside change bags, no empty names.

#include <durable/commands/validation.hpp>

#include <set>

namespace durable::commands {
namespace {

bool bag_has_deleted(const property_bag& bag) {
    for (const auto& [key, v] : bag)
        if (v.is_deleted()) return true;
    return false;
}

bool bag_has_empty_name(const property_bag& bag) {
    for (const auto& [key, v] : bag)
        if (key.local.empty()) return true;
    return false;
}

class rules {
public:
    rules(const handle_binding& b, std::string& why) : b_(b), why_(why) {}

    bool require_owner() { return check(b_.owner, "the handle must be bound to an instance owner"); }
    bool require_no_owner() { return check(!b_.owner, "the handle is already bound to an instance owner"); }
    bool require_instance() { return check(b_.instance, "the handle must be bound to an instance"); }
    bool require_no_instance() { return check(!b_.instance, "the handle must not be bound to an instance"); }
    bool plain_bag(const property_bag& bag, const char* what) {
        return check(!bag_has_deleted(bag), std::string(what) + " may not contain deleted-value markers") &&
               check(!bag_has_empty_name(bag), std::string(what) + " has a property with an empty name");
    }
    bool change_bag(const property_bag& bag, const char* what) {
        return check(!bag_has_empty_name(bag), std::string(what) + " has a property with an empty name");
    }
    bool check(bool ok, const std::string& rule) {
        if (!ok && why_.empty()) why_ = rule;
        return ok;
    }

private:
    const handle_binding& b_;
    std::string& why_;
};

bool check(rules& r, const create_workflow_owner& c) {
    return r.require_no_owner() && r.plain_bag(c.owner_metadata, "owner metadata") &&
           r.check(!c.workflow_host_type || !c.workflow_host_type->local.empty(), "the workflow host type has an empty name") &&
           r.check(!(c.activation_service && !c.definition_identities.empty()),
                   "an activation service owner cannot also carry definition identities");
}

bool check(rules& r, const delete_workflow_owner&) { return r.require_owner(); }

bool check(rules& r, const load_workflow&) { return r.require_instance() && r.require_owner(); }

bool check(rules& r, const load_workflow_by_instance_key& c) {
    if (!(r.require_owner() && r.require_no_instance())) return false;
    if (!r.check(c.lookup_instance_key != nil_uuid, "the lookup instance key must not be nil")) return false;
    for (const auto& [key, md] : c.instance_keys_to_associate)
        if (!(r.check(key != nil_uuid, "a key to associate is nil") && r.plain_bag(md, "key metadata"))) return false;
    if (c.associate_instance_key_to_instance_id) {
        return r.check(*c.associate_instance_key_to_instance_id != nil_uuid,
                       "associate_instance_key_to_instance_id must not be nil") &&
               r.check(c.accept_uninitialized_instance,
                       "associate_instance_key_to_instance_id requires accept_uninitialized_instance");
    }
    return r.check(!c.instance_keys_to_associate.contains(c.lookup_instance_key),
                   "the lookup key may not also be associated unless associate_instance_key_to_instance_id is given");
}

bool check(rules& r, const save_workflow& c) {
    if (!(r.require_instance() && r.require_owner())) return false;
    if (!r.check(!c.complete_instance || c.unlock_instance, "complete_instance requires unlock_instance")) return false;
    if (c.instance_data && !r.plain_bag(*c.instance_data, "instance data")) return false;
    if (!r.change_bag(c.instance_metadata_changes, "instance metadata changes")) return false;
    if (!r.check(!c.pending_timer || c.pending_timer->count() >= 0, "pending_timer must not be negative")) return false;
    std::set<uuid> seen;
    for (const auto& [key, md] : c.instance_keys_to_associate) {
        if (!(r.check(key != nil_uuid, "a key to associate is nil") && r.plain_bag(md, "key metadata"))) return false;
        seen.insert(key);
    }
    for (const auto* list : {&c.instance_keys_to_complete, &c.instance_keys_to_free})
        for (const auto& key : *list)
            if (!r.check(seen.insert(key).second, "key " + to_string(key) + " is listed more than once in one save"))
                return false;
    return true;
}

bool check(rules& r, const try_load_runnable_workflow&) { return r.require_owner() && r.require_no_instance(); }
bool check(rules& r, const query_activatable_workflows&) { return r.require_owner() && r.require_no_instance(); }
bool check(rules& r, const query_promoted_properties& c) {
    return r.require_owner() && r.require_no_instance() &&
           r.check(c.instance_id != nil_uuid, "query_promoted_properties needs an instance id");
}
bool check(rules& r, const extend_lock&) { return r.require_owner(); }
bool check(rules& r, const recover_instance_locks&) { return r.require_owner(); }
bool check(rules& r, const detect_runnable_instances&) { return r.require_owner(); }
bool check(rules& r, const unlock_instance& c) {
    return r.require_owner() && r.check(c.instance_id != nil_uuid, "unlock_instance needs an instance id") &&
           r.check(c.instance_version >= 0, "unlock_instance needs the lock version to release");
}

}  // namespace

error_code validate(const command& cmd, const handle_binding& binding, std::string& why) {
    why.clear();
    rules r(binding, why);
    const bool ok = std::visit([&r](const auto& c) { return check(r, c); }, cmd);
    return ok ? error_code{} : make_error_code(errc::invalid_command);
}

}  // namespace durable::commands
