// The XML store's own text forms: the writer, base64, and records rendered and parsed back.

#include "base64.hpp"
#include "xml_format.hpp"
#include "xml_text_writer.hpp"

#include <durable/codec.hpp>
#include <durable/detail/record_store.hpp>

#include <boost/test/unit_test.hpp>

#include <pugixml.hpp>

#include <random>

using namespace durable;
using namespace durable::xml;

namespace {

/// Text that tends to break XML: markup, entities, and every character a parser rewrites.
const std::string awkward = "a<b>&c\"d'e\tf\ng\r\nh\ri ]]> -- &amp; \x01 end ";

detail::instance_record sample_instance() {
    detail::instance_record r;
    r.id = random_uuid();
    r.lock_owner = random_uuid();
    r.version = 42;
    r.initialized = true;
    r.ready_to_run = true;
    r.pending_timer = timestamp{duration{1'795'000'000'000'001}};
    r.runnable_time = timestamp{duration{-5}};
    r.workflow_host_type = name{"urn:x", "Host \"quoted\""};
    r.identity = workflow_identity{"flow\twith tab", "pkg & co", definition_version{1, 2, 3, std::nullopt}};
    r.creation_time = timestamp{duration{1}};
    r.last_updated = timestamp{duration{2}};
    property_bag data{{"text", instance_value(awkward)}, {"blob", instance_value(bytes{0, 1, 2, 254, 255})}};
    r.read_write_primitive = encode_bag(data, encoding::none);
    r.write_only_complex = encode_bag({{"w", instance_value(std::string(" "), value_options::write_only)}}, encoding::none);
    r.metadata = encode_bag({{"m", instance_value(std::int64_t{-7})}}, encoding::none);
    r.execution_status = awkward;
    r.blocking_bookmarks = "line one\nline two\r\n";
    r.suspension_reason = "\t";
    r.suspension_exception_name = "";
    r.last_machine_run_on = "host<1>";
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(format)

BOOST_AUTO_TEST_CASE(base64_round_trips_every_length_and_byte) {
    std::mt19937 rng(7);
    // Past 100 bytes, so that the wide paths (SIMD blocks of 24 bytes, words of 6) and the
    // byte-wise tail all run, at every alignment of the tail.
    for (std::size_t size = 0; size < 200; ++size) {
        std::vector<std::uint8_t> in(size);
        for (auto& b : in) b = static_cast<std::uint8_t>(rng());
        std::string text = "prefix";
        append_base64(text, in.data(), in.size());
        BOOST_TEST(text.size() == 6 + (size + 2) / 3 * 4);
        std::vector<std::uint8_t> out;
        BOOST_TEST(decode_base64(std::string_view(text).substr(6), out));
        BOOST_TEST((out == in), "length " << size);
    }
    std::string text;
    const std::uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
    append_base64(text, hello, sizeof hello);
    BOOST_TEST(text == "aGVsbG8=");  // RFC 4648's alphabet and padding
    // Every sextet value, at different positions of the wide blocks: the alphabet three times.
    std::vector<std::uint8_t> ramp;
    for (int sextet = 0; sextet < 3 * 64; sextet += 4) {  // four sextets per three bytes
        const auto n = static_cast<std::uint32_t>((sextet % 64) << 18 | (sextet % 64 + 1) << 12 | (sextet % 64 + 2) << 6 | (sextet % 64 + 3));
        ramp.insert(ramp.end(), {static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
    text.clear();
    append_base64(text, ramp.data(), ramp.size());
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    BOOST_TEST(text == alphabet + alphabet + alphabet);
    std::vector<std::uint8_t> out;
    BOOST_TEST(!decode_base64("aGV*bG8=", out));
}

BOOST_AUTO_TEST_CASE(the_writer_makes_documents_that_parse_back_exactly) {
    xml_text_writer w;
    w.declaration();
    w.open_element("root");
    w.attribute("a", awkward);
    w.integer_attribute("n", -9'223'372'036'854'775'807 - 1);
    w.boolean_attribute("b", false);
    w.open_element("empty");
    w.close_element();
    w.comment(" a note ");
    w.open_element("text");
    w.text(awkward);
    w.close_element();
    w.open_element("spaces");
    w.text("  ");
    w.close_element();
    w.close_element();
    const std::string doc_text = w.finish();

    pugi::xml_document doc;
    BOOST_REQUIRE(doc.load_string(doc_text.c_str(), pugi::parse_default | pugi::parse_ws_pcdata_single));
    const auto root = doc.child("root");
    BOOST_TEST(std::string(root.attribute("a").value()) == awkward);
    BOOST_TEST(std::string(root.attribute("n").value()) == "-9223372036854775808");
    BOOST_TEST(std::string(root.attribute("b").value()) == "false");
    BOOST_TEST(root.child("empty"));
    BOOST_TEST(!root.child("empty").first_child());
    BOOST_TEST(std::string(root.child("text").text().get()) == awkward);
    BOOST_TEST(std::string(root.child("spaces").text().get()) == "  ");
}

BOOST_AUTO_TEST_CASE(the_writer_refuses_misuse) {
    xml_text_writer w;
    BOOST_CHECK_THROW(w.attribute("a", "b"), std::logic_error);  // no element open
    w.open_element("e");
    w.text("t");
    BOOST_CHECK_THROW(w.open_element("child"), std::logic_error);  // an element with text
    BOOST_CHECK_THROW(w.attribute("late", "x"), std::logic_error);
    BOOST_CHECK_THROW(w.finish(), std::logic_error);  // <e> still open
    w.close_element();
    BOOST_CHECK_THROW(w.close_element(), std::logic_error);
    BOOST_CHECK_THROW(w.comment("a -- b"), std::logic_error);
}

BOOST_AUTO_TEST_CASE(records_render_and_parse_back_unchanged) {
    const auto instance = sample_instance();
    BOOST_TEST((parse_instance(render_instance(instance), "instance.xml") == instance));

    detail::owner_record owner;
    owner.id = random_uuid();
    owner.lease_expires = timestamp{duration{123}};
    owner.created = timestamp{duration{-123}};
    owner.workflow_host_type = name{"urn:h", "H"};
    owner.machine_name = awkward;
    owner.activation_service = true;
    owner.filter = identity_filter::any;
    owner.identities = {workflow_identity{"a", "", std::nullopt}, workflow_identity{"b", "p", definition_version{9, 8, 7, 6}}};
    owner.metadata = encode_bag({{"k", instance_value(std::string("\r"))}}, encoding::none);
    BOOST_TEST((parse_owner(render_owner(owner), "owner.xml") == owner));

    detail::key_record key{random_uuid(), random_uuid(), false, bytes{}};
    BOOST_TEST((parse_key(render_key(key), "key.xml") == key));  // written, and empty
    key.metadata.reset();
    BOOST_TEST((parse_key(render_key(key), "key.xml") == key));  // not written yet
    key.metadata = encode_bag({{"x", instance_value(awkward)}}, encoding::none);
    BOOST_TEST((parse_key(render_key(key), "key.xml") == key));

    BOOST_TEST(parse_store_header(render_store_header(7), "store.xml") == 7);
}

BOOST_AUTO_TEST_SUITE_END()
