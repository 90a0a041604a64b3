// Damaged and misplaced records: each is reported wherever it is used, never read as absent,
// and never stops the store from serving the rest.

#include "xml_fixture.hpp"

#include <durable/store_clock.hpp>

#include <mutex>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {

/// Collects what stores report through store_options::on_damaged_record.
struct damage_log {
    std::mutex mutex;
    std::vector<damaged_record> seen;

    std::function<void(const damaged_record&)> handler() {
        return [this](const damaged_record& d) {
            std::scoped_lock lock(mutex);
            seen.push_back(d);
        };
    }
    bool mentions(const fs::path& file) {
        std::scoped_lock lock(mutex);
        return std::any_of(seen.begin(), seen.end(),
                           [&](const damaged_record& d) { return d.message.find(file.string()) != std::string::npos; });
    }
};

fs::path instance_file(const fs::path& dir, const uuid& id) { return dir / "instances" / (to_string(id) + ".xml"); }
fs::path key_file(const fs::path& dir, const uuid& id) { return dir / "keys" / (to_string(id) + ".xml"); }
fs::path owner_file(const fs::path& dir, const uuid& id) { return dir / "owners" / (to_string(id) + ".xml"); }

/// The blocking form's error, diagnostics included.
template <class Command>
std::pair<error_code, diagnostics> attempt(xml_instance_store& store, instance_handle handle, Command cmd) {
    error_code ec;
    diagnostics diag;
    store.execute(std::move(handle), std::move(cmd), ec, diag);
    return {ec, diag};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(damage, xml_fixture)

BOOST_AUTO_TEST_CASE(a_damaged_or_missing_key_file_is_reported_wherever_the_instance_is_loaded) {
    const uuid id = random_uuid(), other = random_uuid(), damaged_key = random_uuid(), good_key = random_uuid();
    {
        auto store = open();
        cmd::save_workflow save = save_counter(1);
        save.instance_keys_to_associate[damaged_key] = {};
        save.instance_keys_to_associate[good_key] = {};
        store->execute(store->create_instance_handle(id), save);
        store->execute(store->create_instance_handle(other), save_counter(2));
    }
    const auto damaged = key_file(dir, damaged_key);
    const std::string original = read_file(damaged);
    for (const bool remove : {false, true}) {
        BOOST_TEST_CONTEXT((remove ? "key file removed" : "key file damaged")) {
            if (remove)
                fs::remove(damaged);
            else
                write_file(damaged, "<key");
            auto store = open();
            const std::string says = remove ? "no record of that key exists" : damaged.string();
            // By id, and through either key: the damage is reported, not a key quietly missing.
            for (const auto& [label, result] :
                 {std::pair{"by id", attempt(*store, store->create_instance_handle(id), cmd::load_workflow{})},
                  std::pair{"by the good key", attempt(*store, store->create_instance_handle(),
                                                       cmd::load_workflow_by_instance_key(good_key))}}) {
                BOOST_TEST_CONTEXT(label) {
                    BOOST_TEST((result.first == errc::corrupt_data), result.first.message());
                    BOOST_TEST(result.second.message.find(says) != std::string::npos, result.second.message);
                }
            }
            if (!remove) {
                const auto [ec, diag] = attempt(*store, store->create_instance_handle(), cmd::load_workflow_by_instance_key(damaged_key));
                BOOST_TEST((ec == errc::corrupt_data), ec.message());
                BOOST_TEST(diag.message.find(damaged.string()) != std::string::npos, diag.message);
            }
            // The rest of the store keeps working.
            auto h = store->create_instance_handle(other);
            BOOST_TEST(counter_of(store->execute(h, cmd::load_workflow{})) == 2);
            store->execute(h, save_counter(2));
            write_file(damaged, original);
        }
    }
    auto store = open();
    const auto view = store->execute(store->create_instance_handle(id), cmd::load_workflow{});
    BOOST_TEST(view.keys.size() == 2u, "restored, the key is back");
}

BOOST_AUTO_TEST_CASE(a_file_copied_under_another_id_is_refused_and_changes_nothing) {
    const uuid original = random_uuid(), copy = random_uuid(), key = random_uuid(), copied_key = random_uuid();
    {
        auto store = open();
        cmd::save_workflow save = save_counter(7);
        save.instance_keys_to_associate[key] = {};
        store->execute(store->create_instance_handle(original), save);
    }
    fs::copy_file(instance_file(dir, original), instance_file(dir, copy));
    fs::copy_file(key_file(dir, key), key_file(dir, copied_key));
    const std::string original_text = read_file(instance_file(dir, original));
    auto store = open();

    // Loading the copy, saving over it and loading by the copied key all fail, naming the file.
    const auto copy_file = instance_file(dir, copy).string();
    for (const auto& [label, result] :
         {std::pair{"load", attempt(*store, store->create_instance_handle(copy), cmd::load_workflow{})},
          std::pair{"save", attempt(*store, store->create_instance_handle(copy), save_counter(8))}}) {
        BOOST_TEST_CONTEXT(label) {
            BOOST_TEST((result.first == errc::corrupt_data), result.first.message());
            BOOST_TEST(result.second.message.find(copy_file) != std::string::npos, result.second.message);
            BOOST_TEST(result.second.message.find("holds instance " + to_string(original)) != std::string::npos,
                       result.second.message);
        }
    }
    const auto [ec, diag] = attempt(*store, store->create_instance_handle(), cmd::load_workflow_by_instance_key(copied_key));
    BOOST_TEST((ec == errc::corrupt_data), ec.message());
    BOOST_TEST(diag.message.find(key_file(dir, copied_key).string()) != std::string::npos, diag.message);

    // The original was never touched and still loads.
    BOOST_TEST(read_file(instance_file(dir, original)) == original_text);
    BOOST_TEST(counter_of(store->execute(store->create_instance_handle(original), cmd::load_workflow{})) == 7);
}

BOOST_AUTO_TEST_CASE(damaged_owner_files_do_not_stop_recovery_or_queries) {
    auto clock = std::make_shared<manual_clock>(timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}});
    damage_log damage;
    store_options options;
    options.clock = clock;
    options.on_damaged_record = damage.handler();

    // A host that crashes holding an instance, an owner whose host type the old "{ns}local"
    // text form could not read back, and an owner whose file is then damaged by hand.
    const uuid orphan = random_uuid();
    auto crashed = open(options);
    crashed->execute(crashed->create_instance_handle(orphan), save_counter(5, false));
    auto odd = std::make_unique<xml_instance_store>(ioc.get_executor(), dir, options);
    {
        cmd::create_workflow_owner create;
        create.workflow_host_type = name{"", "{unterminated"};
        odd->execute(odd->create_instance_handle(), create);
    }
    auto damaged_store = open(options);
    const auto damaged_owner = owner_file(dir, damaged_store->owner().id());
    write_file(damaged_owner, "not xml at all");
    const auto copied_owner = owner_file(dir, random_uuid());
    fs::copy_file(owner_file(dir, crashed->owner().id()), copied_owner);

    clock->advance(options.lease_duration() + std::chrono::seconds{1});  // every owner above is now expired
    auto survivor = open(options);
    survivor->execute(survivor->create_instance_handle(), cmd::recover_instance_locks{});
    BOOST_TEST(damage.mentions(damaged_owner), "the damaged owner is reported");
    BOOST_TEST(damage.mentions(copied_owner), "so is an owner file copied under another id");
    const auto loaded = survivor->create_instance_handle();
    const auto view = survivor->execute(loaded, cmd::try_load_runnable_workflow{});
    BOOST_TEST((view.instance_id == orphan), "the crashed host's instance was recovered all the same");
    BOOST_CHECK_NO_THROW(survivor->execute(survivor->create_instance_handle(), cmd::query_activatable_workflows{}));
}

