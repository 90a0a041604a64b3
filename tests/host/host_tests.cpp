// The host on memory stores: persistence policies, restarts, retries, faults, suspension,
// termination, shutdown, owner loss and definitions of other versions.

#include "host_fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>

#include <atomic>

namespace durable::host::test {

namespace {

const workflow_identity approval_v1{"approval", "", definition_version{1, 0, std::nullopt, std::nullopt}};

workflow_definition approval_definition(definition_version version = {1, 0, std::nullopt, std::nullopt}) {
    workflow_definition d("approval", version);
    d.step("request", [](step_context& ctx) {
        ctx.set("requested", true);
        return step_result::wait_for({{"approve", "approved"}, {"reject", "rejected"}});
    });
    d.step("approved", [](step_context& ctx) {
        ctx.set("approver", ctx.payload());
        return step_result::complete_with({{"result", std::string("approved")}});
    });
    d.step("rejected", [](step_context&) { return step_result::complete_with({{"result", std::string("rejected")}}); });
    return d;
}

std::vector<workflow_definition> approval_only() {
    std::vector<workflow_definition> defs;
    defs.push_back(approval_definition());
    return defs;
}

host_options with_idle(idle_action action) {
    host_options o;
    o.on_idle = action;
    return o;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(host, host_fixture)

BOOST_AUTO_TEST_CASE(an_instance_resumed_by_key_in_a_new_process_completes) {
    auto first = start_process(approval_only());
    const uuid key = key_for("order/42");
    uuid id;
    run([&]() -> asio::awaitable<void> {
        variables inputs{{"order", std::int64_t{42}}};
        std::vector<uuid> keys{key};  // named: g++ 12 cannot hold a braced uuid temporary across co_await
        id = co_await first->host->async_start(approval_v1, std::move(inputs), std::move(keys));
        const auto s = co_await wait_until(*first->host, id, [](const instance_status& st) {
            return st.status == run_status::waiting && !st.loaded_here;
        });
        BOOST_TEST(s.bookmarks.size() == 2u);
        BOOST_TEST(std::get<bool>(s.vars.at("requested")));
        co_await first->host->async_stop();
    });
    BOOST_TEST(first->host->loaded_count() == 0u);
    BOOST_TEST(database->owner_count() == 1u);  // the stopped host's owner is deleted (expired), not live
    first.reset();

    auto second = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        const auto done = co_await second->host->async_resume_by_key(key, "approve", std::string("alice"));
        BOOST_TEST(done.instance_id == id);
        BOOST_TEST(done.status == run_status::completed);
        BOOST_TEST(std::get<std::string>(done.outputs.at("result")) == std::string("approved"));
        BOOST_TEST(std::get<std::string>(done.vars.at("approver")) == std::string("alice"));
        BOOST_TEST(std::get<std::int64_t>(done.vars.at("order")) == 42);
        const auto after = co_await second->host->async_status(id);
        BOOST_TEST(after.status == run_status::completed);
        co_await second->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(status_right_after_start_says_where_the_instance_first_waits) {
    for (const auto policy : {idle_action::unload, idle_action::persist, idle_action::none}) {
        auto p = start_process(approval_only(), with_idle(policy));
        run([&]() -> asio::awaitable<void> {
            const uuid id = co_await p->host->async_start(approval_v1, {}, {});
            const auto s = co_await p->host->async_status(id);  // no polling: it waits for the first steps
            BOOST_TEST(s.status == run_status::waiting);
            BOOST_TEST(s.loaded_here == (policy != idle_action::unload));
            co_await p->host->async_stop();
        });
    }
}

BOOST_AUTO_TEST_CASE(start_with_a_key_in_use_fails_with_key_collision_and_starts_nothing) {
    auto p = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        const std::vector<uuid> keys{key_for("order/7")};
        co_await p->host->async_start(approval_v1, {}, keys);
        const auto before = database->instance_count();
        co_await expect_error(p->host->async_start(approval_v1, {}, keys), errc::key_collision);
        BOOST_TEST(database->instance_count() == before);
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(refused_resumes_name_what_is_wrong_and_change_nothing) {
    auto p = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        const auto e = co_await expect_error(p->host->async_resume(id, "cancel", {}), host_errc::bookmark_not_found);
        BOOST_TEST(e.diag().message.find("[approve] [reject]") != std::string::npos, e.diag().message);
        const uuid unknown_id = random_uuid();
        const uuid unknown_key = key_for("order/none");
        co_await expect_error(p->host->async_resume(unknown_id, "approve", {}), errc::instance_not_found);
        co_await expect_error(p->host->async_resume_by_key(unknown_key, "approve", {}), errc::key_not_found);
        const auto s = co_await p->host->async_status(id);
        BOOST_TEST(s.status == run_status::waiting);
        BOOST_TEST(p->host->loaded_count() == 0u);  // a refused resume leaves it unloaded, as it was
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(persist_keeps_the_instance_loaded_and_saved_and_stop_unloads_it) {
    auto p = start_process(approval_only(), with_idle(idle_action::persist));
    auto other = start_process(approval_only());
    uuid id;
    run([&]() -> asio::awaitable<void> {
        id = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        BOOST_TEST(p->host->loaded_count() == 1u);
        // Another host finds it locked by this one, and learns who holds it.
        const auto e = co_await expect_error(other->host->async_resume(id, "approve", {}), errc::instance_locked);
        BOOST_TEST(e.diag().lock_holder.has_value());
        co_await p->host->async_stop();
        BOOST_TEST(p->host->loaded_count() == 0u);
        const auto done = co_await other->host->async_resume(id, "reject", {});
        BOOST_TEST(done.status == run_status::completed);
        co_await other->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(persist_with_unload_after_idle_unloads_an_instance_idle_that_long) {
    host_options options = with_idle(idle_action::persist);
    options.unload_after_idle = std::chrono::milliseconds{300};
    auto p = start_process(approval_only(), options);
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        BOOST_TEST(p->host->loaded_count() == 1u);
        const auto unloaded = co_await wait_until(*p->host, id, [](const instance_status& s) { return !s.loaded_here; });
        BOOST_TEST(unloaded.status == run_status::waiting);
        BOOST_TEST(p->host->loaded_count() == 0u);
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(none_saves_nothing_at_idle_until_the_host_unloads_it) {
    auto p = start_process(approval_only(), with_idle(idle_action::none));
    auto reader = std::make_unique<memory_instance_store>(ioc.get_executor(), database, store_settings());
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        co_await p->host->async_stop();
        // Saved at shutdown: the stored record says it waits.
        co_await reader->async_create_owner(commands::create_workflow_owner{});
        const auto view = co_await reader->async_execute(reader->create_instance_handle(id), commands::load_workflow{});
        BOOST_TEST(std::get<std::string>(view.data.at(name{"urn:durable:host", "status"}).get()) == std::string("waiting"));
        BOOST_TEST(std::get<std::string>(view.data.at(name{"urn:durable:host:bookmark", "approve"}).get()) == std::string("approved"));
    });
}

BOOST_AUTO_TEST_CASE(a_durable_timer_set_in_one_process_fires_in_the_next) {
    workflow_definition d("reminder", {1, 0, std::nullopt, std::nullopt});
    d.step("set", [](step_context&) { return step_result::sleep_for(std::chrono::hours{1}, "fire"); });
    d.step("fire", [](step_context& ctx) {
        ctx.set("fired", true);
        return step_result::complete_with();
    });
    const workflow_identity identity = d.identity();
    auto first = start_process({d});
    uuid id;
    run([&]() -> asio::awaitable<void> {
        id = co_await first->host->async_start(identity, {}, {});
        const auto s = co_await wait_until(*first->host, id, [](const instance_status& st) {
            return st.status == run_status::waiting && st.timer_due.has_value();
        });
        BOOST_TEST((*s.timer_due - clock->now() == std::chrono::hours{1}));
        co_await first->host->async_stop();
    });
    first.reset();
    auto second = start_process({d});
    run([&]() -> asio::awaitable<void> {
        asio::co_spawn(ioc, second->host->async_run(asio::use_awaitable), asio::detached);
        co_await sleep(200ms);
        auto early = co_await second->host->async_status(id);
        BOOST_TEST(early.status == run_status::waiting);  // not due yet: untouched
        clock->advance(std::chrono::hours{2});
        co_await wait_until(*second->host, id, [](const instance_status& st) { return st.status == run_status::completed; });
        co_await second->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(retries_count_across_a_restart_and_back_off_on_a_durable_timer) {
    static std::vector<std::int64_t> attempts_seen;
    attempts_seen.clear();
    workflow_definition d("flaky", {1, 0, std::nullopt, std::nullopt});
    retry_policy retry;
    retry.max_attempts = 3;
    retry.initial_backoff = std::chrono::minutes{1};
    d.step(
        "call",
        [](step_context& ctx) -> step_result {
            attempts_seen.push_back(ctx.attempt());
            ctx.set("touched", true);  // a failed attempt leaves no trace in the variables
            if (ctx.attempt() < 3) throw std::runtime_error("service unavailable");
            return step_result::complete_with({{"attempts", ctx.attempt()}});
        },
        retry);
    const workflow_identity identity = d.identity();
    auto first = start_process({d});
    uuid id;
    run([&]() -> asio::awaitable<void> {
        id = co_await first->host->async_start(identity, {}, {});
        const auto s = co_await wait_until(*first->host, id, [](const instance_status& st) {
            return st.status == run_status::waiting && st.attempt == 2;
        });
        BOOST_TEST(s.error.find("service unavailable") != std::string::npos, s.error);
        BOOST_TEST(!s.vars.contains("touched"));
        BOOST_TEST((*s.timer_due - clock->now() == std::chrono::minutes{1}));
    });
    first.reset();  // the process dies between attempts (no graceful stop)
    BOOST_TEST(attempts_seen == std::vector<std::int64_t>{1});

    auto second = start_process({d});
    run([&]() -> asio::awaitable<void> {
        asio::co_spawn(ioc, second->host->async_run(asio::use_awaitable), asio::detached);
        clock->advance(std::chrono::minutes{2});
        co_await wait_until(*second->host, id, [](const instance_status& st) { return st.attempt == 3; });
        clock->advance(std::chrono::minutes{3});
        const auto done = co_await wait_until(*second->host, id, [](const instance_status& st) {
            return st.status == run_status::completed;
        });
        co_await second->host->async_stop();
    });
    BOOST_TEST(attempts_seen == (std::vector<std::int64_t>{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(a_step_that_throws_with_no_retries_left_faults_the_instance_and_the_host_goes_on) {
    workflow_definition d("fragile", {1, 0, std::nullopt, std::nullopt});
    d.step("boom", [](step_context&) -> step_result { throw std::runtime_error("disk on fire"); });
    std::vector<workflow_definition> defs{d, approval_definition()};
    auto p = start_process(defs);
    run([&]() -> asio::awaitable<void> {
        const uuid bad = co_await p->host->async_start(d.identity(), {}, {});
        const auto s = co_await wait_until(*p->host, bad, [](const instance_status& st) { return st.status == run_status::faulted; });
        BOOST_TEST(s.error.find("disk on fire") != std::string::npos, s.error);
        co_await expect_error(p->host->async_resume(bad, "approve", {}), host_errc::instance_not_running);
        // The host carries on with other instances.
        const uuid good = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, good, [](const instance_status& st) { return st.status == run_status::waiting; });
        const auto done = co_await p->host->async_resume(good, "approve", std::string("bob"));
        BOOST_TEST(done.status == run_status::completed);
        co_await p->host->async_stop();
    });
    BOOST_TEST(!p->messages.empty());
}

BOOST_AUTO_TEST_CASE(suspend_refuses_resumes_until_unsuspend_and_terminate_ends_it) {
    auto p = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        const auto suspended = co_await p->host->async_suspend(id, "audit");
        BOOST_TEST(suspended.suspended);
        co_await expect_error(p->host->async_resume(id, "approve", {}), host_errc::instance_suspended);
        const auto read = co_await p->host->async_status(id);
        BOOST_TEST(read.suspended);
        BOOST_TEST(read.suspension_reason == std::string("audit"));
        const auto back = co_await p->host->async_unsuspend(id);
        BOOST_TEST(!back.suspended);
        const auto other = co_await p->host->async_start(approval_v1, {}, {});
        co_await wait_until(*p->host, other, [](const instance_status& s) { return s.status == run_status::waiting; });
        const auto ended = co_await p->host->async_terminate(other, "customer left");
        BOOST_TEST(ended.status == run_status::terminated);
        BOOST_TEST(ended.error == std::string("customer left"));
        co_await expect_error(p->host->async_resume(other, "approve", {}), errc::instance_completed);
        const auto done = co_await p->host->async_resume(id, "approve", {});
        BOOST_TEST(done.status == run_status::completed);
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(an_instance_of_a_version_this_host_lacks_is_left_for_a_host_that_has_it) {
    auto v1 = start_process(approval_only());
    std::vector<workflow_definition> only_v2;
    only_v2.push_back(approval_definition({2, 0, std::nullopt, std::nullopt}));
    auto v2 = start_process(std::move(only_v2));
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await v1->host->async_start(approval_v1, {}, {});
        co_await wait_until(*v1->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        const auto e = co_await expect_error(v2->host->async_resume(id, "approve", {}), host_errc::definition_not_found);
        BOOST_TEST(e.diag().message.find("approval") != std::string::npos, e.diag().message);
        BOOST_TEST(v2->host->loaded_count() == 0u);
        const auto done = co_await v1->host->async_resume(id, "approve", {});  // untouched, still resumable
        BOOST_TEST(done.status == run_status::completed);
        co_await v1->host->async_stop();
        co_await v2->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(a_timer_due_for_another_version_is_not_taken_by_this_host) {
    workflow_definition d1("ticker", {1, 0, std::nullopt, std::nullopt});
    d1.step("wait", [](step_context&) { return step_result::sleep_for(std::chrono::minutes{1}, "done"); });
    d1.step("done", [](step_context&) { return step_result::complete_with({{"by", std::string("v1")}}); });
    workflow_definition d2("ticker", {2, 0, std::nullopt, std::nullopt});
    d2.step("wait", [](step_context&) { return step_result::sleep_for(std::chrono::minutes{1}, "done"); });
    d2.step("done", [](step_context&) { return step_result::complete_with({{"by", std::string("v2")}}); });
    auto v2 = start_process({d2});
    auto v1 = start_process({d1});
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await v1->host->async_start(d1.identity(), {}, {});
        co_await wait_until(*v1->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        asio::co_spawn(ioc, v2->host->async_run(asio::use_awaitable), asio::detached);
        clock->advance(std::chrono::minutes{5});
        co_await sleep(1500ms);  // beyond a detection period: v2 had its chance and left it
        BOOST_TEST(v2->host->loaded_count() == 0u);
        asio::co_spawn(ioc, v1->host->async_run(asio::use_awaitable), asio::detached);
        const auto done = co_await wait_until(*v1->host, id, [](const instance_status& s) {
            return s.status == run_status::completed;
        });
        co_await v1->host->async_stop();
        co_await v2->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(a_host_whose_owner_was_lost_registers_a_new_one_and_never_saves_over_the_new_holder) {
    auto a = start_process(approval_only(), with_idle(idle_action::persist));
    auto b = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        asio::co_spawn(ioc, a->host->async_run(asio::use_awaitable), asio::detached);
        const uuid id = co_await a->host->async_start(approval_v1, {}, {});
        co_await wait_until(*a->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        const uuid old_owner = a->host->owner().id();
        clock->advance(std::chrono::minutes{10});  // a's lease runs out, as if it had been cut off
        // b takes the instance over and completes it.
        const auto done = co_await b->host->async_resume(id, "approve", std::string("b"));
        BOOST_TEST(done.status == run_status::completed);
        // a notices, drops what it held and registers anew.
        for (int i = 0; i < 100 && (a->host->owner().id() == old_owner || !a->host->owner().is_valid()); ++i)
            co_await sleep(50ms);
        BOOST_TEST(a->host->owner().id() != old_owner);
        BOOST_TEST(a->host->owner().is_valid());
        BOOST_TEST(a->host->loaded_count() == 0u);
        // a cannot overwrite b's result.
        co_await expect_error(a->host->async_resume(id, "reject", {}), errc::instance_completed);
        co_await a->host->async_stop();
        co_await b->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(coroutine_steps_explicit_persistence_and_many_instances_on_one_thread) {
    workflow_definition d("counter", {1, 0, std::nullopt, std::nullopt});
    d.coroutine("first", [](step_context& ctx) -> asio::awaitable<step_result> {
        asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
        co_await t.async_wait(asio::use_awaitable);
        ctx.set("count", std::int64_t{1});
        co_return step_result::persist_then("second");
    });
    d.step("second", [](step_context& ctx) {
        ctx.set("count", ctx.var_as<std::int64_t>("count") + 1);
        return step_result::wait_for({{"go", "third"}});
    });
    d.step("third", [](step_context& ctx) {
        return step_result::complete_with({{"count", ctx.var_as<std::int64_t>("count") + 1}});
    });
    auto p = start_process({d});
    constexpr int instances = 500;
    run([&]() -> asio::awaitable<void> {
        std::vector<uuid> ids;
        for (int i = 0; i < instances; ++i) {
            std::vector<uuid> keys{key_for("n/" + std::to_string(i))};
            ids.push_back(co_await p->host->async_start(d.identity(), {}, std::move(keys)));
        }
        for (const auto& id : ids)
            co_await wait_until(*p->host, id, [](const instance_status& s) { return s.status == run_status::waiting; });
        BOOST_TEST(p->host->loaded_count() == 0u);  // unloaded instances cost the host nothing
        for (int i = 0; i < instances; ++i) {
            const uuid key = key_for("n/" + std::to_string(i));
            const auto done = co_await p->host->async_resume_by_key(key, "go", {});
            BOOST_TEST(std::get<std::int64_t>(done.outputs.at("count")) == 3);
        }
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(concurrent_resumes_of_one_instance_run_one_after_the_other) {
    auto p = start_process(approval_only());
    const uuid key = key_for("order/race");
    run([&]() -> asio::awaitable<void> {
        std::vector<uuid> keys{key};
        const uuid id = co_await p->host->async_start(approval_v1, {}, std::move(keys));
        co_await wait_until(*p->host, id, [](const instance_status& s) {
            return s.status == run_status::waiting && !s.loaded_here;
        });
        // Four callers at once, by key and by id: exactly one decides; the others are told it is
        // decided, never handle_conflict.
        std::vector<error_code> outcomes;
        int finished = 0;
        auto record = [&](error_code ec, instance_status) {
            outcomes.push_back(ec);
            ++finished;
        };
        p->host->async_resume_by_key(key, "approve", std::string("a"), record);
        p->host->async_resume_by_key(key, "reject", std::string("b"), record);
        p->host->async_resume(id, "approve", std::string("c"), record);
        p->host->async_resume_by_key(key, "approve", std::string("d"), record);
        while (finished < 4) co_await sleep(10ms);
        const auto successes = std::count(outcomes.begin(), outcomes.end(), error_code{});
        BOOST_TEST(successes == 1);
        for (const auto& ec : outcomes)
            BOOST_TEST((!ec || ec == errc::instance_completed || ec == errc::key_completed ||
                        ec == host_errc::instance_not_running),
                       ec.message());
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(a_runnable_instance_the_host_cannot_read_is_set_aside_and_the_rest_still_run) {
    workflow_definition d("ticker", {1, 0, std::nullopt, std::nullopt});
    // Within one lease (31 s), so that no owner is lost while the manual clock moves.
    d.step("wait", [](step_context&) { return step_result::sleep_for(std::chrono::seconds{10}, "done"); });
    d.step("done", [](step_context&) { return step_result::complete_with(); });
    auto p = start_process({d});
    // Another program of the same host type leaves a due instance whose data is not a host record.
    auto other = std::make_unique<memory_instance_store>(ioc.get_executor(), database, store_settings());
    const uuid damaged = random_uuid();
    run([&]() -> asio::awaitable<void> {
        commands::create_workflow_owner create;
        create.workflow_host_type = test_host_type;
        co_await other->async_create_owner(std::move(create));
        commands::save_workflow foreign;
        foreign.instance_data = property_bag{{"not-a-host-record", instance_value(std::int64_t{1})}};
        foreign.ready_to_run = true;
        foreign.definition_identity = d.identity();  // one this host runs: only its data is foreign
        foreign.unlock_instance = true;
        co_await other->async_execute(other->create_instance_handle(damaged), std::move(foreign));
        const uuid good = co_await p->host->async_start(d.identity(), {}, {});
        co_await wait_until(*p->host, good, [](const instance_status& s) { return s.status == run_status::waiting; });
        asio::co_spawn(ioc, p->host->async_run(asio::use_awaitable), asio::detached);
        clock->advance(std::chrono::seconds{20});
        co_await wait_until(*p->host, good, [](const instance_status& s) { return s.status == run_status::completed; });
        // Set aside, not let go of: while the host runs, the damaged instance stays locked by it,
        // so that try-load passes over it; the graceful stop lets go of it.
        auto while_running = other->create_instance_handle(damaged);
        co_await expect_error(other->async_execute(while_running, commands::load_workflow{}), errc::instance_locked);
        co_await p->host->async_stop();
        auto after_stop = other->create_instance_handle(damaged);
        const auto view = co_await other->async_execute(after_stop, commands::load_workflow{});
        BOOST_TEST(view.is_bound_to_lock());
    });
    // Told once: an instance let go of would come back at every try-load and be told again.
    const auto told = std::count_if(p->messages.begin(), p->messages.end(), [&](const std::string& m) {
        return m.find(to_string(damaged)) != std::string::npos && m.find("is missing") != std::string::npos;
    });
    BOOST_TEST(told == 1);
}

BOOST_AUTO_TEST_CASE(data_the_store_refuses_is_refused_at_the_call_or_faults_the_instance_with_the_reason) {
    workflow_definition d("bloat", {1, 0, std::nullopt, std::nullopt});
    d.step("grow", [](step_context& ctx) {
        ctx.set("blob", bytes(4096, 0x5a));  // beyond the store's max_bag_bytes below
        return step_result::wait_for({{"go", "grow"}});
    });
    store_options settings = store_settings();
    settings.max_bag_bytes = 2048;
    settings.instance_encoding = encoding::none;
    auto p = start_process({d}, {}, settings);
    run([&]() -> asio::awaitable<void> {
        // Refused at the call: nothing is started.
        variables too_big{{"blob", bytes(4096, 1)}};
        const auto before = database->instance_count();
        co_await expect_error(p->host->async_start(d.identity(), std::move(too_big), {}), errc::value_too_large);
        variables unnamed{{"", std::int64_t{1}}};
        co_await expect_error(p->host->async_start(d.identity(), std::move(unnamed), {}), errc::invalid_command);
        BOOST_TEST(database->instance_count() == before);
        // Refused at a persistence point: the instance faults, saved with what it had before.
        const uuid id = co_await p->host->async_start(d.identity(), {}, {});
        const auto s = co_await p->host->async_status(id);
        BOOST_TEST(s.status == run_status::faulted);
        BOOST_TEST(s.error.find("step 'grow'") != std::string::npos, s.error);
        BOOST_TEST(s.error.find("max_bag_bytes") != std::string::npos, s.error);
        BOOST_TEST(!s.vars.contains("blob"));
        BOOST_TEST(p->host->loaded_count() == 0u);
        co_await p->host->async_stop();
    });
}

BOOST_AUTO_TEST_CASE(a_step_that_waits_for_a_bookmark_twice_faults_with_the_reason) {
    workflow_definition d("twice", {1, 0, std::nullopt, std::nullopt});
    d.step("wait", [](step_context&) { return step_result::wait_for({{"go", "a"}, {"go", "b"}}); });
    auto p = start_process({d});
    run([&]() -> asio::awaitable<void> {
        const uuid id = co_await p->host->async_start(d.identity(), {}, {});
        const auto s = co_await p->host->async_status(id);
        BOOST_TEST(s.status == run_status::faulted);
        BOOST_TEST(s.error.find("'go' is listed twice") != std::string::npos, s.error);
        co_await p->host->async_stop();
    });
    BOOST_CHECK_THROW(step_result::wait_for({{"", "a"}}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_stopped_host_refuses_new_work) {
    auto p = start_process(approval_only());
    run([&]() -> asio::awaitable<void> {
        co_await p->host->async_stop();
        co_await expect_error(p->host->async_start(approval_v1, {}, {}), host_errc::host_stopped);
        const uuid unknown_id = random_uuid();
        co_await expect_error(p->host->async_resume(unknown_id, "approve", {}), host_errc::host_stopped);
    });
}

BOOST_AUTO_TEST_CASE(definitions_and_options_are_checked_when_made) {
    BOOST_CHECK_THROW(workflow_definition("", {1, 0, std::nullopt, std::nullopt}), std::invalid_argument);
    workflow_definition d("x", {1, 0, std::nullopt, std::nullopt});
    d.step("a", [](step_context&) { return step_result::complete_with(); });
    BOOST_CHECK_THROW(d.step("a", [](step_context&) { return step_result::complete_with(); }), std::invalid_argument);
    retry_policy bad;
    bad.max_attempts = 0;
    BOOST_CHECK_THROW(d.step("b", [](step_context&) { return step_result::complete_with(); }, bad), std::invalid_argument);
    BOOST_CHECK_THROW(step_result::wait_for({}), std::invalid_argument);
    memory_instance_store store(ioc.get_executor());
    BOOST_CHECK_THROW(workflow_host(ioc.get_executor(), store, host_options{}, {d}), std::invalid_argument);  // no host type
    host_options o;
    o.host_type = test_host_type;
    BOOST_CHECK_THROW(workflow_host(ioc.get_executor(), store, o, {}), std::invalid_argument);
    BOOST_CHECK_THROW(workflow_host(ioc.get_executor(), store, o, {d, d}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(keys_from_text_are_stable_and_distinct) {
    BOOST_TEST(key_for("order/42") == key_for("order/42"));
    BOOST_TEST(key_for("order/42") != key_for("order/43"));
    BOOST_TEST(to_string(key_for("order/42")) == to_string(key_for(std::string("order/42"))));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace durable::host::test
