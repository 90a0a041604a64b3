#include <durable/value.hpp>

namespace durable {

value_kind kind_of(const value& v) noexcept {
    // The variant's alternatives are declared in value_kind order.
    return static_cast<value_kind>(v.index());
}

const char* to_string(value_kind kind) noexcept {
    switch (kind) {
        case value_kind::null: return "null";
        case value_kind::boolean: return "bool";
        case value_kind::int64: return "int64";
        case value_kind::real: return "double";
        case value_kind::string: return "string";
        case value_kind::binary: return "bytes";
        case value_kind::identifier: return "uuid";
        case value_kind::instant: return "timestamp";
        case value_kind::interval: return "duration";
        case value_kind::qualified_name: return "name";
        case value_kind::opaque: return "opaque";
    }
    return "unknown";
}

static_assert(std::variant_size_v<value> == 11, "value_kind must list every alternative");
static_assert(std::is_same_v<std::variant_alternative_t<10, value>, opaque>);

}  // namespace durable
