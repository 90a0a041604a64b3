// Generated round trips at the format level: random records whose every string, name and value
// is biased towards what XML gets wrong must render to well-formed XML 1.0 (expat's verdict)
// and parse back equal, bags byte for byte (so doubles bit for bit).

#include "awkward_values.hpp"
#include "expat_check.hpp"
#include "xml_format.hpp"

#include <boost/test/unit_test.hpp>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

BOOST_AUTO_TEST_SUITE(generated_format)

BOOST_AUTO_TEST_CASE(generated_records_round_trip_in_well_formed_xml) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
        awkward_generator gen(seed);
        for (int i = 0; i < 100; ++i) {
            BOOST_TEST_CONTEXT("seed " << seed << ", iteration " << i) {
                const auto owner = gen.owner();
                const auto owner_text = render_owner(owner);
                BOOST_TEST(expat_error(owner_text) == "");
                BOOST_TEST((parse_owner(owner_text, "owner.xml") == owner));

                const auto instance = gen.instance();
                const auto instance_text = render_instance(instance);
                BOOST_TEST(expat_error(instance_text) == "");
                BOOST_TEST((parse_instance(instance_text, "instance.xml") == instance));
                // Without the data, the control fields (keys included) are still all there.
                auto control = instance;
                control.read_write_primitive.clear();
                control.read_write_complex.clear();
                control.write_only_primitive.clear();
                control.write_only_complex.clear();
                control.data_omitted = true;
                BOOST_TEST((parse_instance(instance_text, "instance.xml", false) == control));

                const auto key = gen.key();
                const auto key_text = render_key(key);
                BOOST_TEST(expat_error(key_text) == "");
                BOOST_TEST((parse_key(key_text, "key.xml") == key));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
