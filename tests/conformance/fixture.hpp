#pragma once
#include "store_backing.hpp"

#include <durable/commands/command.hpp>
#include <durable/store_clock.hpp>

#include <test_common/exec_result.hpp>
#include <test_common/io_context_fixture.hpp>

#include <vector>

namespace durable::conformance {

using namespace std::chrono_literals;

inline const name order_host{"urn:durable:test", "OrderHost"};

/// One backing, a manual clock, and helpers that run commands to completion. Background
/// tasks are off: tests drive leases, recovery and detection by moving the clock and sending
/// the internal commands, so every outcome is deterministic.
struct store_fixture : test::io_context_fixture {
    std::shared_ptr<manual_clock> clock =
        std::make_shared<manual_clock>(timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}});
    std::unique_ptr<store_backing> backing = make_store_backing();
    std::vector<std::unique_ptr<instance_store>> stores;

    store_options options() const {
        store_options o;
        o.run_background_tasks = false;
        // A long lease, so tests can move the clock by minutes; tests about expiry move it
        // past lease_duration().
        o.host_lock_renewal_period = std::chrono::hours{1};
        o.clock = clock;
        o.machine_name = "conformance";
        return o;
    }

    instance_store& new_store(store_options o) {
        stores.push_back(backing->open(ioc.get_executor(), std::move(o)));
        return *stores.back();
    }
    instance_store& new_store() { return new_store(options()); }

    ~store_fixture() {
        stores.clear();
        check_no_work_left();
    }

    /// Runs until no work is left, e.g. the unlock a freed handle schedules, which an XML store
    /// runs on its thread pool (tracked as work, so run() waits for it). Background tasks are
    /// off here, so nothing keeps the context busy for ever.
    void drain() {
        ioc.restart();
        ioc.run();
    }

    template <class Command>
    test::exec_result run(instance_store& store, const instance_handle& handle, Command cmd) {
        return test::exec(ioc, store, handle, std::move(cmd));
    }

    /// Creates the store's owner and makes it the default, so handles bind to it.
    instance_owner make_owner(instance_store& store, std::optional<name> host_type = order_host,
                              property_bag metadata = {}) {
        commands::create_workflow_owner create;
        create.workflow_host_type = std::move(host_type);
        create.owner_metadata = std::move(metadata);
        auto handle = store.create_instance_handle(instance_owner{});  // not the (maybe lost) default
        run(store, handle, std::move(create)).require_ok();
        return handle.owner();
    }

    /// Saves `data` for a new instance id and keeps the lock unless told otherwise.
    std::pair<uuid, instance_handle> save_new(instance_store& store, property_bag data, bool unlock = false) {
        const uuid id = random_uuid();
        auto handle = store.create_instance_handle(id);
        commands::save_workflow save;
        save.instance_data = std::move(data);
        save.unlock_instance = unlock;
        run(store, handle, std::move(save)).require_ok();
        return {id, handle};
    }

    test::exec_result load(instance_store& store, const uuid& id, bool accept_uninitialized = false) {
        return run(store, store.create_instance_handle(id), commands::load_workflow(accept_uninitialized));
    }

    /// Sends an internal command on behalf of the store's default owner.
    template <class Command>
    test::exec_result internal(instance_store& store, Command cmd) {
        return run(store, store.create_instance_handle(), std::move(cmd));
    }
};

inline property_bag counter_bag(std::int64_t n) { return property_bag{{"counter", instance_value(n)}}; }

inline std::int64_t counter_of(const instance_view& view) {
    return std::get<std::int64_t>(view.data.at("counter").get());
}

}  // namespace durable::conformance
