// Injected I/O failures at each step of a durable write: the command fails with a clear
// error, nothing acknowledged is lost, and the store keeps working.

#include "xml_fixture.hpp"

#include "xml_record_store.hpp"  // the cache-versus-failure window is the record store's own

#include <durable/extension/record_store.hpp>

#include <condition_variable>
#include <future>
#include <mutex>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {
/// Fails the n-th time `step` is reached for a file under `subdir`, once.
struct fault_plan {
    testing::write_step step;
    std::string subdir;
    bool armed = false;
    void operator()(testing::write_step s, const fs::path& file) {
        if (armed && s == step && file.string().find("/" + subdir) != std::string::npos) {
            armed = false;
            throw extension::record_error(errc::store_unavailable,
                                          std::string("injected failure at ") + to_string(s) + " of " + file.string());
        }
    }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(faults, xml_fixture)

BOOST_AUTO_TEST_CASE(a_failed_single_file_save_changes_nothing) {
    using testing::write_step;
    for (const write_step step : {write_step::write, write_step::fsync, write_step::rename, write_step::sync_directory}) {
        BOOST_TEST_CONTEXT(to_string(step)) {
            auto plan = std::make_shared<fault_plan>(fault_plan{step, "instances"});
            auto store = open({}, {}, [plan](write_step s, const fs::path& f) { (*plan)(s, f); });
            const uuid id = random_uuid();
            auto h = store->create_instance_handle(id);
            store->execute(h, save_counter(1, false));
            plan->armed = true;
            error_code ec;
            diagnostics diag;
            store->execute(h, save_counter(2, false), ec, diag);
            // Once the new file is renamed into place, a failure leaves the commit in doubt.
            const errc expected = step == write_step::sync_directory ? errc::commit_in_doubt : errc::store_unavailable;
            BOOST_TEST((ec == expected), ec.message());
            BOOST_TEST(diag.message.find(std::string("injected failure at ") + to_string(step)) != std::string::npos,
                       diag.message);
            BOOST_TEST(h.is_valid(), "an I/O failure does not doom the handle");
            // sync-directory fails after the rename: the new file may be in place. Anything
            // earlier must leave the acknowledged value.
            store->execute(h, save_counter(3));
            BOOST_TEST(counter_of(store->execute(store->create_instance_handle(id), cmd::load_workflow{})) == 3);
            std::size_t temps = 0;
            for (const auto& e : fs::directory_iterator(dir / "instances")) temps += e.path().extension() == ".tmp";
            BOOST_TEST(temps == 0u, "a failed write leaves no temp file behind");
        }
    }
}

namespace {
/// A save that writes two files (instance and key), failing once at `step` under `subdir`.
struct two_file_save {
    uuid id = random_uuid();
    uuid key = random_uuid();
    error_code ec;
    diagnostics diag;
};

two_file_save save_two_files_with_fault(xml_fixture& fx, std::unique_ptr<xml_instance_store>& store,
                                        testing::write_step step,
                                        const char* subdir) {
    auto plan = std::make_shared<fault_plan>(fault_plan{step, subdir});
    store = fx.open({}, {}, [plan](testing::write_step s, const fs::path& f) { (*plan)(s, f); });
    two_file_save result;
    cmd::save_workflow save = save_counter(7);
    save.instance_keys_to_associate[result.key] = {};
    plan->armed = true;
    store->execute(store->create_instance_handle(result.id), save, result.ec, result.diag);
    return result;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_journalled_commit_interrupted_after_the_journal_is_completed_later) {
    std::unique_ptr<xml_instance_store> store;
    const auto r = save_two_files_with_fault(*this, store, testing::write_step::rename, "keys");
    BOOST_TEST((r.ec == errc::commit_in_doubt), r.ec.message() << ": " << r.diag.message);
    BOOST_TEST(journal_files() == 1u);

    // The same store finishes the commit before its next command, so no command ever works on
    // the files as they were, only to have a later replay write over it.
    const auto same = store->execute(store->create_instance_handle(), cmd::load_workflow_by_instance_key(r.key));
    BOOST_TEST((same.instance_id == r.id));
    BOOST_TEST(counter_of(same) == 7);
    BOOST_TEST(journal_files() == 0u);
    cmd::save_workflow unload;
    unload.unlock_instance = true;
    store->execute(store->create_instance_handle(r.id), unload);

    // And another process (here: a fresh store object) sees it too.
    store.reset();
    auto reopened = open();
    BOOST_TEST(journal_files() == 0u);
    const auto view = reopened->execute(reopened->create_instance_handle(), cmd::load_workflow_by_instance_key(r.key));
    BOOST_TEST((view.instance_id == r.id));
    BOOST_TEST(counter_of(view) == 7);
}

BOOST_AUTO_TEST_CASE(a_commit_that_fails_before_its_journal_leaves_nothing) {
    std::unique_ptr<xml_instance_store> store;
    const auto r = save_two_files_with_fault(*this, store, testing::write_step::fsync, "keys");
    BOOST_TEST((r.ec == errc::store_unavailable), r.ec.message());
    error_code ec;
    diagnostics diag;
    store->execute(store->create_instance_handle(r.id), cmd::load_workflow{}, ec, diag);
    BOOST_TEST((ec == errc::instance_not_found), "neither file of the failed commit exists");
    BOOST_TEST(fs::is_empty(dir / "keys"));
}

BOOST_AUTO_TEST_CASE(a_read_waiting_on_a_commit_that_fails_sees_the_file_not_the_cache) {
    // The commit's fsync blocks until the test lets it fail; meanwhile a read of the same record
    // is waiting for it. The cache already holds the failed commit's record: the read must
    // come back with what is on disk.
    std::mutex m;
    std::condition_variable cv;
    bool armed = false, reached = false, release = false;
    auto hook = [&](testing::write_step step, const fs::path& file) {
        if (step != testing::write_step::fsync || file.string().find("/instances/") == std::string::npos) return;
        std::unique_lock lock(m);
        if (!armed) return;
        reached = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        throw extension::record_error(errc::store_unavailable, "injected failure at fsync");
    };
    fs::create_directories(dir);
    record_store_settings settings;
    settings.cached_records = 100;
    settings.hook = hook;
    xml_record_store records(dir, settings);
    // Decides a commit of `r` under the guard, as the engine does; returns its second phase.
    const auto decide = [&records](const extension::instance_record& r) {
        extension::change_set changes;
        changes.instances[r.id] = r;
        auto guard = records.lock_exclusive({});
        return records.commit(std::move(changes));
    };

    extension::instance_record v1;
    v1.id = random_uuid();
    v1.version = 1;
    v1.execution_status = "durable";
    decide(v1)();

    extension::instance_record v2 = v1;
    v2.version = 2;
    v2.execution_status = "never durable";
    auto failing = decide(v2);
    {
        std::scoped_lock lock(m);
        armed = true;
    }
    auto commit_result = std::async(std::launch::async, [&] { failing(); });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return reached; });
    }
    auto read_result = std::async(std::launch::async, [&] {
        auto guard = records.lock_exclusive({});
        return records.find_instance(v1.id, false);
    });
    BOOST_TEST((read_result.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout),
               "the read waits while the commit is in flight");
    {
        std::scoped_lock lock(m);
        release = true;
        armed = false;
    }
    cv.notify_all();
    BOOST_CHECK_THROW(commit_result.get(), extension::record_error);
    const auto seen = read_result.get();
    BOOST_REQUIRE(seen);
    BOOST_TEST(seen->version == 1);
    BOOST_TEST(seen->execution_status == "durable");

    // And the next command, with the index rebuilt, sees the same.
    auto guard = records.lock_exclusive({});
    const auto again = records.find_instance(v1.id, true);
    BOOST_REQUIRE(again);
    BOOST_TEST(again->version == 1);
}

BOOST_AUTO_TEST_SUITE_END()
