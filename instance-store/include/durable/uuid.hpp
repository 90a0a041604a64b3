#pragma once
// Instance ids, owner ids and instance keys are RFC 4122 UUIDs.

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_hash.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace durable {

using uuid = boost::uuids::uuid;

/// A fresh random (version 4) UUID. Thread-safe.
uuid random_uuid();

/// The all-zero UUID, which the original calls "invalid key" / "empty instance id".
inline constexpr uuid nil_uuid{};

/// Lower-case canonical form, e.g. "0f8fad5b-d9cb-469f-a165-70867728950e".
std::string to_string(const uuid& id);

/// Parses the canonical 36-character form (either case); nullopt on anything else.
std::optional<uuid> parse_uuid(std::string_view text) noexcept;

}  // namespace durable
