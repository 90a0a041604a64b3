#include "fixture.hpp"

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(keys, store_fixture)

namespace {
cmd::save_workflow associate(const uuid& key, property_bag metadata = {}, bool unlock = true) {
    cmd::save_workflow save;
    save.instance_data = counter_bag(1);
    save.instance_keys_to_associate[key] = std::move(metadata);
    save.unlock_instance = unlock;
    return save;
}
}  // namespace

BOOST_AUTO_TEST_CASE(load_by_key_finds_the_instance) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid(), key = random_uuid();
    property_bag md{{"order", instance_value(std::string("PO-1"))}};
    run(store, store.create_instance_handle(id), associate(key, md)).require_ok();

    auto handle = store.create_instance_handle();
    const auto r = run(store, handle, cmd::load_workflow_by_instance_key(key));
    r.require_ok();
    BOOST_TEST((r.view.instance_id == id));
    BOOST_TEST((handle.instance_id() == id), "the handle is now bound to the instance");
    BOOST_TEST_REQUIRE(r.view.keys.contains(key));
    BOOST_TEST((r.view.keys.at(key).state == instance_key_state::associated));
    BOOST_TEST((r.view.keys.at(key).metadata == md));
}

BOOST_AUTO_TEST_CASE(unknown_key) {
    auto& store = new_store();
    make_owner(store);
    const uuid key = random_uuid();
    const auto r = run(store, store.create_instance_handle(), cmd::load_workflow_by_instance_key(key));
    r.require_error(errc::key_not_found);
    BOOST_TEST((r.diag.key == key));
}

BOOST_AUTO_TEST_CASE(a_key_collides_with_another_instance) {
    auto& store = new_store();
    make_owner(store);
    const uuid first = random_uuid(), second = random_uuid(), key = random_uuid();
    run(store, store.create_instance_handle(first), associate(key)).require_ok();
    const auto r = run(store, store.create_instance_handle(second), associate(key));
    r.require_error(errc::key_collision);
    BOOST_TEST((r.diag.key == key));
    BOOST_TEST((r.diag.conflicting_instance_id == first));
    load(store, second).require_error(errc::instance_not_found);  // nothing of the failed save stayed
    // Re-associating a key the instance already holds is a no-op success.
    auto h = store.create_instance_handle(first);
    run(store, h, associate(key)).require_ok();
}

BOOST_AUTO_TEST_CASE(completed_and_freed_keys) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid(), done_key = random_uuid(), freed_key = random_uuid();
    auto h = store.create_instance_handle(id);
    cmd::save_workflow save = associate(done_key, {}, false);
    save.instance_keys_to_associate[freed_key] = {};
    run(store, h, save).require_ok();

    cmd::save_workflow retire;
    retire.instance_keys_to_complete = {done_key};
    retire.instance_keys_to_free = {freed_key};
    retire.unlock_instance = true;
    const auto saved = run(store, h, retire);
    saved.require_ok();
    BOOST_TEST((saved.view.keys.at(done_key).state == instance_key_state::completed));
    BOOST_TEST(!saved.view.keys.contains(freed_key));

    run(store, store.create_instance_handle(), cmd::load_workflow_by_instance_key(done_key)).require_error(errc::key_completed);
    run(store, store.create_instance_handle(), cmd::load_workflow_by_instance_key(freed_key)).require_error(errc::key_not_found);
}

BOOST_AUTO_TEST_CASE(keys_of_other_instances_cannot_be_completed_or_freed) {
    auto& store = new_store();
    make_owner(store);
    const uuid key = random_uuid();
    run(store, store.create_instance_handle(random_uuid()), associate(key)).require_ok();
    auto [id, h] = save_new(store, counter_bag(1));
    cmd::save_workflow steal;
    steal.instance_keys_to_complete = {key};
    const auto r = run(store, h, steal);
    r.require_error(errc::key_not_found);
    BOOST_TEST((r.diag.key == key));
    cmd::save_workflow free_unknown;
    free_unknown.instance_keys_to_free = {random_uuid()};
    run(store, h, free_unknown).require_error(errc::key_not_found);
}

BOOST_AUTO_TEST_CASE(key_metadata_first_writer_wins) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid(), key = random_uuid();
    auto h = store.create_instance_handle(id);
    run(store, h, associate(key, {}, false)).require_ok();  // associated without metadata
    run(store, h, associate(key, {{"v", instance_value(std::int64_t{1})}}, false)).require_ok();
    const auto r = run(store, h, associate(key, {{"v", instance_value(std::int64_t{2})}}, true));
    r.require_ok();
    BOOST_TEST(std::get<std::int64_t>(r.view.keys.at(key).metadata.at("v").get()) == 1);
}

BOOST_AUTO_TEST_CASE(load_or_create_by_key) {
    auto& store = new_store();
    make_owner(store);
    const uuid key = random_uuid(), id = random_uuid(), extra = random_uuid();
    cmd::load_workflow_by_instance_key create(key);
    create.associate_instance_key_to_instance_id = id;
    create.accept_uninitialized_instance = true;
    create.instance_keys_to_associate[key] = {{"k", instance_value(true)}};
    create.instance_keys_to_associate[extra] = {};
    auto h = store.create_instance_handle();
    const auto r = run(store, h, create);
    r.require_ok();
    BOOST_TEST((r.view.instance_id == id));
    BOOST_TEST((r.view.state == instance_state::uninitialized));
    BOOST_TEST(r.view.keys.size() == 2u);
    BOOST_TEST(r.view.keys.at(key).metadata.contains("k"));

    // Once it exists, the same command loads it rather than creating anything.
    cmd::save_workflow init;
    init.instance_data = counter_bag(9);
    init.unlock_instance = true;
    run(store, h, init).require_ok();
    create.associate_instance_key_to_instance_id = random_uuid();
    const auto again = run(store, store.create_instance_handle(), create);
    again.require_ok();
    BOOST_TEST((again.view.instance_id == id));
    BOOST_TEST(counter_of(again.view) == 9);
}

BOOST_AUTO_TEST_CASE(load_or_create_by_key_onto_an_initialized_instance) {
    auto& store = new_store();
    make_owner(store);
    auto [id, h] = save_new(store, counter_bag(1), true);
    cmd::load_workflow_by_instance_key create(random_uuid());
    create.associate_instance_key_to_instance_id = id;
    create.accept_uninitialized_instance = true;
    const auto r = run(store, store.create_instance_handle(), create);
    r.require_error(errc::instance_exists);
    BOOST_TEST((r.diag.instance_id == id));
}

BOOST_AUTO_TEST_CASE(load_or_create_by_key_races_have_one_creator) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    make_owner(b);
    for (int round = 0; round < 20; ++round) {
        const uuid key = random_uuid();
        auto make = [&] {
            cmd::load_workflow_by_instance_key c(key);
            c.associate_instance_key_to_instance_id = random_uuid();
            c.accept_uninitialized_instance = true;
            return c;
        };
        const auto [ra, rb] = test::exec_both(ioc, a, a.create_instance_handle(), make(), b, b.create_instance_handle(), make());
        BOOST_TEST_REQUIRE((!ra.ec != !rb.ec), "exactly one creates: a=" << ra.ec.message() << " b=" << rb.ec.message());
        const auto& winner = ra.ec ? rb : ra;
        const auto& loser = ra.ec ? ra : rb;
        loser.require_error(errc::instance_locked);
        BOOST_TEST((loser.diag.instance_id == winner.view.instance_id), "the key leads the loser to the winner's instance");
    }
}

BOOST_AUTO_TEST_SUITE_END()
