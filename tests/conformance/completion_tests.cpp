#include "fixture.hpp"

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(completion, store_fixture)

namespace {
cmd::save_workflow complete_with_key(const uuid& key) {
    cmd::save_workflow save;
    save.instance_data = counter_bag(99);
    save.instance_keys_to_associate[key] = {};
    save.complete_instance = true;
    save.unlock_instance = true;
    return save;
}
}  // namespace

BOOST_AUTO_TEST_CASE(delete_all_removes_the_instance_and_its_keys) {
    auto& store = new_store();  // delete_all is the default
    make_owner(store);
    const uuid id = random_uuid(), key = random_uuid();
    auto handle = store.create_instance_handle(id);
    const auto r = run(store, handle, complete_with_key(key));
    r.require_ok();
    BOOST_TEST((r.view.state == instance_state::completed));
    BOOST_TEST(!handle.is_valid());
    load(store, id).require_error(errc::instance_not_found);
    run(store, store.create_instance_handle(), cmd::load_workflow_by_instance_key(key)).require_error(errc::key_not_found);
}

BOOST_AUTO_TEST_CASE(delete_nothing_keeps_a_completed_instance) {
    auto o = options();
    o.completion_action = instance_completion_action::delete_nothing;
    auto& store = new_store(o);
    make_owner(store);
    const uuid id = random_uuid(), key = random_uuid();
    const auto r = run(store, store.create_instance_handle(id), complete_with_key(key));
    r.require_ok();
    BOOST_TEST((r.view.state == instance_state::completed));

    const auto again = load(store, id);
    again.require_error(errc::instance_completed);
    BOOST_TEST((again.diag.instance_id == id));
    // The key still leads to the instance, which says it is completed.
    run(store, store.create_instance_handle(), cmd::load_workflow_by_instance_key(key)).require_error(errc::instance_completed);
    // A completed instance is never runnable.
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.is_bound_to_instance());
}

BOOST_AUTO_TEST_SUITE_END()
