#include <durable/codec.hpp>

#include <test_common/values.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <random>

using namespace durable;
namespace bdata = boost::unit_test::data;

namespace {
const encoding all_encodings[] = {encoding::none, encoding::gzip, encoding::zstd};

property_bag round_trip(const property_bag& bag, encoding enc) {
    const bytes blob = encode_bag(bag, enc);
    property_bag decoded;
    std::string what;
    const auto ec = decode_bag(blob, decoded, what);
    BOOST_TEST_REQUIRE(!ec, what);
    return decoded;
}
}  // namespace

namespace durable {
std::ostream& operator<<(std::ostream& os, encoding e) { return os << to_string(e); }
}  // namespace durable

BOOST_AUTO_TEST_SUITE(codec)

BOOST_DATA_TEST_CASE(every_value_kind_round_trips, bdata::make(all_encodings), enc) {
    const auto bag = test::every_kind_bag();
    BOOST_TEST((round_trip(bag, enc) == bag));
}

BOOST_DATA_TEST_CASE(empty_bag_round_trips, bdata::make(all_encodings), enc) {
    BOOST_TEST(round_trip({}, enc).empty());
}

BOOST_DATA_TEST_CASE(options_and_deleted_markers_round_trip, bdata::make(all_encodings), enc) {
    property_bag bag;
    bag["wo"] = instance_value(std::int64_t{1}, value_options::write_only);
    bag["both"] = instance_value(std::int64_t{2}, value_options::write_only | value_options::optional);
    bag["gone"] = instance_value::deleted();
    const auto decoded = round_trip(bag, enc);
    BOOST_TEST(decoded.at("wo").is_write_only());
    BOOST_TEST(decoded.at("both").is_optional());
    BOOST_TEST(decoded.at("gone").is_deleted());
    BOOST_TEST((decoded == bag));
}

BOOST_DATA_TEST_CASE(large_bag_round_trips, bdata::make(all_encodings), enc) {
    property_bag bag;
    std::mt19937 rng(42);
    bytes noise(1 << 20);
    for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
    bag["noise"] = instance_value(noise);
    bag["text"] = instance_value(std::string(2 << 20, 'x'));
    for (int i = 0; i < 5000; ++i) bag[name{"urn:many", "p" + std::to_string(i)}] = instance_value(std::int64_t{i});
    BOOST_TEST((round_trip(bag, enc) == bag));
}

BOOST_DATA_TEST_CASE(encoding_a_part_equals_encoding_that_part_on_its_own, bdata::make(all_encodings), enc) {
    auto bag = test::every_kind_bag();
    bag[{"", "secret"}] = instance_value(std::string("write only"), value_options::write_only);
    const auto parts = partition(bag);
    const auto complex_read_write = [](const instance_value& v) { return !v.is_write_only() && !is_primitive(v.get()); };
    const auto write_only = [](const instance_value& v) { return v.is_write_only(); };
    BOOST_TEST((encode_bag_if(bag, enc, complex_read_write) == encode_bag(parts.read_write_complex, enc)));
    property_bag decoded;
    std::string what;
    BOOST_REQUIRE(!decode_bag(encode_bag_if(bag, enc, write_only), decoded, what));
    BOOST_TEST((decoded == parts.write_only_primitive));
    BOOST_TEST((encode_bag_if(bag, enc, {}) == encode_bag(bag, enc)), "no filter: the whole bag");
}

BOOST_DATA_TEST_CASE(entries_can_be_visited_in_place, bdata::make(all_encodings), enc) {
    const auto bag = test::every_kind_bag();
    const bytes blob = encode_bag(bag, enc);
    property_bag seen;
    std::string what;
    BOOST_TEST(!decode_bag_entries(
        blob,
        [&](const bag_entry_ref& e) -> const char* {
            if (e.kind == value_kind::binary) {
                const auto& original = std::get<bytes>(bag.at(e.key).get());
                BOOST_TEST((std::vector<std::uint8_t>(e.payload.begin(), e.payload.end()) == original));
            }
            seen.emplace(e.key, e.deleted ? instance_value::deleted() : instance_value(e.to_value(), e.options));
            return nullptr;
        },
        what));
    BOOST_TEST((seen == bag));

    int visited = 0;
    const auto ec = decode_bag_entries(
        blob, [&](const bag_entry_ref&) -> const char* { return ++visited == 2 ? "is refused by the visitor" : nullptr; }, what);
    BOOST_TEST((ec == errc::corrupt_data));
    BOOST_TEST(what.find("entry 1 is refused by the visitor") != std::string::npos, what);
    BOOST_TEST(visited == 2, "the walk stops at the refusal");
}

