#include "xml_fixture.hpp"

#include "xml_format.hpp"  // partial reads are the record store's own

#include <durable/extension/record_store.hpp>

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
    write_file(header, std::regex_replace(text, std::regex("format-version=\"2\""), "format-version=\"3\""));
    std::string message;
    BOOST_TEST((open_error(dir, {}, message) == errc::unsupported_format));
    BOOST_TEST(message.find("format version 3") != std::string::npos, message);

    // A version-1 store wrote names and control characters in forms version 2 would misread.
    write_file(header, std::regex_replace(std::regex_replace(text, std::regex("format-version=\"2\""), "format-version=\"1\""),
                                          std::regex("xml-store:2"), "xml-store:1"));
    BOOST_TEST((open_error(dir, {}, message) == errc::unsupported_format));
    BOOST_TEST(message.find("urn:durable:xml-store:1") != std::string::npos, message);

    write_file(header, "<store xmlns=\"urn:durable:xml-store:2\" format-version=");
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
    const auto stray = dir / "instances" / (to_string(random_uuid()) + ".xml.0123456789abcdef.tmp");
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

BOOST_FIXTURE_TEST_SUITE(values_in_files, xml_fixture)

BOOST_AUTO_TEST_CASE(binary_values_of_every_length_round_trip_through_base64) {
    auto store = open();
    const uuid id = random_uuid();
    property_bag data;
    for (std::size_t n = 0; n <= 70; ++n) {  // every padding case, and the 4-character fast path
        bytes b(n);
        for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 37 + n);
        data[name{"len" + std::to_string(n)}] = instance_value(b);
    }
    bytes large(100'003);
    for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<std::uint8_t>(i * 131 >> 3);
    data["large"] = instance_value(opaque{"application/octet-stream", large});
    data["control chars"] = instance_value(std::string("a\0b\x01\x1f", 5));  // not XML: stored as base64
    cmd::save_workflow save;
    save.instance_data = data;
    save.unlock_instance = true;
    store->execute(store->create_instance_handle(id), save);

    auto reopened = open();  // reads the file, not anything cached
    BOOST_TEST((reopened->execute(reopened->create_instance_handle(id), cmd::load_workflow{}).data == data));
}

BOOST_AUTO_TEST_CASE(base64_wrapped_by_a_person_still_reads) {
    auto store = open();
    const uuid id = random_uuid();
    const bytes value{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    cmd::save_workflow save = save_counter(1);
    save.instance_data->emplace("blob", instance_value(value));
    store->execute(store->create_instance_handle(id), save);
    const auto file = dir / "instances" / (to_string(id) + ".xml");
    // "AQIDBAUGBwgJCgs=" wrapped over lines with spaces, as an editor might leave it
    write_file(file, std::regex_replace(read_file(file), std::regex("AQIDBAUGBwgJCgs="), "AQID\n  BAUG BwgJ\n  Cgs="));
    auto reopened = open();
    const auto view = reopened->execute(reopened->create_instance_handle(id), cmd::load_workflow{});
    BOOST_TEST((std::get<bytes>(view.data.at("blob").get()) == value));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(partial_reads, xml_fixture)

BOOST_AUTO_TEST_CASE(a_record_read_without_its_data_is_never_written_back) {
    auto store = open();
    const uuid id = random_uuid();
    store->execute(store->create_instance_handle(id), save_counter(5));
    const auto file = dir / "instances" / (to_string(id) + ".xml");
    const auto control = parse_instance(read_file(file), file.string(), /*with_data=*/false);
    BOOST_TEST(control.data_omitted);
    BOOST_TEST(control.read_write_primitive.empty());
    BOOST_CHECK_THROW(render_instance(control), extension::record_error);  // would drop the data
    const auto full = parse_instance(read_file(file), file.string());
    BOOST_TEST(!full.data_omitted);
    BOOST_TEST(!full.read_write_primitive.empty());
    BOOST_CHECK_NO_THROW(render_instance(full));
}

BOOST_AUTO_TEST_CASE(saves_that_skip_the_old_data_keep_everything_else) {
    auto store = open();
    const uuid id = random_uuid(), key = random_uuid();
    auto h = store->create_instance_handle(id);
    cmd::save_workflow first = save_counter(1, false);
    first.instance_metadata_changes["m"] = instance_value(std::string("kept"));
    first.instance_keys_to_associate[key] = {};
    store->execute(h, first);
    store->execute(h, save_counter(2, false));  // reads the instance without its data
    cmd::save_workflow metadata_only;           // reads it with its data, and keeps it
    metadata_only.instance_metadata_changes["n"] = instance_value(std::int64_t{3});
    metadata_only.unlock_instance = true;
    store->execute(h, metadata_only);
    auto reopened = open();
    const auto view = reopened->execute(reopened->create_instance_handle(), cmd::load_workflow_by_instance_key(key));
    BOOST_TEST(counter_of(view) == 2);
    BOOST_TEST(view.metadata.contains("m"));
    BOOST_TEST(view.metadata.contains("n"));
}

BOOST_AUTO_TEST_SUITE_END()
