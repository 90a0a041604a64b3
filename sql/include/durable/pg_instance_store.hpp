#pragma once
// pg_instance_store: the production store. Many hosts share one PostgreSQL database; every
// decision is a PL/pgSQL function of sql/scripts/logic.sql (docs/sql.md is their contract), and
// every command is one call, one round trip.
//
// The client runs libpq non-blocking inside the Asio reactor: each pooled connection's socket is
// waited on through a posix::stream_descriptor, so no thread blocks on the database. The blocking
// execute() runs the same state machine with poll(2) on a connection of its own, without the
// io_context.
//
// Errors: decisions come back as the store's errc values. Server errors keep their SQLSTATE,
// message and detail in diagnostics::server: a missing or foreign schema is schema_mismatch,
// connection failures are store_unavailable (after max_connection_retries retries of what is
// safe to retry), a connection lost while a command that writes was in flight is
// commit_in_doubt: it may or may not have committed, and it is never retried blindly (a bound
// save carries a command id, so its retry is recognised and applied once).
//
// Cancellation: a cancelled command stops waiting at once, asks the server to cancel the
// statement and discards the connection; it completes with operation_aborted. A cancelled save
// may still have committed: reload to know.
//
// Runnable detection: while background tasks run, a dedicated connection LISTENs on the
// schema's channel (<schema>_runnable), so another host's commit that makes an instance runnable
// wakes detection at once; polling at the detection period stays the safety net.
//
// Saves: the store remembers the metadata and keys its handles' locks were granted with, so a
// save sends the whole metadata only when it changes it and the database need not send them back
// (docs/sql.md, "Metadata"). Another process's changes cannot slip in meanwhile: the lock fences
// them out.
//
// Thread-safety and object lifetimes: as instance_store. Opening blocks (one connection and one
// query); nothing else does, except the blocking execute().

#include <durable/instance_store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace durable::pg {

/// The schema version this build speaks (sql/scripts/schema.sql).
inline constexpr int supported_schema_version = 1;

struct pg_store_settings {
    /// Connections of the asynchronous pool (commands waiting for one queue in order). The
    /// blocking execute() keeps connections of its own, one per concurrent caller.
    std::size_t max_connections = 8;
    /// The schema holding the store (sql/scripts use durable_instancing; a test may install a
    /// copy under another name, see schema_script()). Letters, digits and '_' only.
    std::string schema = "durable_instancing";
    /// LISTEN on the schema's runnable channel while the store runs its background tasks, so
    /// that runnable detection runs as soon as another host makes an instance runnable
    /// (polling stays the safety net). Turn off behind a transaction-pooling proxy.
    bool listen = true;
    /// Prepare each call once per connection under a stable name. Turn off behind a
    /// transaction-pooling proxy (PgBouncer before 1.21 keeps no prepared statements): every
    /// call is then sent unnamed, still one round trip, parsed anew by the server each time.
    bool prepared_statements = true;
    /// How long making a connection may take before the attempt counts as failed (and is
    /// retried, up to store_options::max_connection_retries). libpq's own connect_timeout does
    /// not apply to non-blocking connects.
    std::chrono::milliseconds connect_timeout{10'000};
};

/// A store over the database `connection_string` names (a libpq URI or key=value conninfo; the
/// PG* environment variables apply as libpq applies them).
///
/// Opening connects once (blocking) and checks the schema: throws store_error with
/// store_unavailable when the server cannot be reached, schema_mismatch (naming both versions,
/// or what to apply) when the schema is missing or of another version; std::invalid_argument for
/// bad settings or options.
class pg_instance_store final : public instance_store {
public:
    pg_instance_store(asio::any_io_executor executor, std::string connection_string, store_options options = {},
                      pg_store_settings settings = {});

    /// The backend a pg_instance_store runs on, for composing a store of one's own (e.g. a
    /// backend that wraps it). Connects and checks the schema as the constructor does.
    static std::shared_ptr<store_backend> make_backend(std::string connection_string, pg_store_settings settings = {});
};

/// schema.sql followed by logic.sql, as embedded at build time, with the schema name (and the
/// NOTIFY channel derived from it) replaced by `schema`.
std::string schema_script(std::string_view schema = "durable_instancing");

/// Sends `script` (e.g. schema_script()) over one blocking connection as one simple query.
/// Throws store_error: store_unavailable when the server cannot be reached, invalid_command
/// with the server's diagnostics when the script fails.
void execute_script(const std::string& connection_string, std::string_view script);

/// Applies schema_script(schema) to the database: what a DBA does with psql, and a no-op when it
/// is there already. Throws as execute_script does.
void apply_schema(const std::string& connection_string, std::string_view schema = "durable_instancing");

}  // namespace durable::pg
