#include <durable/promotion.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace durable {
namespace {

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF)
/// without NUL: what a PostgreSQL text value in a UTF8 database can hold.
bool is_storable_text(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            length = 2;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            length = 3;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            length = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + length > s.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0u) != 0x80u) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if ((length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += length;
    }
    return true;
}

/// The quiet NaN PostgreSQL makes of 'NaN' (and hands back in binary results).
constexpr std::uint64_t storable_nan_bits = 0x7ff8000000000000u;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, microseconds since 1970.
constexpr std::int64_t earliest_promoted_microseconds = -62135596800000000;
constexpr std::int64_t latest_promoted_microseconds = 253402300799999999;

/// Empty when `v`, promoted among the primitive (or binary) values, comes back exactly from
/// every store; otherwise why not.
std::string unstorable(const value& v, bool binary_group) {
    const value_kind kind = kind_of(v);
    const bool binary_kind = kind == value_kind::binary || kind == value_kind::opaque;
    if (kind != value_kind::null && binary_kind != binary_group)
        return std::string("holds a ") + to_string(kind) + " value, which is promoted among the " +
               (binary_kind ? "binary" : "primitive") + " values, not the " + (binary_group ? "binary" : "primitive") +
               " ones";
    const auto text = [](std::string_view s, const char* what) {
        return is_storable_text(s) ? std::string()
                                   : std::string("holds ") + what + " with NUL or invalid UTF-8, which PostgreSQL text cannot keep";
    };
    return std::visit(
        [&](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return text(x, "a string");
            } else if constexpr (std::is_same_v<T, name>) {
                auto why = text(x.ns, "a name whose namespace");
                return why.empty() ? text(x.local, "a name whose local part") : why;
            } else if constexpr (std::is_same_v<T, opaque>) {
                return text(x.content_type, "a content type");
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isnan(x) && std::bit_cast<std::uint64_t>(x) != storable_nan_bits)
                    return "holds a NaN with a sign or payload (only the quiet NaN 0x7ff8000000000000 is kept exactly)";
                return {};
            } else if constexpr (std::is_same_v<T, timestamp>) {
                const auto us = x.time_since_epoch().count();
                if (us < earliest_promoted_microseconds || us > latest_promoted_microseconds)
                    return "holds a timestamp outside years 1 to 9999 UTC";
                return {};
            } else {
                return {};
            }
        },
        v);
}

void require_storable_name(const std::string& promotion_name, const name& n) {
    if (n.local.empty())
        throw std::invalid_argument("promotion '" + promotion_name + "' has a property with an empty name");
    if (!is_storable_text(n.ns) || !is_storable_text(n.local))
        throw std::invalid_argument("promotion '" + promotion_name +
                                    "' has a property name with NUL or invalid UTF-8, which PostgreSQL text cannot keep");
}

}  // namespace

void validate_promotion(const promotion& p) {
    if (p.name.empty()) throw std::invalid_argument("a promotion needs a name");
    if (!is_storable_text(p.name))
        throw std::invalid_argument("a promotion's name may not hold NUL or invalid UTF-8 (PostgreSQL text cannot keep it)");
    if (p.primitive_values.empty() && p.binary_values.empty())
        throw std::invalid_argument("promotion '" + p.name + "' names no values");
    if (p.primitive_values.size() > max_promoted_values_per_group)
        throw std::invalid_argument("promotion '" + p.name + "' has " + std::to_string(p.primitive_values.size()) +
                                    " primitive values; at most 32 are allowed");
    if (p.binary_values.size() > max_promoted_values_per_group)
        throw std::invalid_argument("promotion '" + p.name + "' has " + std::to_string(p.binary_values.size()) +
                                    " binary values; at most 32 are allowed");
    std::set<name> seen;
    for (const auto* group : {&p.primitive_values, &p.binary_values})
        for (const auto& n : *group) {
            require_storable_name(p.name, n);
            if (!seen.insert(n).second)
                throw std::invalid_argument("promotion '" + p.name + "' names property " + n.to_string() +
                                            " more than once");
        }
}

bool promote_values(const std::vector<promotion>& promotions, const property_bag& data, promoted_values& out,
                    std::string& why) {
    out.clear();
    for (const auto& p : promotions) {
        property_bag values;
        for (const auto* group : {&p.primitive_values, &p.binary_values}) {
            const bool binary_group = group == &p.binary_values;
            for (const auto& n : *group) {
                const auto it = data.find(n);
                if (it == data.end()) continue;
                if (auto problem = unstorable(it->second.get(), binary_group); !problem.empty()) {
                    why = "property " + n.to_string() + " of promotion '" + p.name + "' " + problem;
                    return false;
                }
                values.emplace(n, instance_value(it->second.get()));
            }
        }
        if (!values.empty()) out.emplace(p.name, std::move(values));
    }
    return true;
}

}  // namespace durable
