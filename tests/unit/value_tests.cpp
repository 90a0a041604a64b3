#include <durable/instance_value.hpp>
#include <durable/name.hpp>
#include <durable/uuid.hpp>
#include <durable/workflow_identity.hpp>

#include <boost/test/unit_test.hpp>

using namespace durable;

BOOST_AUTO_TEST_SUITE(values)

BOOST_AUTO_TEST_CASE(name_display_form_and_order) {
    BOOST_TEST(name("urn:ns", "local").to_string() == "{urn:ns}local");
    BOOST_TEST(name("plain").to_string() == "plain");
    // The display form is ambiguous, which is why nothing parses it: two names, one text.
    BOOST_TEST((name("a}b", "c").to_string() == name("", "{a}b}c").to_string()));
    BOOST_TEST((name("a}b", "c") != name("", "{a}b}c")));
    BOOST_TEST((name{"a", "z"} < name{"b", "a"}));
}

BOOST_AUTO_TEST_CASE(uuid_parse_and_print) {
    const auto id = random_uuid();
    BOOST_TEST((parse_uuid(to_string(id)) == id));
    BOOST_TEST(random_uuid() != random_uuid());
    BOOST_TEST((parse_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E") ==
                parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e")));
    BOOST_TEST(!parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
    BOOST_TEST(!parse_uuid("0f8fad5bxd9cb-469f-a165-70867728950e"));
    BOOST_TEST(!parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    BOOST_TEST(to_string(nil_uuid) == "00000000-0000-0000-0000-000000000000");
}

BOOST_AUTO_TEST_CASE(value_kinds_follow_the_variant) {
    BOOST_TEST((kind_of(value{}) == value_kind::null));
    BOOST_TEST((kind_of(value{std::string("x")}) == value_kind::string));
    BOOST_TEST((kind_of(value{opaque{}}) == value_kind::opaque));
    BOOST_TEST(!is_primitive(value{opaque{}}));
    BOOST_TEST(is_primitive(value{name{"x"}}));
    BOOST_TEST(std::string(to_string(value_kind::identifier)) == "uuid");
}

BOOST_AUTO_TEST_CASE(partition_splits_four_ways) {
    property_bag bag;
    bag["rw_p"] = instance_value(std::int64_t{1});
    bag["rw_c"] = instance_value(opaque{"t", {}});
    bag["wo_p"] = instance_value(std::int64_t{2}, value_options::write_only);
    bag["wo_c"] = instance_value(opaque{"t", {}}, value_options::write_only);
    const auto parts = partition(bag);
    BOOST_TEST(parts.read_write_primitive.contains("rw_p"));
    BOOST_TEST(parts.read_write_complex.contains("rw_c"));
    BOOST_TEST(parts.write_only_primitive.contains("wo_p"));
    BOOST_TEST(parts.write_only_complex.contains("wo_c"));
    BOOST_TEST(parts.read_write_primitive.size() + parts.read_write_complex.size() +
                   parts.write_only_primitive.size() + parts.write_only_complex.size() == 4u);
    const auto readable = readable_part(bag);
    BOOST_TEST(readable.size() == 2u);
    BOOST_TEST(!readable.contains("wo_p"));
}

BOOST_AUTO_TEST_CASE(change_bags_delete_and_replace) {
    property_bag target;
    target["keep"] = instance_value(std::int64_t{1});
    target["drop"] = instance_value(std::int64_t{2});
    target["change"] = instance_value(std::int64_t{3});
    property_bag changes;
    changes["drop"] = instance_value::deleted();
    changes["change"] = instance_value(std::int64_t{30});
    changes["add"] = instance_value(std::int64_t{4});
    changes["absent"] = instance_value::deleted();
    apply_changes(target, changes);
    BOOST_TEST(target.size() == 3u);
    BOOST_TEST(!target.contains("drop"));
    BOOST_TEST(std::get<std::int64_t>(target.at("change").get()) == 30);
    BOOST_TEST(target.contains("add"));
}

BOOST_AUTO_TEST_CASE(identity_text_and_revision) {
    workflow_identity id{"Order", "pkg", definition_version{1, 2, 3, 4}};
    BOOST_TEST(id.to_string() == "Order; Version=1.2.3.4; Package=pkg");
    auto other = id;
    other.version->revision = 9;
    BOOST_TEST((id != other));
    BOOST_TEST((id.without_revision() == other.without_revision()));
}

BOOST_AUTO_TEST_SUITE_END()
