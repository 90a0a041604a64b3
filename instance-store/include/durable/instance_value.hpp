#pragma once
// instance_value and property bags: the unit of instance data, metadata and owner metadata.

#include <durable/value.hpp>

#include <cstdint>
#include <map>

namespace durable {

/// Flags. `optional`: the value may be dropped by a store that cannot keep it (the original's
/// InstanceValueOptions.Optional). `write_only`: stored for observers and tools, never
/// returned by a load.
enum class value_options : std::uint8_t { none = 0, optional = 1, write_only = 2 };

constexpr value_options operator|(value_options a, value_options b) noexcept {
    return static_cast<value_options>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr bool has_option(value_options set, value_options flag) noexcept {
    return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(flag)) != 0;
}

/// A value with its options, or the deleted-value marker that change bags use to remove a name.
class instance_value {
public:
    instance_value() = default;  // null, no options
    instance_value(value v, value_options options = value_options::none)  // NOLINT: implicit
        : value_(std::move(v)), options_(options) {}

    /// The marker "delete this name"; allowed only in change bags (metadata changes).
    static instance_value deleted() noexcept {
        instance_value v;
        v.deleted_ = true;
        return v;
    }

    bool is_deleted() const noexcept { return deleted_; }
    const value& get() const noexcept { return value_; }
    value_options options() const noexcept { return options_; }
    bool is_write_only() const noexcept { return has_option(options_, value_options::write_only); }
    bool is_optional() const noexcept { return has_option(options_, value_options::optional); }

    friend bool operator==(const instance_value&, const instance_value&) = default;

private:
    value value_;
    value_options options_ = value_options::none;
    bool deleted_ = false;
};

/// name -> value. Ordered so that encoding is deterministic.
using property_bag = std::map<name, instance_value>;

/// The original's four-way split of a bag: read-write vs write-only, primitive vs complex.
/// Stores keep each part apart so that a load never has to decode write-only values.
struct bag_partition {
    property_bag read_write_primitive;
    property_bag read_write_complex;
    property_bag write_only_primitive;
    property_bag write_only_complex;
};

/// Splits `bag` by option and kind. Deleted markers are not expected here (callers validate).
bag_partition partition(const property_bag& bag);

/// Applies a change bag: deleted markers erase, other values replace.
void apply_changes(property_bag& target, const property_bag& changes);

/// `bag` without its write-only values: what a load may hand back.
property_bag readable_part(const property_bag& bag);

}  // namespace durable