BOOST_AUTO_TEST_CASE(compression_shrinks_repetitive_data) {
    property_bag bag;
    bag["text"] = instance_value(std::string(100'000, 'a'));
    const auto plain = encode_bag(bag, encoding::none).size();
    BOOST_TEST(encode_bag(bag, encoding::gzip).size() < plain / 10);
    BOOST_TEST(encode_bag(bag, encoding::zstd).size() < plain / 10);
}

BOOST_AUTO_TEST_CASE(header_is_documented_layout) {
    const bytes blob = encode_bag({}, encoding::none);
    // "DRBG", version 1, encoding 0, payload length 1 (the zero entry count), payload 0x00.
    const bytes expected{'D', 'R', 'B', 'G', 1, 0, 1, 0, 0, 0, 0};
    BOOST_TEST(blob == expected, boost::test_tools::per_element());
    bag_header header;
    std::string what;
    BOOST_TEST(!read_bag_header(encode_bag(test::every_kind_bag(), encoding::zstd), header, what));
    BOOST_TEST((header.enc == encoding::zstd));
}

BOOST_AUTO_TEST_SUITE(rejects)

error_code decode_error(const bytes& blob, std::string* what_out = nullptr) {
    property_bag out;
    out["stale"] = instance_value(true);
    std::string what;
    const auto ec = decode_bag(blob, out, what);
    if (ec) {
        BOOST_TEST(out.empty(), "a failed decode must leave the bag empty");
        BOOST_TEST(!what.empty(), "a failed decode must say what was wrong");
    }
    if (what_out) *what_out = what;
    return ec;
}

BOOST_DATA_TEST_CASE(every_truncation, bdata::make(all_encodings), enc) {
    const bytes blob = encode_bag(test::every_kind_bag(), enc);
    for (std::size_t n = 0; n < blob.size(); ++n) {
        const bytes cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
        BOOST_TEST(decode_error(cut) == make_error_code(errc::corrupt_data), "truncated to " << n << " bytes");
    }
}

BOOST_AUTO_TEST_CASE(bad_magic) {
    bytes blob = encode_bag(test::every_kind_bag(), encoding::none);
    blob[0] = 'X';
    std::string what;
    BOOST_TEST(decode_error(blob, &what) == make_error_code(errc::corrupt_data));
    BOOST_TEST(what.find("magic") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(newer_format_version) {
    bytes blob = encode_bag(test::every_kind_bag(), encoding::none);
    blob[4] = codec_format_version + 1;
    std::string what;
    BOOST_TEST(decode_error(blob, &what) == make_error_code(errc::unsupported_format));
    BOOST_TEST(what.find("version 2") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(unknown_encoding) {
    bytes blob = encode_bag(test::every_kind_bag(), encoding::none);
    blob[5] = 9;
    BOOST_TEST(decode_error(blob) == make_error_code(errc::unsupported_format));
}

BOOST_AUTO_TEST_CASE(trailing_bytes) {
    bytes blob = encode_bag({}, encoding::none);
    blob.push_back(0);
    blob[6] = 2;  // keep the header's length consistent so the trailing byte is what fails
    BOOST_TEST(decode_error(blob) == make_error_code(errc::corrupt_data));
}

BOOST_AUTO_TEST_CASE(forged_entry_count_does_not_allocate) {
    // count = 2^63 as a varint: must fail fast, not try to build that many entries.
    bytes blob{'D', 'R', 'B', 'G', 1, 0, 10, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    BOOST_TEST(decode_error(blob) == make_error_code(errc::corrupt_data));
}

BOOST_AUTO_TEST_CASE(forged_gzip_length) {
    bytes blob = encode_bag(test::every_kind_bag(), encoding::gzip);
    blob[9] = 0x3f;  // claims ~1 GiB from a few hundred bytes
    BOOST_TEST(decode_error(blob) == make_error_code(errc::corrupt_data));
}

BOOST_DATA_TEST_CASE(random_corruption_never_crashes, bdata::make(all_encodings), enc) {
    const bytes original = encode_bag(test::every_kind_bag(), enc);
    std::mt19937 rng(7);
    int rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        bytes blob = original;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) blob[rng() % blob.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
        property_bag out;
        std::string what;
        if (decode_bag(blob, out, what)) ++rejected;
    }
    // Most corruptions must be caught; some flips land in values and decode to other values.
    BOOST_TEST(rejected > 0);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
