#include "pg_errors.hpp"

namespace durable::pg::detail {

namespace {
std::string_view field(const PGresult* result, int code) {
    const char* text = PQresultErrorField(result, code);
    return text ? std::string_view(text) : std::string_view();
}
}  // namespace

void fill_server_diagnostics(const PGresult* result, server_diagnostics& out) {
    out.sqlstate = field(result, PG_DIAG_SQLSTATE);
    out.message = field(result, PG_DIAG_MESSAGE_PRIMARY);
    out.detail = field(result, PG_DIAG_MESSAGE_DETAIL);
    if (const auto hint = field(result, PG_DIAG_MESSAGE_HINT); !hint.empty()) {
        if (!out.detail.empty()) out.detail += " ";
        out.detail += "HINT: ";
        out.detail += hint;
    }
    if (out.message.empty()) out.message = PQresultErrorMessage(result);
}

void fill_connection_diagnostics(const PGconn* conn, server_diagnostics& out) {
    out.sqlstate.clear();
    out.message = conn ? PQerrorMessage(conn) : "out of memory allocating a connection";
    while (!out.message.empty() && (out.message.back() == '\n' || out.message.back() == ' ')) out.message.pop_back();
    out.detail.clear();
}

bool is_connection_sqlstate(std::string_view s) noexcept {
    // Class 08 (connection exception) and the "operator intervention" codes a restart or
    // pg_terminate_backend sends before closing the session.
    return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03";
}

bool is_transient_sqlstate(std::string_view s) noexcept {
    return s == "40001" || s == "40P01" || s == "55P03" || is_connection_sqlstate(s);
}

errc errc_for_sqlstate(std::string_view s) noexcept {
    if (s == "42883" || s == "42P01" || s == "3F000" || s == "42704") return errc::schema_mismatch;
    if (s == "22023" || s == "22P02" || s == "23514" || s == "23505" || s.starts_with("22")) return errc::invalid_command;
    return errc::store_unavailable;
}

}  // namespace durable::pg::detail
