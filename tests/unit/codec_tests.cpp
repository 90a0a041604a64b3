#include <durable/codec.hpp>

#include <test_common/values.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <bit>
#include <chrono>
#include <limits>
#include <optional>
#include <random>
#include <sstream>

using namespace durable;
namespace bdata = boost::unit_test::data;

namespace durable::test {
// allocation_tracking.cpp: the largest single heap allocation (malloc, hence operator new and
// the compression libraries too) made by any thread between start and stop.
bool allocation_tracking_available() noexcept;
void start_allocation_tracking() noexcept;
std::size_t stop_allocation_tracking() noexcept;
}  // namespace durable::test

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

// Blobs whose header or frame claims more than the bytes hold: each must be refused at a cost
// bounded by the bytes actually there, whatever the claim.
BOOST_AUTO_TEST_SUITE(untrusted_input)

constexpr std::size_t header_bytes = 10;
// Far below any false claim below, far above what refusing a small blob needs (zstd's
// decompression context alone is ~100 KiB).
constexpr std::size_t small_allocation = 512 * 1024;
// Zeroing a claimed 1 GiB took about a second; a refusal takes microseconds. The margin is
// for a loaded 2-core machine and sanitizer builds.
constexpr auto quick = std::chrono::milliseconds(100);

bytes blob_of(encoding enc, std::uint32_t claimed, std::span<const std::uint8_t> body) {
    bytes blob{'D', 'R', 'B', 'G', codec_format_version, static_cast<std::uint8_t>(enc)};
    for (int i = 0; i < 4; ++i) blob.push_back(static_cast<std::uint8_t>(claimed >> (8 * i)));
    blob.insert(blob.end(), body.begin(), body.end());
    return blob;
}

std::uint32_t claimed_length(const bytes& blob) {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < 4; ++i) n |= std::uint32_t{blob[6 + i]} << (8 * i);
    return n;
}

std::span<const std::uint8_t> body_of(const bytes& blob) { return std::span(blob).subspan(header_bytes); }

/// The uncompressed payload of `bag`: what a compressed body must decompress to.
bytes payload_of(const property_bag& bag) {
    const bytes plain = encode_bag(bag, encoding::none);
    return bytes(plain.begin() + header_bytes, plain.end());
}

