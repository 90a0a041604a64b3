#include <durable/store_options.hpp>

#include <stdexcept>

namespace durable {

std::chrono::seconds store_options::lease_duration() const {
    return host_lock_renewal_period + std::chrono::seconds{30};
}

void store_options::validate() const {
    if (host_lock_renewal_period < std::chrono::seconds{1})
        throw std::invalid_argument("store_options.host_lock_renewal_period must be at least 1 s");
    if (runnable_instances_detection_period < std::chrono::seconds{1})
        throw std::invalid_argument("store_options.runnable_instances_detection_period must be at least 1 s");
    if (static_cast<unsigned>(instance_encoding) > static_cast<unsigned>(encoding::zstd))
        throw std::invalid_argument("store_options.instance_encoding is not none, gzip or zstd");
    if (locked_retry_timeout.count() < 0)
        throw std::invalid_argument("store_options.locked_retry_timeout must not be negative");
    if (max_connection_retries < 0)
        throw std::invalid_argument("store_options.max_connection_retries must not be negative");
    if (max_bag_bytes == 0) throw std::invalid_argument("store_options.max_bag_bytes must be positive");
}

}  // namespace durable
