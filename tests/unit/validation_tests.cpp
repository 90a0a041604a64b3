#include <durable/commands/validation.hpp>

#include <boost/test/unit_test.hpp>

using namespace durable;
using namespace durable::commands;

namespace {
constexpr handle_binding unbound{};
constexpr handle_binding owner_only{true, false, false};
constexpr handle_binding owner_and_instance{true, true, false};

std::string rule_broken(const command& cmd, handle_binding b) {
    std::string why;
    const auto ec = validate(cmd, b, why);
    BOOST_TEST((ec ? ec == errc::invalid_command : why.empty()));
    return why;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(validation)

BOOST_AUTO_TEST_CASE(owner_commands) {
    BOOST_TEST(rule_broken(create_workflow_owner{}, unbound).empty());
    BOOST_TEST(rule_broken(create_workflow_owner{}, owner_only).find("already bound") != std::string::npos);
    BOOST_TEST(!rule_broken(delete_workflow_owner{}, unbound).empty());
    BOOST_TEST(rule_broken(delete_workflow_owner{}, owner_only).empty());
    create_workflow_owner with_deleted;
    with_deleted.owner_metadata["x"] = instance_value::deleted();
    BOOST_TEST(rule_broken(with_deleted, unbound).find("deleted") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_requires_instance_and_owner) {
    BOOST_TEST(!rule_broken(load_workflow{}, owner_only).empty());
    BOOST_TEST(!rule_broken(load_workflow{}, {false, true, false}).empty());
    BOOST_TEST(rule_broken(load_workflow{}, owner_and_instance).empty());
}

BOOST_AUTO_TEST_CASE(load_by_key_rules) {
    const uuid key = random_uuid();
    load_workflow_by_instance_key cmd(key);
    BOOST_TEST(rule_broken(cmd, owner_only).empty());
    BOOST_TEST(!rule_broken(cmd, owner_and_instance).empty());
    BOOST_TEST(rule_broken(load_workflow_by_instance_key{}, owner_only).find("nil") != std::string::npos);

    auto lookup_also_associated = cmd;
    lookup_also_associated.instance_keys_to_associate[key] = {};
    BOOST_TEST(rule_broken(lookup_also_associated, owner_only).find("lookup key") != std::string::npos);
    lookup_also_associated.associate_instance_key_to_instance_id = random_uuid();
    BOOST_TEST(rule_broken(lookup_also_associated, owner_only).find("accept_uninitialized") != std::string::npos);
    lookup_also_associated.accept_uninitialized_instance = true;
    BOOST_TEST(rule_broken(lookup_also_associated, owner_only).empty());
}

BOOST_AUTO_TEST_CASE(save_rules) {
    save_workflow save;
    BOOST_TEST(!rule_broken(save, owner_only).empty());
    BOOST_TEST(rule_broken(save, owner_and_instance).empty());
    save.complete_instance = true;
    BOOST_TEST(rule_broken(save, owner_and_instance).find("requires unlock") != std::string::npos);
    save.unlock_instance = true;
    BOOST_TEST(rule_broken(save, owner_and_instance).empty());

    save_workflow deleted_in_data;
    deleted_in_data.instance_data = property_bag{{"x", instance_value::deleted()}};
    BOOST_TEST(!rule_broken(deleted_in_data, owner_and_instance).empty());

    save_workflow deleted_in_metadata_changes;
    deleted_in_metadata_changes.instance_metadata_changes["x"] = instance_value::deleted();
    BOOST_TEST(rule_broken(deleted_in_metadata_changes, owner_and_instance).empty());

    save_workflow twice;
    const uuid key = random_uuid();
    twice.instance_keys_to_complete = {key};
    twice.instance_keys_to_free = {key};
    BOOST_TEST(rule_broken(twice, owner_and_instance).find("more than once") != std::string::npos);

    save_workflow negative_timer;
    negative_timer.pending_timer = duration{-1};
    BOOST_TEST(!rule_broken(negative_timer, owner_and_instance).empty());
}

BOOST_AUTO_TEST_CASE(runnable_and_activatable_rules) {
    BOOST_TEST(rule_broken(try_load_runnable_workflow{}, owner_only).empty());
    BOOST_TEST(!rule_broken(try_load_runnable_workflow{}, owner_and_instance).empty());
    BOOST_TEST(!rule_broken(try_load_runnable_workflow{}, unbound).empty());
    BOOST_TEST(rule_broken(query_activatable_workflows{}, owner_only).empty());
    BOOST_TEST(!rule_broken(query_activatable_workflows{}, owner_and_instance).empty());
    BOOST_TEST(!rule_broken(unlock_instance{}, owner_only).empty());
    BOOST_TEST(rule_broken(unlock_instance{random_uuid(), 3}, owner_only).empty());
}

BOOST_AUTO_TEST_CASE(command_names) {
    BOOST_TEST(std::string(command_name(save_workflow{})) == "save_workflow");
    BOOST_TEST(std::string(command_name(unlock_instance{})) == "unlock_instance");
}

BOOST_AUTO_TEST_SUITE_END()
