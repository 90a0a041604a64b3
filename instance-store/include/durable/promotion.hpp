#pragma once
// Promoted properties (the original's SqlWorkflowInstanceStore.Promote): values of an instance's
// data that every save with data copies into a place tools can query without the application,
// in the same transaction as the save. On PostgreSQL that place is the
// instance_promoted_properties view, typed (docs/sql.md); the memory and XML stores keep them
// beside the instance. query_promoted_properties reads them back on every store.
//
// The original split a promotion into 32 sql_variant and 32 varbinary columns. Here the split
// follows durable's value kinds:
//   primitive values (positions 1-32): the scalar kinds, which PostgreSQL stores in a typed
//     column a query can compare: null, boolean, int64, real, string, uuid, timestamp,
//     duration, qualified name;
//   binary values (positions 33-64): bytes and opaque values (or null), stored as bytes
//     (an opaque value's content type beside them).
// A promoted value must come back exactly from every store, so a save refuses (invalid_command,
// naming the promotion and the property) a value that one of them could not keep exactly:
//   - a value of the other group's kind (an opaque value among the primitive ones, ...);
//   - a string, a name's namespace or local part, or a content type that holds NUL or is not
//     valid UTF-8 (PostgreSQL text holds neither);
//   - a NaN other than the one quiet NaN PostgreSQL makes (bits 0x7ff8000000000000): its sign
//     and payload would be lost;
//   - a timestamp outside years 1 to 9999 UTC (the original's DateTime range).
// Other values (every int64, every duration, -0.0, infinities, any bytes) are kept exactly.

#include <durable/instance_value.hpp>
#include <durable/name.hpp>

#include <map>
#include <string>
#include <vector>

namespace durable {

/// One promotion: a name and the data properties whose values it copies.
struct promotion {
    std::string name;
    /// At most 32, stored at positions 1-32 in this order: scalar values (see above).
    std::vector<durable::name> primitive_values;
    /// At most 32, stored at positions 33-64 in this order: bytes and opaque values.
    std::vector<durable::name> binary_values;
    friend bool operator==(const promotion&, const promotion&) = default;
};

/// The most values of each group a promotion may have (the original's 32 + 32 columns).
inline constexpr std::size_t max_promoted_values_per_group = 32;

/// Promoted values as a save stores them and query_promoted_properties returns them:
/// promotion name -> (property name -> value). A promotion appears when at least one of its
/// properties is present in the saved data (a property present with a null value counts);
/// properties absent from the data are absent here. Values carry no options: a write-only data
/// value is promoted like any other.
using promoted_values = std::map<std::string, property_bag>;

/// Throws std::invalid_argument naming what is wrong with `p` (empty or non-UTF-8 name, an
/// empty or non-UTF-8 property name, a property named twice, more than 32 values in a group,
/// no values at all). store_options::promote and store_options::validate call it.
void validate_promotion(const promotion& p);

/// The values `promotions` take from a save's `data` (write-only values included). Returns
/// false and says why in `why` when a value cannot be promoted exactly (see above).
bool promote_values(const std::vector<promotion>& promotions, const property_bag& data, promoted_values& out,
                    std::string& why);

}  // namespace durable
