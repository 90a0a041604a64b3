#include "fixture.hpp"

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(runnable, store_fixture)

namespace {
cmd::save_workflow idle_with_timer(duration timer) {
    cmd::save_workflow save;
    save.instance_data = counter_bag(1);
    save.pending_timer = timer;
    save.execution_status = "Idle";
    save.unlock_instance = true;
    return save;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_durable_timer_makes_an_instance_runnable_only_when_due) {
    auto& store = new_store();
    make_owner(store);
    const uuid id = random_uuid();
    run(store, store.create_instance_handle(id), idle_with_timer(10min)).require_ok();

    auto empty = run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{});
    empty.require_ok();
    BOOST_TEST(!empty.view.is_bound_to_instance(), "nothing is due yet: an empty result, not an error");

    const auto detected = internal(store, cmd::detect_runnable_instances{});
    detected.require_ok();
    BOOST_TEST_REQUIRE(detected.view.next_runnable_time.has_value());
    BOOST_TEST((*detected.view.next_runnable_time - *detected.view.store_time == duration{10min}));

    clock->advance(10min - 1s);
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok().view.is_bound_to_instance());
    clock->advance(1s);
    auto handle = store.create_instance_handle();
    const auto due = run(store, handle, cmd::try_load_runnable_workflow{});
    due.require_ok();
    BOOST_TEST((due.view.instance_id == id));
    BOOST_TEST((handle.instance_id() == id));
    BOOST_TEST(due.view.is_bound_to_lock());
    // Loading took it off the queue.
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok().view.is_bound_to_instance());
}

BOOST_AUTO_TEST_CASE(earliest_due_first) {
    auto& store = new_store();
    make_owner(store);
    const uuid later = random_uuid(), sooner = random_uuid();
    run(store, store.create_instance_handle(later), idle_with_timer(2min)).require_ok();
    run(store, store.create_instance_handle(sooner), idle_with_timer(1min)).require_ok();
    clock->advance(5min);
    // Each handle is kept: a handle dropped while it holds a lock lets go of it.
    const auto first = store.create_instance_handle(), second = store.create_instance_handle();
    BOOST_TEST((run(store, first, cmd::try_load_runnable_workflow{}).view.instance_id == sooner));
    BOOST_TEST((run(store, second, cmd::try_load_runnable_workflow{}).view.instance_id == later));
}

BOOST_AUTO_TEST_CASE(ready_to_run_is_runnable_at_once_and_suspended_is_not) {
    auto& store = new_store();
    make_owner(store);
    const uuid ready = random_uuid(), suspended = random_uuid();
    cmd::save_workflow save;
    save.instance_data = counter_bag(1);
    save.ready_to_run = true;
    save.unlock_instance = true;
    run(store, store.create_instance_handle(ready), save).require_ok();
    save.suspension = cmd::suspension_change::suspend;
    save.suspension_reason = "operator";
    run(store, store.create_instance_handle(suspended), save).require_ok();

    const auto loaded = store.create_instance_handle();
    BOOST_TEST((run(store, loaded, cmd::try_load_runnable_workflow{}).view.instance_id == ready));
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.is_bound_to_instance());
}

