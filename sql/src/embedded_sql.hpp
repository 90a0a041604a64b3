#pragma once
// The bundled scripts, embedded at build time (embedded_sql.cpp is generated from sql/scripts).

#include <string_view>

namespace durable::pg::detail {

extern const std::string_view embedded_schema_sql;
extern const std::string_view embedded_logic_sql;
extern const std::string_view embedded_drop_sql;

}  // namespace durable::pg::detail
