// The store touches only its own files: links planted in the directory are never followed, a
// journal cannot point outside it, and files that merely look like the store's are left alone.

#include "xml_fixture.hpp"

#include <chrono>
#include <sys/stat.h>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {

struct outside_directory {
    fs::path path = fs::temp_directory_path() / ("durable-outside-" + to_string(random_uuid()));
    outside_directory() { fs::create_directories(path); }
    ~outside_directory() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

fs::path instance_file(const fs::path& dir, const uuid& id) { return dir / "instances" / (to_string(id) + ".xml"); }

template <class Command>
std::pair<error_code, diagnostics> attempt(xml_instance_store& store, instance_handle handle, Command cmd) {
    error_code ec;
    diagnostics diag;
    store.execute(std::move(handle), std::move(cmd), ec, diag);
    return {ec, diag};
}

void expect_open_to_fail(xml_fixture& fx, errc expected, const std::string& says) {
    try {
        fx.open();
        BOOST_FAIL("the store opened");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == expected), e.code().message());
        BOOST_TEST(std::string(e.what()).find(says) != std::string::npos, e.what());
    }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(directory_safety, xml_fixture)

BOOST_AUTO_TEST_CASE(a_link_where_a_record_should_be_is_never_followed) {
    outside_directory outside;
    const auto victim = outside.path / "victim.txt";
    write_file(victim, "precious");
    const uuid existing = random_uuid(), fresh = random_uuid();
    auto store = open();
    store->execute(store->create_instance_handle(existing), save_counter(1));
    fs::remove(instance_file(dir, existing));
    fs::create_symlink(victim, instance_file(dir, existing));
    fs::create_symlink(outside.path / "created.txt", instance_file(dir, fresh));
    store = open();  // nothing cached: every read goes to the files

    for (const auto& [label, result] :
         {std::pair{"load through a link", attempt(*store, store->create_instance_handle(existing), cmd::load_workflow{})},
          std::pair{"save through a link", attempt(*store, store->create_instance_handle(existing), save_counter(2))},
          std::pair{"save of a new instance through a link", attempt(*store, store->create_instance_handle(fresh), save_counter(3))}}) {
        BOOST_TEST_CONTEXT(label) {
            BOOST_TEST((result.first == errc::corrupt_data), result.first.message());
            BOOST_TEST(result.second.message.find("symbolic link") != std::string::npos, result.second.message);
        }
    }
    BOOST_TEST(read_file(victim) == "precious");
    BOOST_TEST(!fs::exists(outside.path / "created.txt"));
    BOOST_TEST(fs::is_symlink(instance_file(dir, existing)), "the store did not replace the link with a file of its own either");
}

BOOST_AUTO_TEST_CASE(a_fifo_where_a_record_should_be_does_not_hang_the_store) {
    auto store = open();
    const uuid id = random_uuid();
    BOOST_TEST_REQUIRE(::mkfifo(instance_file(dir, id).c_str(), 0644) == 0);
    const auto started = std::chrono::steady_clock::now();
    const auto [ec, diag] = attempt(*store, store->create_instance_handle(id), cmd::load_workflow{});
    BOOST_TEST((ec == errc::corrupt_data), ec.message());
    BOOST_TEST(diag.message.find("not a regular file") != std::string::npos, diag.message);
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(10)));
}

BOOST_AUTO_TEST_CASE(a_linked_subdirectory_is_refused) {
    outside_directory outside;
    open();
    fs::remove_all(dir / "keys");
    fs::create_directory_symlink(outside.path, dir / "keys");
    expect_open_to_fail(*this, errc::store_unavailable, "keys is not a directory of the store");
    BOOST_TEST(fs::is_empty(outside.path));
}

BOOST_AUTO_TEST_CASE(a_journal_that_points_outside_the_store_is_refused_whole) {
    outside_directory outside;
    const auto victim = outside.path / "victim.txt";
    const uuid id = random_uuid();
    const std::string record = "instances/" + to_string(id) + ".xml";
    const std::vector<std::pair<std::string, std::string>> journals{
        {"a target outside", "<remove target=\"../" + outside.path.filename().string() + "/victim.txt\"/>"},
        {"an absolute target", "<remove target=\"" + victim.string() + "\"/>"},
        {"a target that is not a record", "<remove target=\"instances/notes.xml\"/>"},
        {"a temp file outside",
         "<replace temp=\"instances/../../" + outside.path.filename().string() + "/victim.txt\" target=\"" + record + "\"/>"},
        {"a temp file the store never makes", "<replace temp=\"instances/mine.tmp\" target=\"" + record + "\"/>"},
        {"a temp file of another target",
         "<replace temp=\"instances/" + to_string(random_uuid()) + ".xml.0123456789abcdef.tmp\" target=\"" + record + "\"/>"},
    };
    open();
    for (const auto& [label, step] : journals) {
        BOOST_TEST_CONTEXT(label) {
            write_file(victim, "precious");
            // A legitimate step first: it must not be applied either.
            const auto journal = dir / "journal.1.1.xml";
            write_file(journal, "<journal><remove target=\"" + record + "\"/>" + step + "</journal>");
            write_file(instance_file(dir, id), "kept");
            expect_open_to_fail(*this, errc::corrupt_data, journal.string());
            BOOST_TEST(read_file(victim) == "precious");
            BOOST_TEST(read_file(instance_file(dir, id)) == "kept", "no step of a refused journal is applied");
            fs::remove(journal);
            fs::remove(instance_file(dir, id));
        }
    }
}

BOOST_AUTO_TEST_CASE(only_the_stores_own_temp_and_journal_names_are_touched) {
    open();
    const uuid id = random_uuid();
    const std::vector<fs::path> users_files{
        dir / "my.tmp",
        dir / "journal.notes.xml",
        dir / "journal.1.xml",
        dir / "instances" / "readme.tmp",
        dir / "instances" / (to_string(id) + ".xml.123.4.tmp"),  // not 16 hex digits
        dir / "instances" / "notes.xml.0123456789abcdef.tmp",    // not a record's temp
    };
    for (const auto& f : users_files) write_file(f, "<journal><remove target=\"instances/x.xml\"/></journal>");
    const auto stores_own = dir / "instances" / (to_string(id) + ".xml.0123456789abcdef.tmp");
    write_file(stores_own, "half a fi");
    open();
    for (const auto& f : users_files) BOOST_TEST(fs::exists(f), f.string() << " was left alone");
    BOOST_TEST(!fs::exists(stores_own), "a temp file the store made is cleaned up");
}

BOOST_AUTO_TEST_SUITE_END()
