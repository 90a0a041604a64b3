#pragma once
// Generated values for property-based round trips: every string, name and value the API
// accepts, drawn with a bias towards what text formats get wrong. Fixed seeds, so a failure
// replays; the seed and iteration are in each failing check's context.

#include <durable/codec.hpp>
#include <durable/extension/records.hpp>
#include <durable/instance_value.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace durable::xml::test {

/// A bag in a form to compare bit for bit: under == a NaN differs from itself and -0.0 equals
/// 0.0, but the encoding holds each double's bits.
inline bytes bits_of(const property_bag& bag) { return encode_bag(bag, encoding::none); }

class awkward_generator {
public:
    explicit awkward_generator(std::uint64_t seed) : rng_(seed) {}

    /// Any byte string: pieces XML 1.0 cannot carry, pieces it carries only escaped, broken and
    /// valid UTF-8, plain text; now and then random bytes or a long string.
    std::string string() {
        switch (below(20)) {
        case 0: return {};
        case 1: return random_bytes(below(16));
        case 2: return long_string();
        default: break;
        }
        std::string s;
        for (auto n = 1 + below(6); n > 0; --n) s += pieces()[below(pieces().size())];
        return s;
    }

    /// A name as a value: either part may be anything, the local part empty too.
    name any_name() { return {string(), string()}; }
    /// A property name or host type: the local part is not empty (the API refuses that).
    name nonempty_name() {
        name n = any_name();
        if (n.local.empty()) n.local = pieces()[below(pieces().size())] + "x";
        return n;
    }

    std::int64_t int64() {
        constexpr std::int64_t edges[] = {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 0, -1, 1};
        return below(2) == 0 ? edges[below(std::size(edges))] : static_cast<std::int64_t>(rng_());
    }
    timestamp time() { return timestamp{duration{int64()}}; }

    double real() {
        switch (below(12)) {
        case 0: return -0.0;
        case 1: return 0.0;
        case 2: return std::numeric_limits<double>::infinity();
        case 3: return -std::numeric_limits<double>::infinity();
        case 4: return std::numeric_limits<double>::denorm_min();
        case 5: return -std::numeric_limits<double>::denorm_min() * static_cast<double>(1 + below(1000));
        case 6: return std::numeric_limits<double>::max();
        case 7: return std::numeric_limits<double>::min();
        case 8: return 0.1;
        case 9:
        case 10: {
            // A NaN of either sign, quiet or signalling, with a random payload (never zero, or
            // it would be an infinity).
            std::uint64_t mantissa = rng_() & ((std::uint64_t{1} << 52) - 1);
            if (mantissa == 0) mantissa = 1;
            return std::bit_cast<double>((rng_() & (std::uint64_t{1} << 63)) | (std::uint64_t{0x7ff} << 52) | mantissa);
        }
        default: return std::bit_cast<double>(rng_());  // any pattern: NaNs, denormals, ...
        }
    }

    value any_value() {
        switch (below(11)) {
        case 0: return std::monostate{};
        case 1: return below(2) == 0;
        case 2: return int64();
        case 3: return real();
        case 4: return string();
        case 5: return blob();
        case 6: return below(4) == 0 ? nil_uuid : random_uuid();
        case 7: return time();
        case 8: return duration{int64()};
        case 9: return any_name();
        default: return opaque{string(), blob()};
        }
    }

    /// A bag as hosts save it: no deleted markers unless `change_bag`.
    property_bag bag(bool change_bag = false) {
        property_bag b;
        for (auto n = below(8); n > 0; --n) {
            if (change_bag && below(5) == 0) {
                b[nonempty_name()] = instance_value::deleted();
                continue;
            }
            auto options = value_options::none;
            if (below(4) == 0) options = options | value_options::optional;
            if (below(4) == 0) options = options | value_options::write_only;
            b[nonempty_name()] = instance_value(any_value(), options);
        }
        return b;
    }
    /// A bag as records keep it: encoded, and empty when there is nothing in it.
    bytes encoded_bag(bool with_deleted = false) {
        const auto b = bag(with_deleted);
        return b.empty() ? bytes{} : encode_bag(b, encoding::none);
    }

    workflow_identity identity() {
        workflow_identity id{string(), string(), std::nullopt};
        if (below(2) == 0) {
            id.version = definition_version{int64(), int64(), std::nullopt, std::nullopt};
            if (below(2) == 0) id.version->build = int64();
            if (below(2) == 0) id.version->revision = int64();
        }
        return id;
    }

    std::optional<timestamp> maybe_time() { return below(2) == 0 ? std::optional(time()) : std::nullopt; }

