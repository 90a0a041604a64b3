// libFuzzer target: arbitrary bytes as the text of an XML store file, given to every record
// parser. Bad input must be refused with extension::record_error; any other exception, a crash, a
// leak, undefined behaviour or an allocation larger than the input can justify is a finding. A
// record that parses must render back to text that parses to the same record (the round-trip
// oracle).

#include "allocation_watch.hpp"
#include "xml_format.hpp"

#include <durable/extension/record_store.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace durable;

const std::string file = "fuzz-input.xml";

// What parsing n bytes may allocate at once: pugixml's pages and a few copies of the text
// (pugixml's own, strings taken from it, base64 decoded, a bag encoded from the values).
constexpr std::size_t fixed_allowance = std::size_t{1} << 20;
constexpr std::size_t allowance_per_byte = 16;

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "durable_fuzz_xml_records: %s\n", what.c_str());
    std::abort();
}

/// The parsed record, or nothing when the parser refuses the text as it should.
template <class Parse>
auto parsed(Parse&& parse) -> std::optional<decltype(parse())> {
    try {
        return parse();
    } catch (const extension::record_error&) {
        return std::nullopt;
    }
}

/// Renders `record` and parses the text again: that must give the same record.
template <class Record, class Render, class Parse>
void require_round_trip(const char* kind, const Record& record, Render&& render, Parse&& parse) {
    std::string text;
    try {
        text = render(record);
    } catch (const extension::record_error& e) {
        finding(std::string("a parsed ") + kind + " does not render: " + e.what());
    }
    try {
        if (!(parse(text) == record)) finding(std::string("a parsed ") + kind + " renders to text that parses to another record:\n" + text);
    } catch (const extension::record_error& e) {
        finding(std::string("a parsed ") + kind + " renders to text that does not parse: " + e.what() + "\n" + text);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!fuzz::allocation_watch::install()) finding("cannot install the sanitizer's malloc hooks");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    std::optional<extension::owner_record> owner;
    std::optional<extension::instance_record> instance, control_fields;
    std::optional<extension::key_record> key;
    std::optional<int> version;
    {
        const fuzz::allocation_watch watch;
        owner = parsed([&] { return xml::parse_owner(text, file); });
        instance = parsed([&] { return xml::parse_instance(text, file, true); });
        control_fields = parsed([&] { return xml::parse_instance(text, file, false); });
        key = parsed([&] { return xml::parse_key(text, file); });
        version = parsed([&] { return xml::parse_store_header(text, file); });
        if (watch.largest() > fixed_allowance + allowance_per_byte * size)
            finding("parsing " + std::to_string(size) + " bytes allocated " + std::to_string(watch.largest()) +
                    " bytes at once: more than the input can hold");
    }

    if (owner)
        require_round_trip("owner", *owner, xml::render_owner, [](const std::string& t) { return xml::parse_owner(t, file); });
    if (instance) {
        require_round_trip("instance", *instance, xml::render_instance,
                           [](const std::string& t) { return xml::parse_instance(t, file, true); });
        // Without its data the same file gives the same record, less the four data blobs.
        if (!control_fields) finding("an instance parses with its data but not without");
        auto expected = *instance;
        expected.read_write_primitive.clear();
        expected.read_write_complex.clear();
        expected.write_only_primitive.clear();
        expected.write_only_complex.clear();
        expected.data_omitted = true;
        if (!(*control_fields == expected)) finding("an instance parsed without its data differs in other fields");
    }

    if (key) require_round_trip("key", *key, xml::render_key, [](const std::string& t) { return xml::parse_key(t, file); });
    if (version)
        require_round_trip("store header", *version, xml::render_store_header,
                           [](const std::string& t) { return xml::parse_store_header(t, file); });
    return 0;
}
