#include "xml_fixture.hpp"

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {
error_code open_error(const fs::path& dir, xml_store_settings settings, std::string& message) {
    boost::asio::io_context ioc;
    try {
        xml_instance_store store(ioc.get_executor(), dir, {}, std::move(settings));
    } catch (const store_error& e) {
        message = e.what();
        return e.code();
    }
    return {};
}
}  // namespace

BOOST_FIXTURE_TEST_SUITE(bad_input, xml_fixture)

BOOST_AUTO_TEST_CASE(missing_directory_without_create) {
    xml_store_settings settings;
    settings.create_if_missing = false;
    std::string message;
    BOOST_TEST((open_error(dir, settings, message) == errc::store_unavailable));
    BOOST_TEST(message.find(dir.string()) != std::string::npos, message);
    BOOST_TEST(message.find("does not exist") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(directory_whose_parent_is_missing) {
    std::string message;
    BOOST_TEST((open_error(dir / "a" / "b", {}, message) == errc::store_unavailable));
    BOOST_TEST(message.find("cannot create") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(a_file_where_the_directory_should_be) {
    write_file(dir, "not a directory");
    std::string message;
    BOOST_TEST((open_error(dir, {}, message) == errc::store_unavailable));
    BOOST_TEST(message.find("not a directory") != std::string::npos, message);
    fs::remove(dir);
}

BOOST_AUTO_TEST_CASE(newer_format_and_corrupt_header) {
    open();  // creates the layout
    const auto header = dir / "store.xml";
    auto text = read_file(header);
    write_file(header, std::regex_replace(text, std::regex("format-version=\"1\""), "format-version=\"2\""));
    std::string message;
    BOOST_TEST((open_error(dir, {}, message) == errc::unsupported_format));
    BOOST_TEST(message.find("format version 2") != std::string::npos, message);

    write_file(header, "<store xmlns=\"urn:durable:xml-store:1\" format-version=");
    BOOST_TEST((open_error(dir, {}, message) == errc::corrupt_data));
    BOOST_TEST(message.find("offset") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(damaged_instance_files_are_reported_and_the_others_keep_working) {
    const uuid good = random_uuid();
    const uuid bad = random_uuid();
    auto store = open();
    store->execute(store->create_instance_handle(good), save_counter(1));
    store->execute(store->create_instance_handle(bad), save_counter(2));
    const auto bad_file = dir / "instances" / (to_string(bad) + ".xml");
    const std::string original = read_file(bad_file);

    struct damage {
        std::string label;
        std::string text;
        errc expected;
        std::string says;
    };
    const std::vector<damage> cases{
        {"truncated", original.substr(0, original.size() / 2), errc::corrupt_data, "offset"},
        {"empty", "", errc::corrupt_data, "empty"},
        {"not XML", "\x01\x02 garbage {", errc::corrupt_data, "offset"},
        {"foreign", "<instance xmlns=\"urn:someone-else\"/>", errc::unsupported_format, "urn:someone-else"},
        {"missing element",
         std::regex_replace(original, std::regex("<status[^>]*/>"), ""), errc::corrupt_data, "/instance/status"},
        {"bad attribute", std::regex_replace(original, std::regex("version=\"[0-9]+\""), "version=\"x\""),
         errc::corrupt_data, "not an integer"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.label) {
            write_file(bad_file, c.text);
            store.reset();
            store = open();  // opening survives a damaged instance file
            error_code ec;
            diagnostics diag;
            store->execute(store->create_instance_handle(bad), cmd::load_workflow{}, ec, diag);
            BOOST_TEST((ec == c.expected), ec.message());
            BOOST_TEST(diag.message.find(bad_file.string()) != std::string::npos, diag.message);
            BOOST_TEST(diag.message.find(c.says) != std::string::npos, diag.message);

            auto h = store->create_instance_handle(good);
            BOOST_TEST(counter_of(store->execute(h, cmd::load_workflow{})) == 1);
            store->execute(h, save_counter(1));
        }
    }
}

BOOST_AUTO_TEST_CASE(stray_temp_files_are_removed_at_open) {
    open();
    const auto stray = dir / "instances" / "leftover.xml.123.4.tmp";
    write_file(stray, "half a fi");
    open();
    BOOST_TEST(!fs::exists(stray));
}

BOOST_AUTO_TEST_CASE(files_are_readable_xml) {
    auto store = open();
    const uuid id = random_uuid();
    cmd::save_workflow save = save_counter(41);
    save.instance_data->emplace("note", instance_value(std::string("ship on Monday")));
    store->execute(store->create_instance_handle(id), save);
    const auto text = read_file(dir / "instances" / (to_string(id) + ".xml"));
    BOOST_TEST(text.find("<property name=\"note\" kind=\"string\">ship on Monday</property>") != std::string::npos, text);
    BOOST_TEST(text.find("kind=\"int64\">41<") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()
