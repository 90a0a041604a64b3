#include "pg_wire.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace durable::pg::detail {

namespace {

template <class T>
void put_be(std::string& out, T v) {
    using U = std::make_unsigned_t<T>;
    const auto u = static_cast<U>(v);
    for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(static_cast<unsigned char>((u >> shift) & 0xffu)));
}

template <class T>
T get_be(std::string_view in, std::size_t at) {
    if (at + sizeof(T) > in.size()) throw std::runtime_error("binary field shorter than its type");
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        u = static_cast<U>((u << 8) | static_cast<unsigned char>(in[at + i]));
    return static_cast<T>(u);
}

/// The array header of a one-dimensional array of `count` elements of type `oid`.
std::string array_header(std::size_t count, std::uint32_t oid, bool has_null) {
    std::string out;
    put_be<std::int32_t>(out, 1);
    put_be<std::int32_t>(out, has_null ? 1 : 0);
    put_be<std::uint32_t>(out, oid);
    put_be<std::int32_t>(out, static_cast<std::int32_t>(count));
    put_be<std::int32_t>(out, 1);
    return out;
}

void put_element(std::string& out, std::string_view bytes) {
    put_be<std::int32_t>(out, static_cast<std::int32_t>(bytes.size()));
    out.append(bytes);
}

std::string uuid_bytes(const uuid& v) { return std::string(reinterpret_cast<const char*>(v.data), 16); }

// PostgreSQL's epoch (2000-01-01) in microseconds after the Unix epoch.
constexpr std::int64_t pg_epoch_offset_us = 946'684'800'000'000;

}  // namespace

void param_list::push(std::string bytes, bool is_null) {
    lengths_.push_back(static_cast<int>(bytes.size()));
    storage_.push_back(std::move(bytes));
    null_.push_back(is_null);
    formats_.push_back(1);
    values_.clear();
}

const char* const* param_list::values() const {
    values_.resize(storage_.size());
    for (std::size_t i = 0; i < storage_.size(); ++i) values_[i] = null_[i] ? nullptr : storage_[i].data();
    return values_.data();
}

void param_list::add_null() { push({}, true); }
void param_list::add_bool(bool v) { push(std::string(1, v ? '\1' : '\0')); }
void param_list::add_int4(std::int32_t v) {
    std::string s;
    put_be(s, v);
    push(std::move(s));
}
void param_list::add_int8(std::int64_t v) {
    std::string s;
    put_be(s, v);
    push(std::move(s));
}
void param_list::add_uuid(const uuid& v) { push(uuid_bytes(v)); }
void param_list::add_text(std::string_view v) { push(std::string(v)); }
void param_list::add_bytea(const bytes& v) {
    if (v.empty()) return add_null();
    push(std::string(reinterpret_cast<const char*>(v.data()), v.size()));
}
void param_list::add_jsonb(std::string_view json) {
    std::string s(1, '\1');
    s += json;
    push(std::move(s));
}
void param_list::add_optional_uuid(const std::optional<uuid>& v) { v ? add_uuid(*v) : add_null(); }
void param_list::add_optional_int8(const std::optional<std::int64_t>& v) { v ? add_int8(*v) : add_null(); }

void param_list::add_uuid_array(const std::vector<uuid>& v) {
    if (v.empty()) return add_null();
    std::string s = array_header(v.size(), oid_uuid, false);
    for (const auto& id : v) put_element(s, uuid_bytes(id));
    push(std::move(s));
}

void param_list::add_int8_array(const std::vector<std::optional<std::int64_t>>& v) {
    if (v.empty()) return add_null();
    const bool has_null = std::any_of(v.begin(), v.end(), [](const auto& e) { return !e; });
    std::string s = array_header(v.size(), oid_int8, has_null);
    for (const auto& e : v) {
        if (!e) {
            put_be<std::int32_t>(s, -1);
            continue;
        }
        put_be<std::int32_t>(s, 8);
        put_be(s, *e);
    }
    push(std::move(s));
}

void param_list::add_text_array(const std::vector<std::string>& v) {
    if (v.empty()) return add_null();
    std::string s = array_header(v.size(), oid_text, false);
    for (const auto& e : v) put_element(s, e);
    push(std::move(s));
}

void param_list::add_bytea_array(const std::vector<bytes>& v) {
    if (v.empty()) return add_null();
    const bool has_null = std::any_of(v.begin(), v.end(), [](const auto& e) { return e.empty(); });
    std::string s = array_header(v.size(), oid_bytea, has_null);
    for (const auto& e : v) {
        if (e.empty())
            put_be<std::int32_t>(s, -1);
        else
            put_element(s, std::string_view(reinterpret_cast<const char*>(e.data()), e.size()));
    }
    push(std::move(s));
}

// ---- row_reader -------------------------------------------------------------------------------

bool row_reader::is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }

