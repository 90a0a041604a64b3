// libFuzzer target: arbitrary bytes as a stored bag blob, given to every decoding entry point.
// Sanitizers catch crashes, leaks and undefined behaviour, and libFuzzer's -malloc_limit_mb a
// huge allocation; the checks below catch an allocation larger than the input can justify,
// decoders that disagree with one another, and decoded bags that do not survive being encoded
// again (the round-trip oracle).

#include "allocation_watch.hpp"

#include <durable/codec.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace durable;

// A few kilobytes of zstd can legitimately expand to hundreds of megabytes; under this limit a
// legitimate expansion stays far below -malloc_limit_mb, and above it the limit's refusal
// (value_too_large) is exercised instead.
constexpr std::size_t max_payload = std::size_t{16} << 20;

// What decoding n bytes may allocate at once: a fixed allowance (zstd's context and block
// buffers, ~500 KiB) plus twice the largest expansion any encoding allows (zstd: 128 KiB per
// 3-byte block header), as a buffer or window may be rounded up to a power of two.
constexpr std::size_t fixed_allowance = std::size_t{1} << 20;
constexpr std::size_t allowance_per_byte = 2 * (128 * 1024 / 3 + 1);

constexpr encoding all_encodings[] = {encoding::none, encoding::gzip, encoding::zstd};

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "durable_fuzz_codec: %s\n", what.c_str());
    std::abort();
}

bool expected_refusal(error_code ec) {
    return ec == errc::corrupt_data || ec == errc::unsupported_format || ec == errc::value_too_large;
}

// Bags compare through their canonical encoding: operator== would call a NaN unequal to itself.
bytes canonical(const property_bag& bag) { return encode_bag(bag, encoding::none); }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!fuzz::allocation_watch::install()) finding("cannot install the sanitizer's malloc hooks");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> blob(data, size);

    bag_header header;
    std::string header_what;
    property_bag bag;
    std::string bag_what;
    std::size_t visited = 0;
    std::string entries_what;
    error_code header_ec, bag_ec, entries_ec;
    {
        const fuzz::allocation_watch watch;
        header_ec = read_bag_header(blob, header, header_what, max_payload);
        bag_ec = decode_bag(blob, bag, bag_what, max_payload);
        entries_ec = decode_bag_entries(
            blob,
            [&visited](const bag_entry_ref& entry) -> const char* {
                ++visited;
                (void)entry.to_value();
                return nullptr;
            },
            entries_what, max_payload);
        if (watch.largest() > fixed_allowance + allowance_per_byte * size)
            finding("decoding " + std::to_string(size) + " bytes allocated " + std::to_string(watch.largest()) +
                    " bytes at once: more than the input can hold");
    }

    for (const auto& [ec, what] : {std::pair{header_ec, header_what}, {bag_ec, bag_what}, {entries_ec, entries_what}}) {
        if (ec && !expected_refusal(ec)) finding("unexpected error " + ec.message() + ": " + what);
        if (ec && what.empty()) finding("a refusal (" + ec.message() + ") that does not say what was wrong");
    }
    if (header_ec && (bag_ec != header_ec || entries_ec != header_ec))
        finding("the decoders disagree about a header read_bag_header refuses: " + header_what);
    if (entries_ec && !bag_ec) finding("decode_bag accepted what decode_bag_entries refuses: " + entries_what);
    if (bag_ec) {
        // Only repeated names are decode_bag's own to refuse.
        if (!entries_ec && bag_what.find("repeats a name") == std::string::npos)
            finding("decode_bag refused what decode_bag_entries accepts: " + bag_what);
        if (!bag.empty()) finding("a failed decode_bag left entries in the bag");
        return 0;
    }
    if (visited != bag.size()) finding("decode_bag_entries visited " + std::to_string(visited) + " entries of " + std::to_string(bag.size()));

    const bytes expected = canonical(bag);
    for (const encoding enc : all_encodings) {
        const bytes again = encode_bag(bag, enc);
        property_bag back;
        std::string what;
        if (decode_bag(again, back, what, max_payload)) finding(std::string("a decoded bag encoded as ") + to_string(enc) + " does not decode: " + what);
        if (canonical(back) != expected) finding(std::string("a decoded bag encoded as ") + to_string(enc) + " decodes to another bag");
    }
    return 0;
}
