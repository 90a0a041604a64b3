#pragma once
// Binary wire formats: parameters as PostgreSQL's binary send functions expect them, and the
// fields of a binary result row. Values are big-endian; timestamptz is int64 microseconds since
// 2000-01-01 UTC (infinity = INT64_MAX); arrays carry dimensions, a null flag and the element
// type's OID.

#include <durable/uuid.hpp>
#include <durable/value.hpp>

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace durable::pg::detail {

struct pgresult_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, pgresult_deleter>;

struct pgconn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, pgconn_deleter>;

// Element type OIDs (pg_type.dat); array_recv checks them.
inline constexpr std::uint32_t oid_bool = 16;
inline constexpr std::uint32_t oid_bytea = 17;
inline constexpr std::uint32_t oid_int8 = 20;
inline constexpr std::uint32_t oid_text = 25;
inline constexpr std::uint32_t oid_uuid = 2950;

/// Bound parameters in binary format, in call order. Each value owns its bytes.
class param_list {
public:
    void add_null();
    void add_bool(bool v);
    void add_int4(std::int32_t v);
    void add_int8(std::int64_t v);
    void add_uuid(const uuid& v);
    void add_text(std::string_view v);
    void add_bytea(const bytes& v);
    /// jsonb in binary format: version byte 1, then the JSON text.
    void add_jsonb(std::string_view json);  ///< an empty blob is sent as NULL (no blob)
    void add_optional_uuid(const std::optional<uuid>& v);
    void add_optional_int8(const std::optional<std::int64_t>& v);
    /// NULL when empty.
    void add_uuid_array(const std::vector<uuid>& v);
    void add_int8_array(const std::vector<std::optional<std::int64_t>>& v);
    void add_text_array(const std::vector<std::string>& v);
    /// Empty elements are NULL elements.
    void add_bytea_array(const std::vector<bytes>& v);

    int size() const noexcept { return static_cast<int>(values_.size()); }
    /// Pointer arrays for PQsendQueryPrepared; valid until the list changes.
    const char* const* values() const;
    const int* lengths() const noexcept { return lengths_.data(); }
    const int* formats() const noexcept { return formats_.data(); }

private:
    void push(std::string bytes, bool is_null = false);
    std::vector<std::string> storage_;
    std::vector<bool> null_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
    mutable std::vector<const char*> values_;
};

/// Reads the fields of one row of a binary result. Each getter returns nullopt for NULL and
/// throws std::runtime_error when the field is not what the contract says.
class row_reader {
public:
    row_reader(const PGresult* result, int row) : result_(result), row_(row) {}

    bool is_null(int column) const;
    std::optional<std::int32_t> int4(int column) const;
    std::optional<std::int16_t> int2(int column) const;
    std::optional<std::int64_t> int8(int column) const;
    std::optional<bool> boolean(int column) const;
    /// The float8's exact bits (a NaN keeps its sign and payload).
    std::optional<double> float8(int column) const;
    std::optional<uuid> uuid_value(int column) const;
    std::optional<std::string> text(int column) const;
    std::optional<bytes> bytea(int column) const;
    std::optional<timestamp> timestamptz(int column) const;
    /// Array columns: nullopt for a NULL array; elements as optional.
    std::optional<std::vector<std::optional<bytes>>> bytea_array(int column) const;
    std::optional<std::vector<std::optional<uuid>>> uuid_array(int column) const;
    std::optional<std::vector<std::optional<bool>>> bool_array(int column) const;
    std::optional<std::vector<std::optional<std::string>>> text_array(int column) const;
    std::optional<std::vector<std::optional<std::int64_t>>> int8_array(int column) const;

private:
    std::string_view field(int column) const;
    template <class T, class Decode>
    std::optional<std::vector<std::optional<T>>> array(int column, std::uint32_t oid, Decode decode) const;
    const PGresult* result_;
    int row_;
};

}  // namespace durable::pg::detail
