// store_options::promote and validate: the original's Promote rules (unique names, each
// property once, at most 32 + 32 values), plus names PostgreSQL text can hold; and which value
// kinds promote_values accepts in which group.

#include <durable/memory_instance_store.hpp>
#include <durable/promotion.hpp>
#include <durable/store_options.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>

using namespace durable;

namespace {

std::vector<name> numbered(std::size_t count, const std::string& prefix = "p") {
    std::vector<name> names;
    for (std::size_t i = 0; i < count; ++i) names.emplace_back("urn:x", prefix + std::to_string(i));
    return names;
}

/// The message of the std::invalid_argument `f` throws; fails the test when it throws none.
template <class F>
std::string refusal(F f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    BOOST_FAIL("expected std::invalid_argument");
    return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(promotion_options)

BOOST_AUTO_TEST_CASE(thirty_two_values_of_each_group_are_allowed) {
    store_options o;
    o.promote("Full", numbered(32), numbered(32, "b"));
    o.promote("Only binary", {}, numbered(1));
    BOOST_TEST(o.promotions.size() == 2u);
    BOOST_TEST(o.promotions[0].primitive_values.size() == 32u);
    BOOST_CHECK_NO_THROW(o.validate());
}

BOOST_AUTO_TEST_CASE(a_thirty_third_value_in_a_group_is_refused) {
    store_options o;
    BOOST_TEST(contains(refusal([&] { o.promote("Many", numbered(33)); }), "at most 32"));
    BOOST_TEST(contains(refusal([&] { o.promote("Many", {}, numbered(33)); }), "at most 32"));
    BOOST_TEST(o.promotions.empty(), "a refused promotion changes nothing");
}

BOOST_AUTO_TEST_CASE(promotion_names_are_unique) {
    store_options o;
    o.promote("Order", {"total"});
    const auto why = refusal([&] { o.promote("Order", {"customer"}); });
    BOOST_TEST(contains(why, "'Order'"), why);
    BOOST_TEST(o.promotions.size() == 1u);
    o.promote("order", {"customer"});  // names compare exactly, as text
}

BOOST_AUTO_TEST_CASE(each_property_is_named_at_most_once_per_promotion) {
    store_options o;
    BOOST_TEST(contains(refusal([&] { o.promote("Twice", {"total", "total"}); }), "more than once"));
    BOOST_TEST(contains(refusal([&] { o.promote("Both groups", {"total"}, {"total"}); }), "more than once"));
    // The same local part in two namespaces is two properties; two promotions may share one.
    o.promote("Namespaces", {{"urn:a", "total"}, {"urn:b", "total"}});
    o.promote("Shared", {{"urn:a", "total"}});
    BOOST_TEST(o.promotions.size() == 2u);
}

BOOST_AUTO_TEST_CASE(names_must_be_text_a_database_can_hold) {
    store_options o;
    BOOST_TEST(contains(refusal([&] { o.promote("", {"total"}); }), "needs a name"));
    BOOST_TEST(contains(refusal([&] { o.promote(std::string("a\0b", 3), {"total"}); }), "NUL"));
    BOOST_TEST(contains(refusal([&] { o.promote("\xff", {"total"}); }), "UTF-8"));
    BOOST_TEST(contains(refusal([&] { o.promote("Empty", {{"urn:x", ""}}); }), "empty name"));
    BOOST_TEST(contains(refusal([&] { o.promote("Bad ns", {{std::string("\0", 1), "x"}}); }), "NUL"));
    BOOST_TEST(contains(refusal([&] { o.promote("Nothing", {}, {}); }), "names no values"));
    BOOST_TEST(o.promotions.empty());
}

BOOST_AUTO_TEST_CASE(validate_applies_the_same_rules_to_promotions_filled_by_hand) {
    store_options o;
    o.promotions.push_back({"Order", {"total"}, {}});
    o.promotions.push_back({"Order", {"customer"}, {}});
    BOOST_TEST(contains(refusal([&] { o.validate(); }), "two promotions named 'Order'"));
    o.promotions.back() = {"Big", numbered(33), {}};
    BOOST_TEST(contains(refusal([&] { o.validate(); }), "at most 32"));
}

BOOST_AUTO_TEST_CASE(a_store_refuses_options_with_a_broken_promotion) {
    boost::asio::io_context ioc;
    store_options o;
    o.promotions.push_back({"Twice", {"total", "total"}, {}});
    BOOST_CHECK_THROW(memory_instance_store(ioc.get_executor(), o), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(scalar_kinds_go_with_the_primitive_values_bytes_and_opaque_with_the_binary_ones) {
    const std::vector<promotion> promotions{{"P", {"scalar"}, {"blob"}}};
    const auto accepts = [&](const char* property, value v) {
        promoted_values out;
        std::string why;
        return promote_values(promotions, property_bag{{property, instance_value(std::move(v))}}, out, why);
    };
    BOOST_TEST(accepts("scalar", std::int64_t{1}));
    BOOST_TEST(accepts("scalar", name{"urn:x", "y"}));
    BOOST_TEST(accepts("scalar", std::monostate{}));
    BOOST_TEST(!accepts("scalar", bytes{1}));
    BOOST_TEST(!accepts("scalar", opaque{"t", {}}));
    BOOST_TEST(accepts("blob", bytes{0, 1}));
    BOOST_TEST(accepts("blob", opaque{"t", {0}}));
    BOOST_TEST(accepts("blob", std::monostate{}));
    BOOST_TEST(!accepts("blob", std::string("text")));
    BOOST_TEST(!accepts("blob", true));
}

BOOST_AUTO_TEST_CASE(promoted_values_drop_the_data_options_and_skip_absent_properties) {
    const std::vector<promotion> promotions{{"P", {"a", "b"}, {}}, {"Q", {"c"}, {}}};
    property_bag data{{"a", instance_value(std::int64_t{1}, value_options::write_only | value_options::optional)}};
    promoted_values out;
    std::string why;
    BOOST_TEST_REQUIRE(promote_values(promotions, data, out, why));
    BOOST_TEST(out.size() == 1u, "Q has none of its properties: no entry");
    BOOST_TEST(out.at("P").size() == 1u);
    BOOST_TEST((out.at("P").at("a") == instance_value(std::int64_t{1})));
}

BOOST_AUTO_TEST_SUITE_END()
