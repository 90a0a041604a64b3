#include "sample_store.hpp"

#include <durable/xml_instance_store.hpp>

#ifdef DURABLE_SAMPLES_HAVE_PG
#include <durable/pg_instance_store.hpp>
#include <durable/store_error.hpp>
#endif

#include <chrono>
#include <stdexcept>
#include <thread>

namespace durable::samples {

bool is_postgresql(std::string_view spec) noexcept {
    return spec.starts_with("postgresql://") || spec.starts_with("postgres://") ||
           spec.find('=') != std::string_view::npos;
}

bool postgresql_available() noexcept {
#ifdef DURABLE_SAMPLES_HAVE_PG
    return true;
#else
    return false;
#endif
}

std::unique_ptr<instance_store> open_store(boost::asio::any_io_executor executor, const std::string& spec,
                                           const store_options& options) {
    if (!is_postgresql(spec)) return std::make_unique<xml::xml_instance_store>(std::move(executor), spec, options);
#ifdef DURABLE_SAMPLES_HAVE_PG
    try {
        return std::make_unique<pg::pg_instance_store>(executor, spec, options);
    } catch (const store_error& e) {
        if (e.code() != errc::schema_mismatch) throw;
    }
    // A missing schema is applied, as a DBA would with psql. A schema of another version is
    // left alone (applying is a no-op when one is there), so the second open reports it.
    try {
        pg::apply_schema(spec);
    } catch (const store_error&) {
        // Two processes that start on an empty database at once both apply it, and the
        // slower one's CREATE can collide with the faster one's: if the schema is there now,
        // that failure did no harm.
        std::this_thread::sleep_for(std::chrono::seconds{1});
        try {
            return std::make_unique<pg::pg_instance_store>(executor, spec, options);
        } catch (const store_error&) {
        }
        throw;
    }
    return std::make_unique<pg::pg_instance_store>(std::move(executor), spec, options);
#else
    throw std::runtime_error("'" + spec +
                             "' names a PostgreSQL database, but this build has no PostgreSQL support: "
                             "configure with -DDURABLE_BUILD_PG=ON (the default preset does)");
#endif
}

namespace {

bool holds_password(std::string_view spec) noexcept {
    if (spec.find("password") != std::string_view::npos) return true;  // conninfo, or a URI parameter
    const auto scheme_end = spec.find("://");
    if (scheme_end == std::string_view::npos) return false;
    // postgresql://user:secret@host/db: a ':' in the user part before '@'
    const auto authority = spec.substr(scheme_end + 3, spec.find_first_of("/?", scheme_end + 3) - (scheme_end + 3));
    const auto at = authority.rfind('@');
    return at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
}

}  // namespace

std::string describe_store(std::string_view spec) {
    if (!is_postgresql(spec)) return "the XML store in " + std::string(spec);
    if (holds_password(spec)) return "the PostgreSQL database (connection string not shown: it holds a password)";
    return "the PostgreSQL database " + std::string(spec);
}

}  // namespace durable::samples
