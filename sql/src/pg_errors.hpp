#pragma once
// From what the server or libpq said to the store's error codes. The raw SQLSTATE, message and
// detail go to diagnostics::server, apart from our own text.

#include <durable/diagnostics.hpp>
#include <durable/error.hpp>

#include <libpq-fe.h>

#include <string_view>

namespace durable::pg::detail {

/// Copies the server's SQLSTATE, message and detail (a result of PGRES_FATAL_ERROR etc.).
void fill_server_diagnostics(const PGresult* result, server_diagnostics& out);
/// libpq's connection-level message (no SQLSTATE: the client saw the failure).
void fill_connection_diagnostics(const PGconn* conn, server_diagnostics& out);

/// The errc for a raised SQLSTATE (docs/sql.md, "SQLSTATEs raised").
errc errc_for_sqlstate(std::string_view sqlstate) noexcept;

/// A failure after which the same call may simply be sent again: serialization failure,
/// deadlock, lock timeout (the transaction was rolled back), and connection failures.
bool is_transient_sqlstate(std::string_view sqlstate) noexcept;

/// The server ended the session (shutdown, restart, terminate): the connection is gone.
bool is_connection_sqlstate(std::string_view sqlstate) noexcept;

}  // namespace durable::pg::detail