std::string_view row_reader::field(int column) const {
    if (PQfformat(result_, column) != 1) throw std::runtime_error("result column not in binary format");
    return {PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column))};
}

std::optional<std::int32_t> row_reader::int4(int column) const {
    if (is_null(column)) return std::nullopt;
    return get_be<std::int32_t>(field(column), 0);
}
std::optional<std::int16_t> row_reader::int2(int column) const {
    if (is_null(column)) return std::nullopt;
    return get_be<std::int16_t>(field(column), 0);
}
std::optional<std::int64_t> row_reader::int8(int column) const {
    if (is_null(column)) return std::nullopt;
    return get_be<std::int64_t>(field(column), 0);
}
std::optional<bool> row_reader::boolean(int column) const {
    if (is_null(column)) return std::nullopt;
    const auto f = field(column);
    if (f.size() != 1) throw std::runtime_error("boolean field is not 1 byte");
    return f[0] != 0;
}
std::optional<double> row_reader::float8(int column) const {
    if (is_null(column)) return std::nullopt;
    if (field(column).size() != 8) throw std::runtime_error("float8 field is not 8 bytes");
    return std::bit_cast<double>(get_be<std::uint64_t>(field(column), 0));
}
std::optional<uuid> row_reader::uuid_value(int column) const {
    if (is_null(column)) return std::nullopt;
    const auto f = field(column);
    if (f.size() != 16) throw std::runtime_error("uuid field is not 16 bytes");
    uuid id;
    std::memcpy(id.data, f.data(), 16);
    return id;
}
std::optional<std::string> row_reader::text(int column) const {
    if (is_null(column)) return std::nullopt;
    return std::string(field(column));
}
namespace {
/// A byte copy (memmove): built from char iterators, the vector converts element by element,
/// about 5 instructions a byte (21,000 of a 4 KB load's 97,000 on the client, callgrind).
bytes to_bytes(std::string_view field) {
    const auto* first = reinterpret_cast<const std::uint8_t*>(field.data());
    return bytes(first, first + field.size());
}
}  // namespace

std::optional<bytes> row_reader::bytea(int column) const {
    if (is_null(column)) return std::nullopt;
    return to_bytes(field(column));
}
std::optional<timestamp> row_reader::timestamptz(int column) const {
    if (is_null(column)) return std::nullopt;
    const auto us = get_be<std::int64_t>(field(column), 0);
    if (us == std::numeric_limits<std::int64_t>::max()) return timestamp::max();
    if (us == std::numeric_limits<std::int64_t>::min()) return timestamp::min();
    return timestamp{duration{us + pg_epoch_offset_us}};
}

template <class T, class Decode>
std::optional<std::vector<std::optional<T>>> row_reader::array(int column, std::uint32_t oid, Decode decode) const {
    if (is_null(column)) return std::nullopt;
    const auto f = field(column);
    std::vector<std::optional<T>> out;
    const auto ndim = get_be<std::int32_t>(f, 0);
    if (ndim == 0) return out;
    if (ndim != 1) throw std::runtime_error("array of more than one dimension");
    if (get_be<std::uint32_t>(f, 8) != oid) throw std::runtime_error("array of an unexpected element type");
    const auto count = get_be<std::int32_t>(f, 12);
    if (count < 0) throw std::runtime_error("array with a negative size");
    std::size_t at = 20;
    for (std::int32_t i = 0; i < count; ++i) {
        const auto len = get_be<std::int32_t>(f, at);
        at += 4;
        if (len < 0) {
            out.emplace_back();
            continue;
        }
        const auto n = static_cast<std::size_t>(len);
        if (at + n > f.size()) throw std::runtime_error("array element past the end of its field");
        out.emplace_back(decode(f.substr(at, n)));
        at += n;
    }
    return out;
}

std::optional<std::vector<std::optional<bytes>>> row_reader::bytea_array(int column) const {
    return array<bytes>(column, oid_bytea, [](std::string_view e) { return to_bytes(e); });
}
std::optional<std::vector<std::optional<uuid>>> row_reader::uuid_array(int column) const {
    return array<uuid>(column, oid_uuid, [](std::string_view e) {
        if (e.size() != 16) throw std::runtime_error("uuid element is not 16 bytes");
        uuid id;
        std::memcpy(id.data, e.data(), 16);
        return id;
    });
}
std::optional<std::vector<std::optional<bool>>> row_reader::bool_array(int column) const {
    return array<bool>(column, oid_bool, [](std::string_view e) { return !e.empty() && e[0] != 0; });
}
std::optional<std::vector<std::optional<std::string>>> row_reader::text_array(int column) const {
    return array<std::string>(column, oid_text, [](std::string_view e) { return std::string(e); });
}
std::optional<std::vector<std::optional<std::int64_t>>> row_reader::int8_array(int column) const {
    return array<std::int64_t>(column, oid_int8, [](std::string_view e) { return get_be<std::int64_t>(e, 0); });
}

}  // namespace durable::pg::detail
