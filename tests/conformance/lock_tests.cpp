#include "fixture.hpp"

#include <boost/asio/steady_timer.hpp>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(locking, store_fixture)

BOOST_AUTO_TEST_CASE(two_owners_race_exactly_one_wins) {
    auto& a = new_store();
    auto& b = new_store();
    property_bag a_meta{{"host", instance_value(std::string("host-a"))}};
    auto owner_a = make_owner(a, order_host, a_meta);
    auto owner_b = make_owner(b);
    auto [id, h] = save_new(a, counter_bag(1), true);

    for (int round = 0; round < 20; ++round) {
        // Both loads are in flight at once; the store serialises them.
        auto ha = a.create_instance_handle(id);
        auto hb = b.create_instance_handle(id);
        const auto [ra, rb] = test::exec_both(ioc, a, ha, cmd::load_workflow{}, b, hb, cmd::load_workflow{});

        BOOST_TEST_REQUIRE((!ra.ec != !rb.ec), "exactly one load wins: a=" << ra.ec.message() << " b=" << rb.ec.message());
        const auto& loser = ra.ec ? ra : rb;
        const auto& winner_owner = ra.ec ? owner_b : owner_a;
        auto& winner_handle = ra.ec ? hb : ha;
        auto& winner_store = ra.ec ? b : a;
        loser.require_error(errc::instance_locked);
        BOOST_TEST((loser.diag.lock_holder == winner_owner.id()), "the loser learns who holds the lock");
        if (!ra.ec) BOOST_TEST(std::get<std::string>(loser.diag.lock_holder_metadata.at("host").get()) == "host-a");

        cmd::save_workflow release;
        release.instance_data = counter_bag(round);
        release.unlock_instance = true;
        run(winner_store, winner_handle, release).require_ok();
    }
}

BOOST_AUTO_TEST_CASE(lock_versions_fence_out_an_expired_owner) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    auto [id, a_handle] = save_new(a, counter_bag(1));
    const auto a_version = a_handle.lock_version();

    // A stalls past its lease; B takes the instance over (the version moves on).
    clock->advance(options().lease_duration() + 1s);
    make_owner(b);
    const auto taken = load(b, id);
    taken.require_ok();
    BOOST_TEST(taken.view.lock_version > a_version);

    // A wakes up and tries to save: refused, and B's state is intact.
    cmd::save_workflow stale;
    stale.instance_data = counter_bag(666);
    const auto r = run(a, a_handle, stale);
    BOOST_TEST((r.ec == condition::owner_invalid), r.ec.message());
    BOOST_TEST(counter_of(taken.view) == 1);
}

BOOST_AUTO_TEST_CASE(a_lock_taken_by_another_owner_is_lost) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    make_owner(b);
    auto [id, a_handle] = save_new(a, counter_bag(1));
    // The lock is released behind the handle's back (as a freed duplicate handle would).
    internal(a, cmd::unlock_instance{id, a_handle.lock_version()}).require_ok();
    load(b, id).require_ok();

    cmd::save_workflow save;
    save.instance_data = counter_bag(2);
    const auto r = run(a, a_handle, save);
    r.require_error(errc::instance_lock_lost);
    BOOST_TEST((r.ec == condition::lock_lost));
    BOOST_TEST(!a_handle.is_valid(), "a handle whose lock is lost is doomed");
}

BOOST_AUTO_TEST_CASE(a_lock_retaken_through_another_handle_is_stale) {
    auto& a = new_store();
    make_owner(a);
    auto [id, first] = save_new(a, counter_bag(1));
    const uuid key = random_uuid();
    cmd::save_workflow with_key;
    with_key.instance_keys_to_associate[key] = {};
    run(a, first, with_key).require_ok();
    internal(a, cmd::unlock_instance{id, first.lock_version()}).require_ok();

    // A second handle of the same owner locks it anew (at a newer version) through the key: the
    // store decides, and a command it committed is never reported as failed...
    const auto second_handle = a.create_instance_handle();
    const auto second = run(a, second_handle, cmd::load_workflow_by_instance_key(key));
    second.require_ok();
    BOOST_TEST(second.view.lock_version > first.lock_version());
    // ...so the first handle's version is stale.
    cmd::save_workflow save;
    save.instance_data = counter_bag(2);
    const auto r = run(a, first, save);
    r.require_error(errc::stale_instance_version);
    BOOST_TEST((r.ec == condition::lock_lost));
}

BOOST_AUTO_TEST_CASE(two_handles_of_one_owner_conflict) {
    auto& a = new_store();
    make_owner(a);
    auto [id, first] = save_new(a, counter_bag(1));
    load(a, id).require_error(errc::handle_conflict);
    BOOST_TEST(first.is_valid());
}

BOOST_AUTO_TEST_CASE(an_expired_lock_can_be_taken_without_recovery) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    auto [id, handle] = save_new(a, counter_bag(3));
    clock->advance(options().lease_duration() + 1s);
    make_owner(b);
    BOOST_TEST(counter_of(load(b, id).require_ok().view) == 3);
}

BOOST_AUTO_TEST_CASE(locked_retry_waits_for_the_holder) {
    auto& a = new_store();
    auto o = options();
    o.locked_retry = locked_instance_retry::aggressive;
    o.locked_retry_timeout = 20s;
    auto& b = new_store(o);
    make_owner(a);
    make_owner(b);
    auto saved = save_new(a, counter_bag(1));  // not a binding: the lambda below captures it (clang 14)
    const uuid id = saved.first;
    auto& a_handle = saved.second;

    test::exec_result rb;
    bool done = false;
    auto hb = b.create_instance_handle(id);
    b.async_execute(hb, cmd::load_workflow{}, rb.diag, [&](error_code ec, instance_view v) {
        rb.ec = ec;
        rb.view = std::move(v);
        done = true;
    });
    // Let B fail once and start waiting, then release from A.
    asio::steady_timer release_later(ioc, 150ms);
    bool released = false;
    release_later.async_wait([&](error_code) {
        cmd::save_workflow release;
        release.instance_data = counter_bag(2);
        release.unlock_instance = true;
        a.async_execute(a_handle, release, [&](error_code ec, instance_view) {
            BOOST_TEST(!ec);
            released = true;
        });
    });
    test::run_until(ioc, [&] { return done && released; });
    rb.require_ok();
    BOOST_TEST(counter_of(rb.view) == 2);
}

BOOST_AUTO_TEST_CASE(without_retry_a_locked_load_fails_at_once) {
    auto& a = new_store();
    auto& b = new_store();
    make_owner(a);
    make_owner(b);
    auto [id, handle] = save_new(a, counter_bag(1));
    load(b, id).require_error(errc::instance_locked);
}

BOOST_AUTO_TEST_SUITE_END()
