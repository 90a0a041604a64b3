#pragma once
// Property names: the C++ counterpart of .NET's XName, a namespace URI plus a local name.

#include <compare>
#include <string>

namespace durable {

/// A qualified property name. Ordered, so property bags iterate (and encode) deterministically.
struct name {
    std::string ns;     ///< namespace URI; may be empty
    std::string local;  ///< local part; empty only in a value of kind name

    name() = default;
    name(std::string local_name) : local(std::move(local_name)) {}  // NOLINT: implicit on purpose
    name(const char* local_name) : local(local_name) {}              // NOLINT: implicit on purpose
    name(std::string namespace_uri, std::string local_name)
        : ns(std::move(namespace_uri)), local(std::move(local_name)) {}

    /// "{ns}local", or just "local" when the namespace is empty (the XName text form), for
    /// messages and logs only. It is ambiguous (either part may contain braces, the local part
    /// may be empty), so there is no parser for it: anything stored keeps the two parts apart.
    std::string to_string() const;

    friend auto operator<=>(const name&, const name&) = default;
    friend bool operator==(const name&, const name&) = default;
};

}  // namespace durable