BOOST_AUTO_TEST_CASE(try_load_passes_over_a_damaged_runnable_instance) {
    auto clock = std::make_shared<manual_clock>(timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}});
    damage_log damage;
    store_options options;
    options.clock = clock;
    options.on_damaged_record = damage.handler();
    const uuid first = random_uuid(), second = random_uuid();
    {
        auto store = open(options);
        cmd::save_workflow ready = save_counter(1);
        ready.ready_to_run = true;
        store->execute(store->create_instance_handle(first), ready);
        clock->advance(std::chrono::seconds{1});
        store->execute(store->create_instance_handle(second), ready);
    }
    // The control part stays readable, so the index still lists it first in the queue; its
    // data does not parse.
    const auto damaged = instance_file(dir, first);
    const std::string text = read_file(damaged);
    write_file(damaged, std::regex_replace(text, std::regex("kind=\"int64\">1<"), "kind=\"int64\">one<"));
    BOOST_TEST_REQUIRE(read_file(damaged) != text);

    auto store = open(options);
    const auto loaded = store->create_instance_handle();
    BOOST_TEST((store->execute(loaded, cmd::try_load_runnable_workflow{}).instance_id == second));
    BOOST_TEST(damage.mentions(damaged));
    BOOST_TEST(!store->execute(store->create_instance_handle(), cmd::try_load_runnable_workflow{}).is_bound_to_instance());
    const auto [ec, diag] = attempt(*store, store->create_instance_handle(first), cmd::load_workflow{});
    BOOST_TEST((ec == errc::corrupt_data), ec.message());
}

