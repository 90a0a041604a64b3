#pragma once
// Property names: the C++ counterpart of .NET's XName, a namespace URI plus a local name.

#include <compare>
#include <string>
#include <string_view>

namespace durable {

/// A qualified property name. Ordered, so property bags iterate (and encode) deterministically.
struct name {
    std::string ns;     ///< namespace URI; may be empty
    std::string local;  ///< local part; must not be empty

    name() = default;
    name(std::string local_name) : local(std::move(local_name)) {}  // NOLINT: implicit on purpose
    name(const char* local_name) : local(local_name) {}              // NOLINT: implicit on purpose
    name(std::string namespace_uri, std::string local_name)
        : ns(std::move(namespace_uri)), local(std::move(local_name)) {}

    /// "{ns}local", or just "local" when the namespace is empty (the XName text form).
    std::string to_string() const;

    /// Parses the form to_string() writes. Throws std::invalid_argument on an empty local
    /// part or an unterminated "{".
    static name parse(std::string_view text);

    friend auto operator<=>(const name&, const name&) = default;
    friend bool operator==(const name&, const name&) = default;
};

}  // namespace durable