BOOST_AUTO_TEST_CASE(only_the_owners_host_type) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a, name{"urn:x", "Other"});
    make_owner(b);
    cmd::save_workflow save = idle_with_timer(0s);
    run(a, a.create_instance_handle(random_uuid()), save).require_ok();  // inherits host type Other
    BOOST_TEST(!run(b, b.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.is_bound_to_instance());
    save.workflow_host_type = order_host;
    const uuid mine = random_uuid();
    run(a, a.create_instance_handle(mine), save).require_ok();
    BOOST_TEST((run(b, b.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.instance_id == mine));
}

BOOST_AUTO_TEST_CASE(try_load_requires_a_host_type) {
    auto& store = new_store();
    make_owner(store, std::nullopt);
    const auto r = run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{});
    r.require_error(errc::invalid_command);
    BOOST_TEST(r.diag.message.find("host type") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(recovery_makes_a_crashed_owners_instances_runnable) {
    auto& crashed = new_store();
    auto& survivor = new_store();
    make_owner(crashed);
    auto [id, handle] = save_new(crashed, counter_bag(42));  // locked, then the host dies
    make_owner(survivor);
    BOOST_TEST(!run(survivor, survivor.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.is_bound_to_instance());

    // The survivor renews halfway; the crashed owner cannot.
    clock->advance(options().lease_duration() / 2);
    internal(survivor, cmd::extend_lock{}).require_ok();
    clock->advance(options().lease_duration() / 2 + 1s);
    internal(survivor, cmd::recover_instance_locks{}).require_ok();
    internal(survivor, cmd::recover_instance_locks{}).require_ok();  // twice is harmless
    const auto r = run(survivor, survivor.create_instance_handle(), cmd::try_load_runnable_workflow{});
    r.require_ok();
    BOOST_TEST((r.view.instance_id == id));
    BOOST_TEST(counter_of(r.view) == 42);
    BOOST_TEST(r.view.lock_version > handle.lock_version());
}

BOOST_AUTO_TEST_CASE(graceful_delete_hands_instances_over_at_once) {
    auto& leaving = new_store();
    auto& staying = new_store();
    make_owner(leaving);
    make_owner(staying);
    auto [id, handle] = save_new(leaving, counter_bag(5));
    run(leaving, leaving.create_instance_handle(), cmd::delete_workflow_owner{}).require_ok();
    BOOST_TEST((run(staying, staying.create_instance_handle(), cmd::try_load_runnable_workflow{}).view.instance_id == id));
}

BOOST_AUTO_TEST_CASE(identity_filters) {
    const workflow_identity v1{"Order", "", definition_version{1, 0, 0, 1}};
    const workflow_identity v1_patched{"Order", "", definition_version{1, 0, 0, 7}};
    const workflow_identity v2{"Order", "", definition_version{2, 0, 0, 0}};
    auto& writer = new_store();
    make_owner(writer);
    cmd::save_workflow save = idle_with_timer(0s);
    save.definition_identity = v1_patched;
    const uuid id = random_uuid();
    run(writer, writer.create_instance_handle(id), save).require_ok();

    auto picks = [&](identity_filter filter, std::vector<workflow_identity> identities) {
        auto& host = new_store();
        auto handle = host.create_instance_handle();
        cmd::create_workflow_owner create;
        create.workflow_host_type = order_host;
        create.filter = filter;
        create.definition_identities = std::move(identities);
        run(host, handle, create).require_ok();
        auto picked = host.create_instance_handle();
        auto r = run(host, picked, cmd::try_load_runnable_workflow{});
        r.require_ok();
        if (r.view.is_bound_to_instance()) {  // put it back on the queue for the next host
            run(host, picked, idle_with_timer(0s)).require_ok();
        }
        return r.view.is_bound_to_instance();
    };
    BOOST_TEST(!picks(identity_filter::exact, {v1, v2}));
    BOOST_TEST(!picks(identity_filter::exact, {}));
    BOOST_TEST(!picks(identity_filter::any_revision, {v2}));
    BOOST_TEST(picks(identity_filter::any_revision, {v1}));
}

BOOST_AUTO_TEST_CASE(identity_filter_any_and_exact) {
    const workflow_identity v3{"Order", "pkg", definition_version{3, 0, std::nullopt, std::nullopt}};
    auto& writer = new_store();
    make_owner(writer);
    cmd::save_workflow save = idle_with_timer(0s);
    save.definition_identity = v3;
    run(writer, writer.create_instance_handle(random_uuid()), save).require_ok();
    run(writer, writer.create_instance_handle(random_uuid()), save).require_ok();
    for (auto filter : {identity_filter::exact, identity_filter::any}) {
        auto& host = new_store();
        auto handle = host.create_instance_handle();
        cmd::create_workflow_owner create;
        create.workflow_host_type = order_host;
        create.filter = filter;
        if (filter == identity_filter::exact) create.definition_identities = {v3};
        run(host, handle, create).require_ok();
        BOOST_TEST(run(host, host.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok().view.is_bound_to_instance());
    }
}

BOOST_AUTO_TEST_CASE(activatable_host_types_without_a_live_owner_here) {
    auto& writer = new_store();
    make_owner(writer, name{"urn:x", "Writer"});
    cmd::save_workflow save = idle_with_timer(0s);
    save.workflow_host_type = order_host;
    run(writer, writer.create_instance_handle(random_uuid()), save).require_ok();
    run(writer, writer.create_instance_handle(random_uuid()), save).require_ok();

    auto& activator = new_store();
    auto handle = activator.create_instance_handle();
    cmd::create_workflow_owner create;
    create.activation_service = true;
    run(activator, handle, create).require_ok();
    auto r = run(activator, activator.create_instance_handle(), cmd::query_activatable_workflows{});
    r.require_ok();
    BOOST_TEST_REQUIRE(r.view.activatable_workflows.size() == 1u);
    BOOST_TEST((r.view.activatable_workflows[0].workflow_host_type == order_host));
    BOOST_TEST(r.view.activatable_workflows[0].runnable_instances == 2);

    auto& order_host_store = new_store();  // same machine name: now a host serves it here
    make_owner(order_host_store);
    r = run(activator, activator.create_instance_handle(), cmd::query_activatable_workflows{});
    BOOST_TEST(r.require_ok().view.activatable_workflows.empty());
}

BOOST_AUTO_TEST_SUITE_END()