BOOST_AUTO_TEST_CASE(a_missing_store_header_is_damage_not_a_new_store) {
    {
        auto store = open();
        store->execute(store->create_instance_handle(random_uuid()), save_counter(1));
    }
    fs::remove(dir / "store.xml");
    try {
        open();
        BOOST_FAIL("a store whose store.xml was deleted opened");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::corrupt_data), e.code().message());
        BOOST_TEST(std::string(e.what()).find("store.xml is missing") != std::string::npos, e.what());
    }
    BOOST_TEST(!fs::exists(dir / "store.xml"), "nothing was re-created over the records");
}

BOOST_AUTO_TEST_CASE(a_store_is_made_only_in_an_empty_directory) {
    fs::create_directories(dir);
    write_file(dir / "notes.txt", "mine");
    try {
        open();
        BOOST_FAIL("a store was made in a directory of somebody else's files");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::store_unavailable), e.code().message());
        BOOST_TEST(std::string(e.what()).find("not empty") != std::string::npos, e.what());
    }
    BOOST_TEST(!fs::exists(dir / "store.xml"));
    BOOST_TEST(read_file(dir / "notes.txt") == "mine");

    fs::remove(dir / "notes.txt");
    // What a crash while making the store leaves behind does not count.
    write_file(dir / "store.xml.0123456789abcdef.tmp", "<sto");
    BOOST_CHECK_NO_THROW(open());
    BOOST_TEST(fs::exists(dir / "store.xml"));
    BOOST_TEST(!fs::exists(dir / "store.xml.0123456789abcdef.tmp"));
}



BOOST_AUTO_TEST_CASE(damage_found_while_opening_reaches_the_callers_handler) {
    // The public constructor hands the caller's options to the backend before the facade takes
    // them: a damaged record found while the index is rebuilt goes to the caller's handler.
    const uuid damaged = random_uuid();
    {
        auto store = open();
        store->execute(store->create_instance_handle(damaged), save_counter(1));
    }
    write_file(instance_file(dir, damaged), "<instance xmlns=\"urn:durable:xml-store:2\"");
    damage_log damage;
    store_options options;
    options.on_damaged_record = damage.handler();
    xml_instance_store store(ioc.get_executor(), dir, options);
    BOOST_TEST(damage.mentions(instance_file(dir, damaged)), "the opening's report reached the handler");
}

BOOST_AUTO_TEST_SUITE_END()
