// What acceptance testing broke: a reload right after free() must hold the lock it reports, a
// refused command leaves nothing behind, and time arithmetic holds at the limits.

#include "fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <bit>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

BOOST_FIXTURE_TEST_SUITE(hardening, store_fixture)

namespace {

/// How a handle lets go of its lock before the reload.
enum class let_go { free, drop };

/// The handle that reloaded must really hold the lock: another owner is refused, the unlock
/// free() scheduled finds nothing to release, and the handle can save and then unlock.
void check_holds_the_lock(store_fixture& fx, instance_store& store, instance_store& other, const uuid& id,
                          instance_handle& reloaded, std::int64_t counter) {
    fx.drain();  // the background unlock of the old handle runs now, late
    fx.load(other, id).require_error(errc::instance_locked);
    cmd::save_workflow save;
    save.instance_data = counter_bag(counter);
    fx.run(store, reloaded, save).require_ok();
    fx.load(other, id).require_error(errc::instance_locked);
}

std::size_t counter_of_big(const instance_view& view) { return std::get<std::string>(view.data.at("big").get()).size(); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_reload_right_after_free_holds_the_lock_async) {
    auto& store = new_store();
    auto& other = new_store();
    make_owner(store);
    make_owner(other);
    for (const auto how : {let_go::free, let_go::drop}) {
        for (int round = 0; round < 25; ++round) {
            BOOST_TEST_CONTEXT("round " << round << (how == let_go::free ? ", free()" : ", handle dropped")) {
                auto [id, held] = save_new(store, counter_bag(round));
                const auto version = held.lock_version();
                if (how == let_go::free)
                    held.free();
                else
                    held = instance_handle{};  // the last copy goes
                // The reload is sent before the unlock free() scheduled has had a chance to run.
                auto reloaded = store.create_instance_handle(id);
                const auto r = run(store, reloaded, cmd::load_workflow{});
                r.require_ok();
                BOOST_TEST(counter_of(r.view) == round);
                BOOST_TEST(reloaded.lock_version() > version, "the lock changed hands, so the version moved on");
                check_holds_the_lock(*this, store, other, id, reloaded, round + 1);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_reload_right_after_free_holds_the_lock_blocking) {
    // The blocking execute does not run the io_context, so the unlock free() schedules always
    // comes after the reload here.
    auto& store = new_store();
    auto& other = new_store();
    make_owner(store);
    make_owner(other);
    for (int round = 0; round < 25; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            const uuid id = random_uuid();
            auto held = store.create_instance_handle(id);
            cmd::save_workflow save;
            save.instance_data = counter_bag(round);
            store.execute(held, save);
            held.free();
            auto reloaded = store.create_instance_handle(id);
            BOOST_TEST(counter_of(store.execute(reloaded, cmd::load_workflow{})) == round);
            // Blocking saves before and after the late unlock both find the lock held.
            save.instance_data = counter_bag(round + 1);
            store.execute(reloaded, save);
            check_holds_the_lock(*this, store, other, id, reloaded, round + 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_second_handle_is_refused_before_anything_is_written) {
    auto& store = new_store();
    auto& other = new_store();
    make_owner(store);
    make_owner(other);
    const uuid key = random_uuid();
    cmd::save_workflow save;
    save.instance_data = counter_bag(1);
    save.instance_keys_to_associate[key] = {};
    const uuid id = random_uuid();
    auto holder = store.create_instance_handle(id);
    run(store, holder, save).require_ok();

    // By key, with an extra key to associate: refused, and the extra key is not there after.
    const uuid extra = random_uuid();
    cmd::load_workflow_by_instance_key by_key(key);
    by_key.instance_keys_to_associate[extra] = property_bag{{"note", instance_value(std::string("never"))}};
    run(store, store.create_instance_handle(), by_key).require_error(errc::handle_conflict);

    // Load-or-create by a new key aimed at the held instance: refused, and neither key exists.
    const uuid lookup = random_uuid(), also = random_uuid();
    cmd::load_workflow_by_instance_key create(lookup);
    create.associate_instance_key_to_instance_id = id;
    create.accept_uninitialized_instance = true;
    create.instance_keys_to_associate[lookup] = {};
    create.instance_keys_to_associate[also] = {};
    run(store, store.create_instance_handle(), create).require_error(errc::handle_conflict);

    // The holder keeps its lock at its version, and its keys are exactly the one it saved.
    const auto version = holder.lock_version();
    save.instance_keys_to_associate.clear();
    save.unlock_instance = true;
    const auto saved = run(store, holder, save);
    saved.require_ok();
    BOOST_TEST(saved.view.keys.size() == 1u);
    BOOST_TEST(saved.view.keys.contains(key));
    BOOST_TEST(version >= 0);
    for (const uuid& never : {extra, lookup, also})
        run(other, other.create_instance_handle(), cmd::load_workflow_by_instance_key(never)).require_error(errc::key_not_found);
}

BOOST_AUTO_TEST_CASE(every_refused_load_by_key_writes_nothing) {
    // Each way a load by key can be refused, with keys to associate that must not appear.
    auto& store = new_store();
    auto& other = new_store();
    make_owner(store);
    make_owner(other);
    const uuid locked_id = random_uuid(), locked_key = random_uuid();
    cmd::save_workflow keep;
    keep.instance_data = counter_bag(1);
    keep.instance_keys_to_associate[locked_key] = {};
    auto holder = other.create_instance_handle(locked_id);
    run(other, holder, keep).require_ok();  // locked by the other owner
    const uuid initialized_id = random_uuid();
    cmd::save_workflow initialize;
    initialize.instance_data = counter_bag(3);
    initialize.unlock_instance = true;
    run(store, store.create_instance_handle(initialized_id), initialize).require_ok();
    const uuid completed_key = random_uuid();
    {
        cmd::save_workflow with_completed;
        with_completed.instance_data = counter_bag(2);
        with_completed.instance_keys_to_associate[completed_key] = {};
        with_completed.unlock_instance = true;
        auto h = store.create_instance_handle(random_uuid());
        run(store, h, with_completed).require_ok();
        cmd::save_workflow complete_key;
        complete_key.instance_keys_to_complete.push_back(completed_key);
        complete_key.unlock_instance = true;
        auto again = store.create_instance_handle();
        run(store, again, cmd::load_workflow_by_instance_key(completed_key)).require_ok();
        run(store, again, complete_key).require_ok();
    }

    struct refusal {
        const char* label;
        cmd::load_workflow_by_instance_key command;
        errc expected;
    };
    const auto lookup = [](const uuid& key) { return cmd::load_workflow_by_instance_key(key); };
    auto create_for = [](const uuid& key, const uuid& id) {
        cmd::load_workflow_by_instance_key c(key);
        c.associate_instance_key_to_instance_id = id;
        c.accept_uninitialized_instance = true;
        return c;
    };
    std::vector<refusal> refusals{
        {"locked by another owner", lookup(locked_key), errc::instance_locked},
        {"create aimed at a locked instance", create_for(random_uuid(), locked_id), errc::instance_locked},
        {"create aimed at an initialized instance", create_for(random_uuid(), initialized_id), errc::instance_exists},
        {"completed key", lookup(completed_key), errc::key_completed},
        {"unknown key", lookup(random_uuid()), errc::key_not_found},
    };
    for (auto& r : refusals) {
        BOOST_TEST_CONTEXT(r.label) {
            const uuid extra = random_uuid();
            r.command.instance_keys_to_associate[extra] = property_bag{{"x", instance_value(std::int64_t{1})}};
            const uuid looked_up = r.command.lookup_instance_key;
            run(store, store.create_instance_handle(), r.command).require_error(r.expected);
            run(store, store.create_instance_handle(), lookup(extra)).require_error(errc::key_not_found);
            if (r.command.associate_instance_key_to_instance_id)
                run(store, store.create_instance_handle(), lookup(looked_up)).require_error(errc::key_not_found);
        }
    }
}

BOOST_AUTO_TEST_CASE(timers_at_the_limits) {
    auto o = options();
    o.host_lock_renewal_period = std::chrono::seconds::max();  // the owner outlives the clock's jumps
    auto& store = new_store(o);
    make_owner(store);
    const auto save_with_timer = [](duration timer) {
        cmd::save_workflow save;
        save.instance_data = counter_bag(1);
        save.pending_timer = timer;
        save.unlock_instance = true;
        return save;
    };
    // duration::max() is the original's TimeSpan.MaxValue: "never". It must not wrap round
    // into the past and make the instance runnable at once.
    const uuid never = random_uuid();
    run(store, store.create_instance_handle(never), save_with_timer(duration::max())).require_ok();
    const uuid almost_never = random_uuid();
    run(store, store.create_instance_handle(almost_never), save_with_timer(duration::max() - duration{1})).require_ok();
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok().view.is_bound_to_instance());
    const auto detected = internal(store, cmd::detect_runnable_instances{}).require_ok().view;
    BOOST_TEST_REQUIRE(detected.next_runnable_time.has_value());
    BOOST_TEST((*detected.next_runnable_time == timestamp::max()), "the timer saturates at the last time there is");
    clock->advance(std::chrono::hours{24 * 365 * 1000});
    BOOST_TEST(!run(store, store.create_instance_handle(), cmd::try_load_runnable_workflow{}).require_ok().view.is_bound_to_instance());
    // The loaded instance still carries its timer, and the smallest timers fire at once.
    auto loaded = store.create_instance_handle(never);
    run(store, loaded, cmd::load_workflow{}).require_ok();
    std::vector<instance_handle> kept;  // a dropped handle would let its instance go back to the queue
    for (const duration timer : {duration{0}, duration{1}}) {
        BOOST_TEST_CONTEXT("timer of " << timer.count() << " us") {
            const uuid due = random_uuid();
            run(store, store.create_instance_handle(due), save_with_timer(timer)).require_ok();
            clock->advance(duration{1});
            kept.push_back(store.create_instance_handle());
            BOOST_TEST((run(store, kept.back(), cmd::try_load_runnable_workflow{}).require_ok().view.instance_id == due));
        }
    }
}

BOOST_AUTO_TEST_CASE(options_at_the_limits) {
    // A renewal period of seconds::max() is a lease that never runs out, not one that ended
    // before it began; background tasks run with every period at its largest.
    auto o = options();
    o.host_lock_renewal_period = std::chrono::seconds::max();
    o.runnable_instances_detection_period = std::chrono::seconds::max();
    o.locked_retry = locked_instance_retry::aggressive;
    o.locked_retry_timeout = std::chrono::milliseconds::max();
    o.run_background_tasks = true;
    BOOST_TEST((o.lease_duration() == duration::max()));
    auto& store = new_store(o);
    o.run_background_tasks = false;
    auto& other = new_store(o);
    make_owner(store);
    make_owner(other);
    auto [id, held] = save_new(other, counter_bag(1));
    clock->advance(std::chrono::hours{24 * 365 * 100});
    const auto saved = save_new(store, counter_bag(2));
    BOOST_TEST(saved.second.is_valid(), "the owner's lease is still live a hundred years on");

    // A locked load retried with an unbounded timeout still ends when cancelled.
    boost::asio::cancellation_signal cancel;
    bool done = false;
    error_code result;
    store.async_execute(store.create_instance_handle(id), cmd::load_workflow{},
                        boost::asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, instance_view) {
                            result = ec;
                            done = true;
                        }));
    boost::asio::steady_timer later(ioc, std::chrono::milliseconds(50));
    later.async_wait([&](error_code ec) {
        if (!ec) cancel.emit(boost::asio::cancellation_type::terminal);
    });
    test::run_until(ioc, [&] { return done; });
    later.cancel();
    BOOST_TEST((result == boost::asio::error::operation_aborted), result.message());
    stores.clear();  // stops the background tasks before the fixture checks for leftover work
}

BOOST_AUTO_TEST_CASE(a_load_decodes_no_more_than_max_bag_bytes) {
    // Stored blobs are untrusted input: a store refuses to decode a bag larger than its limit,
    // whoever wrote it, with an error that names the option.
    auto& writer = new_store();
    make_owner(writer);
    auto [id, handle] = save_new(writer, property_bag{{"big", instance_value(std::string(4096, 'x'))}}, true);
    auto small = options();
    small.max_bag_bytes = 1024;
    auto& reader = new_store(small);
    make_owner(reader);
    const auto r = load(reader, id);
    r.require_error(errc::value_too_large);
    BOOST_TEST(r.diag.message.find("max_bag_bytes") != std::string::npos, r.diag.message);
    BOOST_TEST(counter_of_big(load(writer, id).require_ok().view) == 4096u, "the writer's limit still reads it");
}

BOOST_AUTO_TEST_CASE(nans_come_back_bit_for_bit) {
    // NaN != NaN, so bags holding one cannot be compared with ==: compare the bits.
    auto& store = new_store();
    make_owner(store);
    const std::uint64_t patterns[] = {0x7ff8'0000'0000'0000, 0xfff8'0000'0000'0001, 0x7ff4'0000'dead'beef, 0xffff'ffff'ffff'ffff};
    property_bag bag;
    for (const auto bits : patterns) bag[name{"", "nan " + std::to_string(bits)}] = instance_value(std::bit_cast<double>(bits));
    auto [id, handle] = save_new(store, bag, true);
    const auto loaded = load(store, id).require_ok().view;
    for (const auto bits : patterns) {
        const auto& v = loaded.data.at(name{"", "nan " + std::to_string(bits)}).get();
        BOOST_TEST_REQUIRE(std::holds_alternative<double>(v));
        BOOST_TEST(std::bit_cast<std::uint64_t>(std::get<double>(v)) == bits);
    }
}

BOOST_AUTO_TEST_SUITE_END()
