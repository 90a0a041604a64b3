// The XML store's record cache: bounded, least recently used forgotten first, data never kept.

#include "record_cache.hpp"

#include <boost/test/unit_test.hpp>

using namespace durable;
using namespace durable::xml;

BOOST_AUTO_TEST_SUITE(record_cache_behaviour)

BOOST_AUTO_TEST_CASE(the_least_recently_used_record_goes_first) {
    lru_records<extension::key_record> keys(2);
    const uuid a = random_uuid(), b = random_uuid(), c = random_uuid();
    keys.put(a, {a, random_uuid(), true, std::nullopt});
    keys.put(b, {b, random_uuid(), true, std::nullopt});
    BOOST_TEST(keys.find(a).has_value());  // a is now more recent than b
    keys.put(c, {c, random_uuid(), false, std::nullopt});
    BOOST_TEST(keys.size() == 2u);
    BOOST_TEST(keys.find(a).has_value());
    BOOST_TEST(!keys.find(b).has_value());
    BOOST_TEST(!keys.find(c)->associated);

    keys.put(c, {c, random_uuid(), true, std::nullopt});  // replaces, does not grow
    BOOST_TEST(keys.size() == 2u);
    BOOST_TEST(keys.find(c)->associated);
    keys.erase(c);
    BOOST_TEST(!keys.find(c).has_value());
    keys.clear();
    BOOST_TEST(keys.size() == 0u);

    lru_records<extension::key_record> off(0);
    off.put(a, {a, random_uuid(), true, std::nullopt});
    BOOST_TEST(!off.find(a).has_value());
}

BOOST_AUTO_TEST_CASE(the_control_part_leaves_the_data_out_and_in_place) {
    extension::instance_record full;
    full.id = random_uuid();
    full.version = 3;
    full.read_write_primitive = bytes(1000, 1);
    full.read_write_complex = bytes(10, 2);
    full.write_only_primitive = bytes(20, 3);
    full.write_only_complex = bytes(30, 4);
    full.metadata = bytes{5};
    full.execution_status = "Idle";
    const auto before = full;

    const auto control = record_cache::control_part(full);
    BOOST_TEST((full == before), "the full record is unchanged");
    BOOST_TEST(control.data_omitted);
    BOOST_TEST(control.read_write_primitive.empty());
    BOOST_TEST(control.read_write_complex.empty());
    BOOST_TEST(control.write_only_primitive.empty());
    BOOST_TEST(control.write_only_complex.empty());
    BOOST_TEST((control.metadata == before.metadata));
    BOOST_TEST(control.version == 3);
    BOOST_TEST(control.execution_status == "Idle");
}

BOOST_AUTO_TEST_SUITE_END()
