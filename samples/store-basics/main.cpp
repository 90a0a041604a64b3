// store-basics: the raw instance-store API, no host. One process plays a workflow host:
// it registers an owner, starts an instance, unloads it, loads it again by id and by key,
// and completes it, printing what the store answers at each step.

#include <durable/memory_instance_store.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;
namespace cmd = durable::commands;
using durable::instance_value;
using durable::property_bag;

namespace {

const durable::name host_type{"urn:durable:samples", "StoreBasics"};

std::int64_t step_of(const durable::instance_view& view) {
    return std::get<std::int64_t>(view.data.at("step").get());
}

const char* state_name(durable::instance_state s) {
    switch (s) {
        case durable::instance_state::uninitialized: return "uninitialized";
        case durable::instance_state::initialized: return "initialized";
        case durable::instance_state::completed: return "completed";
        default: return "unknown";
    }
}

asio::awaitable<void> run(durable::instance_store& store) {
    // 1. Register this host as a lock owner. Handles created from now on are bound to it. The
    //    default completion token makes co_await throw a store_error carrying the diagnostics.
    cmd::create_workflow_owner create;
    create.workflow_host_type = host_type;
    create.owner_metadata["host"] = instance_value(std::string("store-basics"));
    const durable::instance_owner owner = co_await store.async_create_owner(std::move(create));
    std::cout << "owner registered:   " << durable::to_string(owner.id()) << "\n";

    // 2. Start an instance: save its first state with a correlation key, and keep the lock.
    const auto instance_id = durable::random_uuid();
    const auto order_key = durable::random_uuid();
    auto handle = store.create_instance_handle(instance_id);
    cmd::save_workflow start;
    start.instance_data = property_bag{{"step", instance_value(std::int64_t{1})},
                                       {"status", instance_value(std::string("Idle"), durable::value_options::write_only)}};
    start.instance_keys_to_associate[order_key] = {{"order", instance_value(std::string("PO-1001"))}};
    // Commands are taken by value: moved, the instance data is never copied.
    auto view = co_await store.async_execute(handle, std::move(start));
    std::cout << "instance saved:     " << durable::to_string(instance_id) << " (lock version " << view.lock_version << ")\n";

    // 3. Unload: save and release the lock. The handle is done.
    cmd::save_workflow unload;
    unload.instance_data = property_bag{{"step", instance_value(std::int64_t{2})}};
    unload.unlock_instance = true;
    co_await store.async_execute(handle, std::move(unload));
    std::cout << "unloaded:           handle valid = " << std::boolalpha << handle.is_valid() << "\n";

    // 4. Load it again by id. Write-only values (status) never come back.
    auto by_id = store.create_instance_handle(instance_id);
    view = co_await store.async_execute(by_id, cmd::load_workflow{});
    std::cout << "loaded by id:       step " << step_of(view) << ", state " << state_name(view.state)
              << ", " << view.data.size() << " readable value(s)\n";
    cmd::save_workflow release;
    release.unlock_instance = true;
    co_await store.async_execute(by_id, std::move(release));

    // 5. Load it by its correlation key, as a message carrying the order number would.
    auto by_key = store.create_instance_handle();
    view = co_await store.async_execute(by_key, cmd::load_workflow_by_instance_key(order_key));
    std::cout << "loaded by key:      instance " << durable::to_string(*view.instance_id) << ", key metadata order = "
              << std::get<std::string>(view.keys.at(order_key).metadata.at("order").get()) << "\n";

    // 6. Complete it. With the default completion action the instance and its keys go.
    cmd::save_workflow complete;
    complete.instance_data = property_bag{{"step", instance_value(std::int64_t{3})}};
    complete.complete_instance = true;
    complete.unlock_instance = true;
    view = co_await store.async_execute(by_key, std::move(complete));
    std::cout << "completed:          state " << state_name(view.state) << "\n";

    // 7. Loading it now says so, with a result code from the original store.
    auto gone = store.create_instance_handle(instance_id);
    auto [ec, ignored] = co_await store.async_execute(gone, cmd::load_workflow{}, asio::as_tuple(asio::use_awaitable));
    std::cout << "load after delete:  " << ec.message() << " (code " << ec.value() << ")\n";

    co_await store.async_execute(store.create_instance_handle(owner), cmd::delete_workflow_owner{});
    std::cout << "owner deleted\n";
}

}  // namespace

int main() {
    asio::io_context ioc;
    durable::memory_instance_store store(ioc.get_executor());
    int exit_code = 0;
    asio::co_spawn(ioc, run(store), [&](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& error) {
            std::cerr << "store-basics failed: " << error.what() << "\n";
            exit_code = 1;
        }
    });
    ioc.run();
    return exit_code;
}
