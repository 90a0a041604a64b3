#pragma once
// The store a sample runs on, chosen by its --store argument: a PostgreSQL database when the
// text is a libpq URI (postgresql://..., postgres://...) or a key=value conninfo (it contains
// '='), otherwise the directory of an XML-file store.

#include <durable/instance_store.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace durable::samples {

/// True when `spec` names a PostgreSQL database rather than an XML store directory.
bool is_postgresql(std::string_view spec) noexcept;

/// True when this build has the PostgreSQL store (DURABLE_BUILD_PG).
bool postgresql_available() noexcept;

/// Opens the store `spec` names. PostgreSQL: the schema is applied first when it is missing
/// (as a DBA would with psql), so a sample runs on an empty database. XML: the directory is
/// created when missing (not its parents). Throws store_error (unreachable server, a schema of
/// another version, a directory that is not a store) or std::runtime_error when `spec` names
/// PostgreSQL and this build has no PostgreSQL support.
std::unique_ptr<instance_store> open_store(boost::asio::any_io_executor executor, const std::string& spec,
                                           const store_options& options);

/// The store in words, for messages: "the XML store in DIR" or "the PostgreSQL database
/// SPEC"; a connection string that holds a password is not shown.
std::string describe_store(std::string_view spec);

}  // namespace durable::samples
