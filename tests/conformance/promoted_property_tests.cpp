// Promoted properties (store_options::promote, durable/promotion.hpp) on every store: what a
// save with data stores, what query_promoted_properties reads back, and what a save refuses.

#include "fixture.hpp"

#include <bit>
#include <cmath>
#include <limits>

using namespace durable;
using namespace durable::conformance;
namespace cmd = durable::commands;

namespace {

const std::string ns = "urn:durable:promoted";

/// Equal, with doubles compared by their bits: NaN payloads and -0.0 must survive too.
bool same(const value& a, const value& b) {
    if (const auto* x = std::get_if<double>(&a))
        if (const auto* y = std::get_if<double>(&b)) return std::bit_cast<std::uint64_t>(*x) == std::bit_cast<std::uint64_t>(*y);
    return a == b;
}

/// `actual` holds exactly the values of `expected` (by name, values by bits).
void require_same_values(const property_bag& actual, const property_bag& expected) {
    BOOST_TEST(actual.size() == expected.size());
    for (const auto& [n, v] : expected) {
        const auto it = actual.find(n);
        BOOST_TEST_REQUIRE((it != actual.end()), "promoted value " << n.to_string() << " is missing");
        BOOST_TEST(same(it->second.get(), v.get()), "promoted value " << n.to_string() << " changed");
        BOOST_TEST((it->second.options() == value_options::none), "a promoted value carries no options");
    }
}

/// Every scalar kind, at the edges a store is most likely to bend.
property_bag scalar_values() {
    using namespace std::chrono_literals;
    property_bag bag;
    bag[{ns, "null"}] = instance_value(std::monostate{});
    bag[{ns, "true"}] = instance_value(true);
    bag[{ns, "false"}] = instance_value(false);
    bag[{ns, "int64 min"}] = instance_value(std::numeric_limits<std::int64_t>::min());
    bag[{ns, "int64 max"}] = instance_value(std::numeric_limits<std::int64_t>::max());
    bag[{ns, "beyond double"}] = instance_value(std::int64_t{9'007'199'254'740'993});
    bag[{ns, "pi"}] = instance_value(3.141592653589793);
    bag[{ns, "negative zero"}] = instance_value(-0.0);
    bag[{ns, "nan"}] = instance_value(std::numeric_limits<double>::quiet_NaN());
    bag[{ns, "infinity"}] = instance_value(std::numeric_limits<double>::infinity());
    bag[{ns, "-infinity"}] = instance_value(-std::numeric_limits<double>::infinity());
    bag[{ns, "denormal"}] = instance_value(std::numeric_limits<double>::denorm_min());
    bag[{ns, "string"}] = instance_value(std::string("grüße \"quoted\" \\ back\tslash\n\r\x01\x1f ✓ 𝄞"));
    bag[{ns, "empty string"}] = instance_value(std::string());
    bag[{ns, "uuid"}] = instance_value(*parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    bag[{ns, "timestamp"}] = instance_value(timestamp{duration{1'795'000'000'123'457}});
    bag[{ns, "year 1"}] = instance_value(timestamp{duration{-62'135'596'800'000'000}});
    bag[{ns, "year 9999"}] = instance_value(timestamp{duration{253'402'300'799'999'999}});
    bag[{ns, "before 1970"}] = instance_value(timestamp{duration{-1}});
    bag[{ns, "duration min"}] = instance_value(duration::min());
    bag[{ns, "duration max"}] = instance_value(duration::max());
    bag[{ns, "name"}] = instance_value(name{"urn:other", "local"});
    bag[{ns, "name without namespace"}] = instance_value(name{"", "local"});
    return bag;
}

property_bag binary_values() {
    property_bag bag;
    bytes every_byte(256);
    for (std::size_t i = 0; i < every_byte.size(); ++i) every_byte[i] = static_cast<std::uint8_t>(i);
    bag[{ns, "every byte"}] = instance_value(every_byte);
    bag[{ns, "no bytes"}] = instance_value(bytes{});
    bag[{ns, "opaque"}] = instance_value(opaque{"application/json; charset=\"utf-8\"", bytes{0, '{', '}', 0}});
    bag[{ns, "empty opaque"}] = instance_value(opaque{"", {}});
    bag[{ns, "binary null"}] = instance_value(std::monostate{});
    return bag;
}

std::vector<name> names_of(const property_bag& bag) {
    std::vector<name> names;
    for (const auto& [n, v] : bag) names.push_back(n);
    return names;
}

struct promoted_fixture : store_fixture {
    property_bag scalars = scalar_values();
    property_bag binaries = binary_values();

    /// "Everything" promotes every value of scalars and binaries; "Order" promotes two others.
    store_options promoting_options() {
        auto o = options();
        o.promote("Everything", names_of(scalars), names_of(binaries));
        o.promote("Order", {{ns, "customer"}, {"", "total"}}, {{ns, "receipt"}});
        return o;
    }

    promoted_values query(instance_store& store, const uuid& id) {
        auto r = internal(store, cmd::query_promoted_properties{id});
        r.require_ok();
        return r.view.promoted_properties;
    }

    /// Saves `data` again through a handle that holds the lock (or loads it first).
    void save_again(instance_store& store, instance_handle& handle, property_bag data, bool complete = false) {
        cmd::save_workflow save;
        save.instance_data = std::move(data);
        save.unlock_instance = complete;
        save.complete_instance = complete;
        run(store, handle, std::move(save)).require_ok();
    }
};

property_bag merged(property_bag a, const property_bag& b) {
    a.insert(b.begin(), b.end());
    return a;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(promoted_properties, promoted_fixture)

BOOST_AUTO_TEST_CASE(every_kind_comes_back_exactly_from_a_new_store_object) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    auto data = merged(scalars, binaries);
    data[{"", "not promoted"}] = instance_value(std::string("stays in the data only"));
    auto [id, handle] = save_new(store, data, /*unlock=*/true);

    // Another store object over the same backing: the values come from storage, not a cache.
    auto& reader = new_store(promoting_options());
    make_owner(reader);
    const auto promoted = query(reader, id);
    BOOST_TEST_REQUIRE(promoted.size() == 1u, "only Everything has values; Order has none of its properties");
    require_same_values(promoted.at("Everything"), merged(scalars, binaries));
}

BOOST_AUTO_TEST_CASE(write_only_values_are_promoted_and_still_never_loaded) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    property_bag data;
    data[{ns, "customer"}] = instance_value(std::string("ACME"), value_options::write_only);
    data[{ns, "receipt"}] = instance_value(opaque{"application/pdf", {1, 2, 3}}, value_options::write_only);
    data[{"", "total"}] = instance_value(std::int64_t{42});
    auto [id, handle] = save_new(store, data, true);

    const auto promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count("Order") == 1u);
    property_bag expected;
    expected[{ns, "customer"}] = instance_value(std::string("ACME"));
    expected[{ns, "receipt"}] = instance_value(opaque{"application/pdf", {1, 2, 3}});
    expected[{"", "total"}] = instance_value(std::int64_t{42});
    require_same_values(promoted.at("Order"), expected);

    const auto loaded = load(store, id);
    loaded.require_ok();
    BOOST_TEST(loaded.view.data.size() == 1u, "write-only values are promoted, never loaded");
    BOOST_TEST(loaded.view.promoted_properties.empty(), "loads do not report promoted values");
}

BOOST_AUTO_TEST_CASE(a_promotion_gets_an_entry_only_when_one_of_its_properties_is_present) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    auto [id, handle] = save_new(store, property_bag{{"unrelated", instance_value(std::int64_t{1})}});
    BOOST_TEST(query(store, id).empty(), "none of any promotion's properties is present");

    // A property present with a null value counts: the promotion has an entry.
    save_again(store, handle, property_bag{{{"", "total"}, instance_value(std::monostate{})}});
    const auto promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count("Order") == 1u);
    require_same_values(promoted.at("Order"), property_bag{{{"", "total"}, instance_value(std::monostate{})}});
    BOOST_TEST(promoted.count("Everything") == 0u);
}

BOOST_AUTO_TEST_CASE(each_save_with_data_replaces_them_and_a_save_without_data_keeps_them) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    property_bag first;
    first[{ns, "customer"}] = instance_value(std::string("ACME"));
    first[{"", "total"}] = instance_value(std::int64_t{1});
    auto [id, handle] = save_new(store, first);

    property_bag second;
    second[{"", "total"}] = instance_value(std::int64_t{2});
    save_again(store, handle, second);
    auto promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count("Order") == 1u);
    require_same_values(promoted.at("Order"), second);  // the customer is gone with the data

    cmd::save_workflow metadata_only;
    metadata_only.instance_metadata_changes[{"", "note"}] = instance_value(std::string("no data in this save"));
    run(store, handle, std::move(metadata_only)).require_ok();
    promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count("Order") == 1u, "a save without data leaves the promoted values alone");
    require_same_values(promoted.at("Order"), second);

    save_again(store, handle, property_bag{{"unrelated", instance_value(true)}});
    BOOST_TEST(query(store, id).empty(), "data without any promoted property removes them all");
}

BOOST_AUTO_TEST_CASE(a_save_by_a_store_without_promotions_removes_them_as_the_original_did) {
    auto& promoting = new_store(promoting_options());
    make_owner(promoting);
    auto [id, handle] = save_new(promoting, property_bag{{{"", "total"}, instance_value(std::int64_t{5})}}, true);
    BOOST_TEST(query(promoting, id).size() == 1u);

    auto& plain = new_store();
    make_owner(plain);
    auto plain_handle = plain.create_instance_handle(id);
    run(plain, plain_handle, cmd::load_workflow{}).require_ok();
    save_again(plain, plain_handle, property_bag{{{"", "total"}, instance_value(std::int64_t{6})}});
    BOOST_TEST(query(promoting, id).empty(), "every save with data rewrites the rows; this store promotes nothing");
}

BOOST_AUTO_TEST_CASE(a_completed_and_deleted_instance_loses_them) {
    auto& store = new_store(promoting_options());  // completion_action delete_all (the default)
    make_owner(store);
    auto [id, handle] = save_new(store, property_bag{{{"", "total"}, instance_value(std::int64_t{5})}});
    BOOST_TEST(query(store, id).size() == 1u);
    save_again(store, handle, property_bag{{{"", "total"}, instance_value(std::int64_t{6})}}, /*complete=*/true);
    BOOST_TEST(query(store, id).empty());
    BOOST_TEST(query(store, random_uuid()).empty(), "an instance that never existed has none either");
}

BOOST_AUTO_TEST_CASE(a_completed_instance_that_is_kept_keeps_its_last_values) {
    auto o = promoting_options();
    o.completion_action = instance_completion_action::delete_nothing;
    auto& store = new_store(o);
    make_owner(store);
    auto [id, handle] = save_new(store, property_bag{{{"", "total"}, instance_value(std::int64_t{5})}});
    save_again(store, handle, property_bag{{{"", "total"}, instance_value(std::int64_t{6})}}, /*complete=*/true);
    const auto promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count("Order") == 1u);
    require_same_values(promoted.at("Order"), property_bag{{{"", "total"}, instance_value(std::int64_t{6})}});
}

BOOST_AUTO_TEST_CASE(text_that_looks_like_sql_or_markup_is_only_text) {
    const std::string hostile = "x'); DROP TABLE durable_instancing.instances_table; -- \"]]> <promoted>";
    auto o = options();
    o.promote(hostile, {{hostile, hostile}}, {{"", hostile}});
    auto& store = new_store(o);
    make_owner(store);
    property_bag data;
    data[{hostile, hostile}] = instance_value(std::string(hostile));
    data[{"", hostile}] = instance_value(opaque{hostile, bytes(hostile.begin(), hostile.end())});
    auto [id, handle] = save_new(store, data, true);

    const auto promoted = query(store, id);
    BOOST_TEST_REQUIRE(promoted.count(hostile) == 1u);
    require_same_values(promoted.at(hostile), data);
    load(store, id).require_ok();  // the store still works, its instances with it
}

BOOST_AUTO_TEST_CASE(values_no_store_can_keep_exactly_are_refused_and_nothing_is_saved) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    const std::vector<std::pair<std::string, instance_value>> refused = {
        {"pi", instance_value(std::bit_cast<double>(std::uint64_t{0x7ff8000000000001}))},  // NaN payload
        {"pi", instance_value(std::bit_cast<double>(std::uint64_t{0xfff8000000000000}))},  // negative NaN
        {"string", instance_value(std::string("nul\0inside", 10))},
        {"string", instance_value(std::string("\xc3\x28 invalid UTF-8"))},
        {"string", instance_value(std::string("\xed\xa0\x80 a surrogate"))},
        {"name", instance_value(name{std::string("n\0s", 3), "local"})},
        {"timestamp", instance_value(timestamp{duration{-62'135'596'800'000'001}})},
        {"timestamp", instance_value(timestamp::max())},
        {"string", instance_value(bytes{1})},                         // binary among the primitives
        {"string", instance_value(opaque{"text/plain", {}})},          // opaque among the primitives
        {"opaque", instance_value(std::int64_t{1})},                   // a scalar among the binaries
        {"opaque", instance_value(opaque{std::string("a\0b", 3), {}})},  // content type with NUL
    };
    for (const auto& [property, v] : refused) {
        const uuid id = random_uuid();
        auto handle = store.create_instance_handle(id);
        cmd::save_workflow save;
        save.instance_data = property_bag{{{ns, property}, v}};
        const auto r = run(store, handle, std::move(save));
        r.require_error(errc::invalid_command);
        BOOST_TEST(r.diag.message.find(property) != std::string::npos, "the message names the property: " << r.diag.message);
        BOOST_TEST(r.diag.message.find("Everything") != std::string::npos, "and the promotion: " << r.diag.message);
        load(store, id).require_error(errc::instance_not_found);
    }
}

BOOST_AUTO_TEST_CASE(promotions_are_fixed_when_the_store_is_made) {
    auto o = promoting_options();
    auto& store = new_store(o);
    o.promote("Later", {"total"});  // the caller's copy only
    BOOST_TEST(store.options().promotions.size() == 2u);
    BOOST_TEST(store.options().promotions.back().name == "Order");
}

BOOST_AUTO_TEST_CASE(the_query_is_validated_like_every_command) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    internal(store, cmd::query_promoted_properties{}).require_error(errc::invalid_command);  // nil id
    auto [id, handle] = save_new(store, property_bag{{{"", "total"}, instance_value(std::int64_t{5})}});
    run(store, handle, cmd::query_promoted_properties{id}).require_error(errc::invalid_command);  // bound to an instance
}

BOOST_AUTO_TEST_CASE(the_query_fails_for_an_owner_whose_lease_ran_out) {
    auto& store = new_store(promoting_options());
    make_owner(store);
    auto [id, handle] = save_new(store, property_bag{{{"", "total"}, instance_value(std::int64_t{5})}});
    clock->advance(store.options().lease_duration() + std::chrono::seconds{1});
    internal(store, cmd::query_promoted_properties{id}).require_error(errc::owner_lease_expired);
}

BOOST_AUTO_TEST_SUITE_END()
