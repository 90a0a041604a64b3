#include "fixture.hpp"

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(owners, store_fixture)

BOOST_AUTO_TEST_CASE(create_binds_the_owner_and_reports_metadata) {
    auto& store = new_store();
    auto handle = store.create_instance_handle();
    cmd::create_workflow_owner create;
    create.owner_metadata["host"] = instance_value(std::string("alpha"));
    create.owner_metadata["secret"] = instance_value(std::string("x"), value_options::write_only);
    const auto r = run(store, handle, create);
    r.require_ok();
    BOOST_TEST_REQUIRE(r.view.owner_id.has_value());
    BOOST_TEST((handle.owner().id() == *r.view.owner_id));
    BOOST_TEST(handle.owner().is_valid());
    BOOST_TEST(r.view.owner_metadata.contains("host"));
    BOOST_TEST(!r.view.owner_metadata.contains("secret"), "write-only owner metadata is never reported");
}

BOOST_AUTO_TEST_CASE(one_owner_per_store_and_handle) {
    auto& store = new_store();
    auto owner = make_owner(store);
    run(store, store.create_instance_handle(owner), cmd::create_workflow_owner{}).require_error(errc::invalid_command);
    run(store, instance_handle{}, cmd::create_workflow_owner{}).require_error(errc::invalid_handle);
}

BOOST_AUTO_TEST_CASE(delete_expires_the_owner_and_frees_its_handle) {
    auto& store = new_store();
    auto owner = make_owner(store);
    auto handle = store.create_instance_handle(owner);
    run(store, handle, cmd::delete_workflow_owner{}).require_ok();
    BOOST_TEST(!handle.is_valid());
    BOOST_TEST(!owner.is_valid());
    load(store, random_uuid(), true).require_error(errc::owner_lease_expired);
    // A new owner can be created on the same store once the old one is gone.
    auto second = make_owner(store);
    BOOST_TEST(second.id() != owner.id());
}

BOOST_AUTO_TEST_CASE(lease_renewal_keeps_an_owner_alive) {
    auto& store = new_store();
    make_owner(store);
    const auto lease = options().lease_duration();
    for (int i = 0; i < 4; ++i) {
        clock->advance(lease / 2);
        internal(store, cmd::extend_lock{}).require_ok();
    }
    save_new(store, counter_bag(1));
}

BOOST_AUTO_TEST_CASE(an_expired_owner_is_never_revived) {
    auto& store = new_store();
    auto owner = make_owner(store);
    clock->advance(options().lease_duration() + 1s);
    const auto r = internal(store, cmd::extend_lock{});
    r.require_error(errc::owner_lease_expired);
    BOOST_TEST((r.ec == condition::owner_invalid));
    BOOST_TEST(!owner.is_valid(), "the store marks its owner lost once the store says so");
    // Every later command says the owner is lost, until a new owner is created.
    load(store, random_uuid(), true).require_error(errc::owner_lease_expired);
}

BOOST_AUTO_TEST_CASE(owner_unknown_to_the_store) {
    auto& first = new_store();
    make_owner(first);
    clock->advance(options().lease_duration() + 1s);
    // Another host's recovery pass deletes the expired owner, which held no instance.
    auto& second = new_store();
    make_owner(second);
    internal(second, cmd::recover_instance_locks{}).require_ok();
    internal(first, cmd::extend_lock{}).require_error(errc::owner_not_found);
}

BOOST_AUTO_TEST_SUITE_END()