/// A zstd frame written by hand with raw blocks, so that a test decides what its header says:
/// the content size (or none) and the window.
bytes zstd_frame(std::span<const std::uint8_t> content, std::optional<std::uint64_t> content_size, unsigned window_log) {
    bytes f{0x28, 0xb5, 0x2f, 0xfd};
    f.push_back(content_size ? 0xc0 : 0x00);  // 8-byte content size field or none; window descriptor follows
    f.push_back(static_cast<std::uint8_t>((window_log - 10) << 3));
    if (content_size)
        for (int i = 0; i < 8; ++i) f.push_back(static_cast<std::uint8_t>(*content_size >> (8 * i)));
    const std::size_t max_block = std::min<std::size_t>(std::size_t{1} << window_log, 128 * 1024);
    std::size_t at = 0;
    do {
        const std::size_t n = std::min(max_block, content.size() - at);
        const bool last = at + n == content.size();
        const auto block_header = static_cast<std::uint32_t>(n << 3) | (last ? 1u : 0u);  // type 0: raw
        for (int i = 0; i < 3; ++i) f.push_back(static_cast<std::uint8_t>(block_header >> (8 * i)));
        f.insert(f.end(), content.begin() + static_cast<std::ptrdiff_t>(at), content.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
    } while (at < content.size());
    return f;
}

/// The largest window the decoder allows a frame of `n` bytes: the next power of two, at least
/// zstd's minimum of 1 KiB.
unsigned window_log_for(std::size_t n) {
    return std::max(10u, static_cast<unsigned>(std::bit_width(std::max<std::size_t>(n, 1) - 1)));
}

struct decode_cost {
    error_code ec;
    std::string what;
    std::chrono::steady_clock::duration time;
    std::size_t largest_allocation = 0;
};

decode_cost measured_decode(const bytes& blob, std::size_t max_payload_bytes = codec_max_payload_bytes) {
    property_bag out;
    decode_cost cost;
    test::start_allocation_tracking();
    const auto start = std::chrono::steady_clock::now();
    cost.ec = decode_bag(blob, out, cost.what, max_payload_bytes);
    cost.time = std::chrono::steady_clock::now() - start;
    cost.largest_allocation = test::stop_allocation_tracking();
    if (cost.ec) BOOST_TEST(out.empty(), "a failed decode must leave the bag empty");
    return cost;
}

/// Requires the decode to have been refused quickly and without allocating more than `limit`.
void require_cheap(const decode_cost& cost, const std::string& context, std::size_t limit = small_allocation) {
    BOOST_TEST(cost.time < quick, context << ": took " << std::chrono::duration_cast<std::chrono::microseconds>(cost.time).count() << " us");
    if (test::allocation_tracking_available())
        BOOST_TEST(cost.largest_allocation <= limit, context << ": allocated " << cost.largest_allocation << " bytes at once");
}

BOOST_AUTO_TEST_CASE(allocation_tracking_sees_our_allocations_and_the_compression_librarys) {
    if (!test::allocation_tracking_available()) {
        BOOST_TEST_MESSAGE("allocation tracking is not available in this build: only times are checked");
        return;
    }
    const property_bag big{{"big", instance_value(std::string(3 << 20, 'x'))}};
    test::start_allocation_tracking();
    const bytes encoded = encode_bag(big, encoding::none);
    BOOST_TEST(test::stop_allocation_tracking() >= encoded.size());
    // The codec itself allocates a kilobyte here; zstd's decompression context is ~100 KiB.
    const auto cost = measured_decode(encode_bag({}, encoding::zstd));
    BOOST_TEST(!cost.ec, cost.what);
    BOOST_TEST(cost.largest_allocation >= 64 * 1024u, "largest allocation seen: " << cost.largest_allocation);
}

BOOST_DATA_TEST_CASE(false_claims_are_refused_quickly_without_allocating_them, bdata::make(all_encodings), enc) {
    // A real stream of a large bag, cut short: its beginning is valid, the rest is missing.
    property_bag big;
    std::mt19937 rng(3);
    bytes noise(256 * 1024);
    for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
    big["noise"] = instance_value(noise);
    const bytes real = encode_bag(big, enc);
    const std::vector<bytes> bodies{{}, {0xff}, bytes(16, 0xff), bytes(real.begin() + header_bytes, real.begin() + header_bytes + 64)};
    const std::uint32_t claims[] = {1, 1000, 1u << 20, 64u << 20, static_cast<std::uint32_t>(codec_max_payload_bytes)};
    for (const auto& body : bodies) {
        for (const auto claim : claims) {
            const auto cost = measured_decode(blob_of(enc, claim, body));
            std::ostringstream context;
            context << to_string(enc) << " claiming " << claim << " bytes from " << body.size();
            BOOST_TEST((cost.ec == errc::corrupt_data), context.str() << ": " << cost.ec.message() << ": " << cost.what);
            require_cheap(cost, context.str());
        }
    }
}

BOOST_DATA_TEST_CASE(payload_limit_is_refused_before_allocating, bdata::make(all_encodings), enc) {
    property_bag bag;
    bag["text"] = instance_value(std::string(100'000, 'x'));
    const bytes blob = encode_bag(bag, enc);
    const std::uint32_t payload = claimed_length(blob);

    const auto cost = measured_decode(blob, 4096);
    BOOST_TEST((cost.ec == errc::value_too_large), cost.ec.message());
    BOOST_TEST(cost.what.find(std::to_string(payload)) != std::string::npos, cost.what);
    BOOST_TEST(cost.what.find("4096") != std::string::npos, cost.what);
    BOOST_TEST(cost.what.find("raise store_options::max_bag_bytes") != std::string::npos, cost.what);
    require_cheap(cost, "over the limit", 1024);

    std::string what;
    BOOST_TEST((decode_bag_entries(blob, [](const bag_entry_ref&) -> const char* { return nullptr; }, what, 4096) ==
                errc::value_too_large));
    bag_header header;
    BOOST_TEST((read_bag_header(blob, header, what, 4096) == errc::value_too_large));
    BOOST_TEST((read_bag_header(blob, header, what, payload) == error_code{}), what);

    property_bag decoded;
    BOOST_TEST(!decode_bag(blob, decoded, what, payload), "a payload exactly at the limit is read: " << what);
    BOOST_TEST((decoded == bag));
}

BOOST_AUTO_TEST_CASE(the_format_limit_stays_corrupt_data_whatever_the_callers_limit) {
    const bytes blob = blob_of(encoding::none, static_cast<std::uint32_t>(codec_max_payload_bytes) + 1, {});
    std::string what;
    bag_header header;
    BOOST_TEST((read_bag_header(blob, header, what, std::numeric_limits<std::size_t>::max()) == errc::corrupt_data));
    BOOST_TEST(what.find("format's limit") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(zstd_frame_content_size_that_lies) {
    const bytes payload = payload_of(test::every_kind_bag());
    const auto n = static_cast<std::uint32_t>(payload.size());
    const unsigned window = window_log_for(n);

    // The frame disagrees with the header: refused before decompressing.
    for (const std::uint64_t lie : {std::uint64_t{n} - 1, std::uint64_t{n} + 1, std::uint64_t{codec_max_payload_bytes}, ~std::uint64_t{0} - 2}) {
        const auto cost = measured_decode(blob_of(encoding::zstd, n, zstd_frame(payload, lie, window)));
        BOOST_TEST((cost.ec == errc::corrupt_data));
        BOOST_TEST(cost.what.find("frame content size") != std::string::npos, cost.what);
        require_cheap(cost, "frame content size " + std::to_string(lie));
    }
    // Header and frame tell the same lie: the stream itself gives them away.
    const auto cost = measured_decode(blob_of(encoding::zstd, n + 1000, zstd_frame(payload, n + 1000, window)));
    BOOST_TEST((cost.ec == errc::corrupt_data), cost.what);
    require_cheap(cost, "header and frame both claiming 1000 bytes too many");
    // And together claim 1 GiB from a frame header alone: refused without zstd's window.
    const auto huge = measured_decode(blob_of(encoding::zstd, static_cast<std::uint32_t>(codec_max_payload_bytes),
                                              zstd_frame({}, codec_max_payload_bytes, 30)));
    BOOST_TEST((huge.ec == errc::corrupt_data), huge.what);
    require_cheap(huge, "header and frame both claiming 1 GiB");
}

BOOST_AUTO_TEST_CASE(zstd_frame_asking_for_a_large_window_is_refused_before_zstd_allocates_it) {
    const bytes payload = payload_of({});
    // 128 MiB, zstd's default limit: a frame of a few bytes would otherwise make it allocate that.
    const auto cost = measured_decode(blob_of(encoding::zstd, 1, zstd_frame(payload, std::nullopt, 27)));
    BOOST_TEST((cost.ec == errc::corrupt_data));
    BOOST_TEST(cost.what.find("window") != std::string::npos, cost.what);
    require_cheap(cost, "window of 128 MiB for a 1-byte payload");
}

BOOST_AUTO_TEST_CASE(zstd_legacy_and_skippable_frames_are_refused_before_zstd_reads_them) {
    // Found by durable_fuzz_codec: libzstd's legacy (v0.7) decoder allocated the 8 MB window
    // this 6-byte header asks for, past ZSTD_d_windowLogMax.
    const bytes legacy{0x27, 0xb5, 0x2f, 0xfd, 0x00, 0x67};
    // A skippable frame of 4 bytes, then a real frame: zstd would skip the first.
    bytes skippable{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'j', 'u', 'n', 'k'};
    const bytes real = encode_bag({}, encoding::zstd);
    skippable.insert(skippable.end(), real.begin() + header_bytes, real.end());
    for (const auto& [body, claim] : {std::pair{legacy, 24747u}, {skippable, claimed_length(real)}}) {
        const auto cost = measured_decode(blob_of(encoding::zstd, claim, body));
        BOOST_TEST((cost.ec == errc::corrupt_data));
        BOOST_TEST(cost.what.find("does not start with a frame of the current zstd format") != std::string::npos, cost.what);
        require_cheap(cost, "a frame of another format");
    }
}

BOOST_AUTO_TEST_CASE(zstd_frame_without_content_size_is_checked_against_the_header) {
    const auto bag = test::every_kind_bag();
    const bytes payload = payload_of(bag);
    const auto n = static_cast<std::uint32_t>(payload.size());
    const bytes frame = zstd_frame(payload, std::nullopt, window_log_for(n));

    property_bag decoded;
    std::string what;
    BOOST_TEST(!decode_bag(blob_of(encoding::zstd, n, frame), decoded, what), what);
    BOOST_TEST((decoded == bag));

    BOOST_TEST((decode_bag(blob_of(encoding::zstd, n - 1, frame), decoded, what) == errc::corrupt_data));
    BOOST_TEST(what.find("more than the header's payload length") != std::string::npos, what);
    BOOST_TEST((decode_bag(blob_of(encoding::zstd, n + 1, frame), decoded, what) == errc::corrupt_data));
    BOOST_TEST(what.find("ends after " + std::to_string(n) + " bytes") != std::string::npos, what);
}

BOOST_DATA_TEST_CASE(every_truncated_stream_is_refused, bdata::make({encoding::gzip, encoding::zstd}), enc) {
    const bytes blob = encode_bag(test::every_kind_bag(), enc);
    for (std::size_t n = header_bytes; n < blob.size(); ++n) {
        const auto cost = measured_decode(bytes(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n)));
        BOOST_TEST((cost.ec == errc::corrupt_data));
        BOOST_TEST(cost.what.find("truncated") != std::string::npos, "cut to " << n << " bytes: " << cost.what);
        require_cheap(cost, "cut to " + std::to_string(n) + " bytes");
    }
}

BOOST_DATA_TEST_CASE(trailing_garbage_after_the_stream_is_refused, bdata::make({encoding::gzip, encoding::zstd}), enc) {
    const bytes blob = encode_bag(test::every_kind_bag(), enc);
    bytes junk = blob;
    junk.push_back(0);
    bytes two_streams = blob;
    two_streams.insert(two_streams.end(), blob.begin() + header_bytes, blob.end());
    for (const auto& bad : {junk, two_streams}) {
        property_bag out;
        std::string what;
        BOOST_TEST((decode_bag(bad, out, what) == errc::corrupt_data));
        BOOST_TEST(what.find("trailing bytes after the " + std::string(to_string(enc)) + " stream") != std::string::npos, what);
    }
}

BOOST_AUTO_TEST_CASE(gzip_stream_longer_or_shorter_than_the_header_says_is_refused) {
    const bytes blob = encode_bag(test::every_kind_bag(), encoding::gzip);
    const std::uint32_t n = claimed_length(blob);
    property_bag out;
    std::string what;
    BOOST_TEST((decode_bag(blob_of(encoding::gzip, n - 1, body_of(blob)), out, what) == errc::corrupt_data));
    BOOST_TEST(what.find("more than the header's payload length") != std::string::npos, what);
    BOOST_TEST((decode_bag(blob_of(encoding::gzip, n + 1, body_of(blob)), out, what) == errc::corrupt_data));
    BOOST_TEST(what.find("ends after " + std::to_string(n) + " bytes") != std::string::npos, what);
}

BOOST_DATA_TEST_CASE(large_legitimate_bags_still_round_trip, bdata::make(all_encodings), enc) {
    // 8 MiB of zeros compresses extremely well: the ratio checks and the growing buffer must
    // let it through, and decoding must allocate about the payload, not more.
    property_bag bag;
    bag["zeros"] = instance_value(bytes(8 << 20, 0));
    bag["text"] = instance_value(std::string(1 << 20, 'z'));
    const bytes blob = encode_bag(bag, enc);
    const auto cost = measured_decode(blob);
    BOOST_TEST(!cost.ec, cost.what);
    if (test::allocation_tracking_available())
        BOOST_TEST(cost.largest_allocation <= std::size_t{claimed_length(blob)}, "allocated " << cost.largest_allocation << " bytes at once");
    BOOST_TEST((round_trip(bag, enc) == bag));
}

BOOST_AUTO_TEST_CASE(varint_past_64_bits_is_refused_not_wrapped) {
    // A namespace length of 3 + 2^64: wrapping it would read a 3-byte namespace.
    const bytes payload{1, 0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 'a', 'b', 'c', 1, 'x', 0, 0};
    property_bag out;
    std::string what;
    BOOST_TEST((decode_bag(blob_of(encoding::none, static_cast<std::uint32_t>(payload.size()), payload), out, what) ==
                errc::corrupt_data));
    BOOST_TEST(what.find("varint exceeds 64 bits") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(deleted_marker_with_a_value_is_refused) {
    // One entry "x", options = deleted, kind 2 (int64) with its 8 bytes: readers would drop the value.
    const bytes payload{1, 0, 1, 'x', 0x80, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    property_bag out;
    std::string what;
    BOOST_TEST((decode_bag(blob_of(encoding::none, static_cast<std::uint32_t>(payload.size()), payload), out, what) ==
                errc::corrupt_data));
    BOOST_TEST(what.find("deleted marker with value kind 2") != std::string::npos, what);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