    extension::owner_record owner() {
        extension::owner_record r;
        r.id = random_uuid();
        r.lease_expires = time();
        r.created = time();
        if (below(3) != 0) r.workflow_host_type = below(4) == 0 ? any_name() : nonempty_name();
        r.machine_name = string();
        r.activation_service = below(2) == 0;
        r.deletes_instances_on_completion = below(2) == 0;
        r.filter = static_cast<identity_filter>(below(3));
        for (auto n = below(3); n > 0; --n) r.identities.push_back(identity());
        r.metadata = encoded_bag();
        r.write_only_metadata = encoded_bag();
        return r;
    }

    extension::instance_record instance() {
        extension::instance_record r;
        r.id = random_uuid();
        if (below(2) == 0) r.lock_owner = random_uuid();
        r.version = int64();
        r.initialized = below(2) == 0;
        r.completed = below(2) == 0;
        r.suspended = below(2) == 0;
        r.ready_to_run = below(2) == 0;
        r.pending_timer = maybe_time();
        r.runnable_time = maybe_time();
        if (below(3) != 0) r.workflow_host_type = below(4) == 0 ? any_name() : nonempty_name();
        if (below(2) == 0) r.identity = identity();
        r.creation_time = time();
        r.last_updated = maybe_time();
        r.read_write_primitive = encoded_bag();
        r.read_write_complex = encoded_bag();
        r.write_only_primitive = encoded_bag();
        r.write_only_complex = encoded_bag();
        r.metadata = encoded_bag(true);
        r.execution_status = string();
        r.blocking_bookmarks = string();
        r.suspension_reason = string();
        r.suspension_exception_name = string();
        r.last_machine_run_on = string();
        for (auto n = below(5); n > 0; --n) r.keys.push_back(random_uuid());
        std::sort(r.keys.begin(), r.keys.end());
        return r;
    }

    extension::key_record key() {
        extension::key_record r{random_uuid(), random_uuid(), below(2) == 0, std::nullopt};
        switch (below(3)) {
        case 0: break;                       // metadata not written yet
        case 1: r.metadata = bytes{}; break;  // written, and empty
        default: r.metadata = encoded_bag(); break;
        }
        return r;
    }

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

private:
    static const std::vector<std::string>& pieces() {
        static const std::vector<std::string> all = [] {
            std::vector<std::string> p{
                std::string("\0", 1), "\x7f", "{", "}", "{}", "{urn:a}b", "]]>", "\"", "'", "&", "&amp;", "&#0;", "<", ">",
                "<!--", "--", "-", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\r", "plain", "x", "caf\xc3\xa9",
                "\xed\xa0\x80", "\xed\xbf\xbf",              // lone surrogates (CESU-style)
                "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xf0\x80\x80\x80",  // overlong forms
                "\xe2\x82", "\xf0\x9f\x98", "\xc3",          // truncated sequences
                "\xef\xbf\xbe", "\xef\xbf\xbf", "\xef\xbf\xbd",  // U+FFFE, U+FFFF (not Chars), U+FFFD
                "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",      // 4-byte forms, U+10FFFF
                "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",      // past U+10FFFF
                "\xed\x9f\xbf", "\xee\x80\x80",              // U+D7FF, U+E000 (Chars)
                "\xef\xbb\xbf",                              // a byte order mark
            };
            for (int c = 1; c < 0x20; ++c) p.emplace_back(1, static_cast<char>(c));                   // C0
            for (int c = 0x80; c < 0xa0; ++c) p.push_back(std::string("\xc2") + static_cast<char>(c));  // C1, in UTF-8
            for (int b = 0x80; b <= 0xff; ++b) p.emplace_back(1, static_cast<char>(b));               // bytes alone
            return p;
        }();
        return all;
    }

    std::string random_bytes(std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s) c = static_cast<char>(rng_());
        return s;
    }

    std::string long_string() {
        // Mostly plain text, so that runs longer than any buffer or SIMD block go through the
        // fast paths, with awkward pieces at random places.
        std::string s;
        const auto size = 1000 + below(20'000);
        while (s.size() < size) s += below(10) == 0 ? pieces()[below(pieces().size())] : std::string(1 + below(64), static_cast<char>('a' + below(26)));
        return s;
    }

    bytes blob() {
        bytes b(below(8) == 0 ? below(5000) : below(40));
        for (auto& x : b) x = static_cast<std::uint8_t>(rng_());
        return b;
    }

    std::mt19937_64 rng_;
};

}  // namespace durable::xml::test
