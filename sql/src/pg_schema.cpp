#include "embedded_sql.hpp"
#include "pg_connection.hpp"
#include "pg_errors.hpp"

#include <durable/pg_instance_store.hpp>
#include <durable/store_error.hpp>

#include <stdexcept>

namespace durable::pg {

namespace {

constexpr std::string_view bundled_schema = "durable_instancing";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

}  // namespace

std::string schema_script(std::string_view schema) {
    // docs/sql.md: the scripts name the schema (and the NOTIFY channel after it) and nothing
    // else with this text, so a textual substitution installs a faithful copy under another name.
    std::string script;
    script.reserve(detail::embedded_schema_sql.size() + detail::embedded_logic_sql.size() + 1);
    script.append(detail::embedded_schema_sql);
    script.append("\n");
    script.append(detail::embedded_logic_sql);
    if (schema != bundled_schema) replace_all(script, bundled_schema, schema);
    return script;
}

void execute_script(const std::string& connection_string, std::string_view script) {
    diagnostics diag;
    diag.command = "execute_script";
    detail::pg_connection conn(connection_string);
    detail::connect_machine connecting(conn);
    constexpr std::chrono::seconds connect_timeout{30};
    if (!detail::run_blocking(connecting, std::chrono::steady_clock::now() + connect_timeout))
        connecting.time_out(connect_timeout);
    if (connecting.failed() != detail::failure::none) {
        diag.server = connecting.server();
        diag.message = "cannot connect to PostgreSQL";
        throw store_error(errc::store_unavailable, diag);
    }
    detail::query_machine q(conn, -1, {}, script, nullptr);
    detail::run_blocking(q);
    if (q.failed() != detail::failure::none) {
        diag.server = q.server();
        diag.message = "the script failed";
        throw store_error(q.failed() == detail::failure::connection_lost ? errc::store_unavailable : errc::invalid_command,
                          diag);
    }
}

void apply_schema(const std::string& connection_string, std::string_view schema) {
    execute_script(connection_string, schema_script(schema));
}

}  // namespace durable::pg
