#include "fixture.hpp"

#include <test_common/values.hpp>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(save_and_load, store_fixture)

BOOST_AUTO_TEST_CASE(data_of_every_kind_survives_unload_and_load) {
    auto& store = new_store();
    make_owner(store);
    const auto data = test::every_kind_bag();
    auto [id, handle] = save_new(store, data, /*unlock=*/true);
    BOOST_TEST(!handle.is_valid(), "unlocking frees the handle");

    const auto r = load(store, id);
    r.require_ok();
    BOOST_TEST((r.view.state == instance_state::initialized));
    BOOST_TEST((r.view.data == data));
    BOOST_TEST((r.view.data_consistency == value_consistency::none));
    BOOST_TEST(r.view.is_bound_to_lock());
    BOOST_TEST((r.view.instance_id == id));
}

BOOST_AUTO_TEST_CASE(write_only_values_never_come_back) {
    auto& store = new_store();
    make_owner(store);
    property_bag data;
    data["status"] = instance_value(std::string("Idle"), value_options::write_only);
    data["blob"] = instance_value(opaque{"application/x-secret", {1, 2}}, value_options::write_only);
    data["kept"] = instance_value(std::int64_t{7});
    auto [id, handle] = save_new(store, data, true);
    const auto r = load(store, id);
    r.require_ok();
    BOOST_TEST(r.view.data.size() == 1u);
    BOOST_TEST(r.view.data.contains("kept"));
}

BOOST_AUTO_TEST_CASE(saves_replace_data_and_keep_the_lock) {
    auto& store = new_store();
    make_owner(store);
    auto [id, handle] = save_new(store, counter_bag(1));
    const auto version = handle.lock_version();
    BOOST_TEST(version >= 1);
    for (std::int64_t n = 2; n <= 5; ++n) {
        cmd::save_workflow save;
        save.instance_data = counter_bag(n);
        const auto r = run(store, handle, save);
        r.require_ok();
        BOOST_TEST(r.view.lock_version == version, "saving under a held lock keeps its version");
    }
    handle.free();
    drain();
    auto& other = new_store();
    make_owner(other);
    BOOST_TEST(counter_of(load(other, id).require_ok().view) == 5, "freeing the handle unlocked the instance");
}

BOOST_AUTO_TEST_CASE(metadata_only_save_creates_an_uninitialized_instance) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid();
    cmd::save_workflow ensure_ready;
    ensure_ready.instance_metadata_changes["type"] = instance_value(std::string("order"));
    ensure_ready.unlock_instance = true;
    const auto saved = run(store, store.create_instance_handle(id), ensure_ready);
    saved.require_ok();
    BOOST_TEST((saved.view.state == instance_state::uninitialized));

    load(store, id).require_error(errc::instance_not_found);
    const auto r = load(store, id, /*accept_uninitialized=*/true);
    r.require_ok();
    BOOST_TEST((r.view.state == instance_state::uninitialized));
    BOOST_TEST(r.view.data.empty());
    BOOST_TEST(std::get<std::string>(r.view.metadata.at("type").get()) == "order");
}

BOOST_AUTO_TEST_CASE(load_of_a_missing_instance) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid();
    const auto missing = load(store, id);
    missing.require_error(errc::instance_not_found);
    BOOST_TEST((missing.diag.instance_id == id));
    BOOST_TEST(missing.diag.command == "load_workflow");
    const auto created = load(store, id, true);
    created.require_ok();
    BOOST_TEST((created.view.state == instance_state::uninitialized));
}

BOOST_AUTO_TEST_CASE(metadata_changes_merge_and_delete) {
    auto& store = new_store();
    make_owner(store);
    auto [id, handle] = save_new(store, counter_bag(1));
    cmd::save_workflow first;
    first.instance_metadata_changes["a"] = instance_value(std::int64_t{1});
    first.instance_metadata_changes["b"] = instance_value(std::int64_t{2});
    first.instance_metadata_changes["hidden"] = instance_value(std::int64_t{3}, value_options::write_only);
    run(store, handle, first).require_ok();
    cmd::save_workflow second;
    second.instance_metadata_changes["a"] = instance_value::deleted();
    second.instance_metadata_changes["c"] = instance_value(std::int64_t{4});
    second.unlock_instance = true;
    run(store, handle, second).require_ok();

    const auto r = load(store, id);
    r.require_ok();
    BOOST_TEST(!r.view.metadata.contains("a"));
    BOOST_TEST(r.view.metadata.contains("b"));
    BOOST_TEST(r.view.metadata.contains("c"));
    BOOST_TEST(!r.view.metadata.contains("hidden"), "write-only metadata is not stored");
    BOOST_TEST(counter_of(r.view) == 1, "a metadata-only save leaves the data alone");
}

BOOST_AUTO_TEST_CASE(oversize_data_is_refused_and_nothing_changes) {
    auto o = options();
    o.max_bag_bytes = 4096;
    o.instance_encoding = encoding::none;
    auto& store = new_store(o);
    make_owner(store);
    auto [id, handle] = save_new(store, counter_bag(1));
    cmd::save_workflow big;
    big.instance_data = property_bag{{"blob", instance_value(bytes(10'000, 1))}};
    const auto r = run(store, handle, big);
    r.require_error(errc::value_too_large);
    BOOST_TEST(r.diag.message.find("max_bag_bytes") != std::string::npos, r.diag.message);
    BOOST_TEST(handle.is_valid(), "a refused save keeps the handle and its lock");
    cmd::save_workflow unlock;
    unlock.unlock_instance = true;
    run(store, handle, unlock).require_ok();
    BOOST_TEST(counter_of(load(store, id).require_ok().view) == 1);
}

BOOST_AUTO_TEST_CASE(every_encoding_stores_and_loads) {
    for (auto enc : {encoding::none, encoding::gzip, encoding::zstd}) {
        auto o = options();
        o.instance_encoding = enc;
        auto& store = new_store(o);
        make_owner(store);
        auto [id, handle] = save_new(store, test::every_kind_bag(), true);
        BOOST_TEST((load(store, id).require_ok().view.data == test::every_kind_bag()));
        run(store, store.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
    }
}

BOOST_AUTO_TEST_SUITE_END()
