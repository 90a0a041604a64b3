#pragma once
// The values a property bag holds. Primitive values have a fixed, documented encoding that
// durable-admin can decode without the application; anything richer travels as `opaque`: the
// application's own bytes plus a content-type tag (the original's "complex" properties).

#include <durable/name.hpp>
#include <durable/uuid.hpp>

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace durable {

using bytes = std::vector<std::uint8_t>;
/// UTC instants with the resolution PostgreSQL keeps (microseconds).
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using duration = std::chrono::microseconds;

/// Application-defined data: what the original stored as a NetDataContract-serialised object.
struct opaque {
    std::string content_type;  ///< e.g. "application/json"; chosen by the application
    bytes data;
    friend bool operator==(const opaque&, const opaque&) = default;
};

/// One value. std::monostate is null.
using value = std::variant<std::monostate, bool, std::int64_t, double, std::string, bytes, uuid,
                           timestamp, duration, name, opaque>;

/// The codec's type tags. The numbers are part of the stored format: never renumber.
enum class value_kind : std::uint8_t {
    null = 0,
    boolean = 1,
    int64 = 2,
    real = 3,
    string = 4,
    binary = 5,          ///< bytes
    identifier = 6,      ///< uuid
    instant = 7,         ///< timestamp
    interval = 8,        ///< duration
    qualified_name = 9,  ///< name
    opaque = 10,
};

value_kind kind_of(const value& v) noexcept;

/// Everything but `opaque` is primitive; the stores keep the two apart as the original did.
inline bool is_primitive(const value& v) noexcept { return kind_of(v) != value_kind::opaque; }

/// "null", "bool", "int64", ... for messages and the admin tool.
const char* to_string(value_kind kind) noexcept;

}  // namespace durable
