#include "pg_backend.hpp"

#include <durable/pg_instance_store.hpp>

namespace durable::pg {

pg_instance_store::pg_instance_store(asio::any_io_executor executor, std::string connection_string,
                                     store_options options, pg_store_settings settings)
    : instance_store(std::move(executor), std::move(options),
                     make_backend(std::move(connection_string), std::move(settings))) {}

std::shared_ptr<store_backend> pg_instance_store::make_backend(std::string connection_string, pg_store_settings settings) {
    return std::make_shared<detail::pg_backend>(std::move(connection_string), std::move(settings));
}

}  // namespace durable::pg
