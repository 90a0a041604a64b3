#include <durable/store_options.hpp>

#include "saturating_time.hpp"

#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>

namespace durable {

duration store_options::lease_duration() const {
    return detail::saturating_add(detail::saturating_cast<duration>(host_lock_renewal_period),
                                  duration{std::chrono::seconds{30}});
}

void report_damaged_record(const store_options& options, const damaged_record& damage) {
    if (options.on_damaged_record) {
        options.on_damaged_record(damage);
        return;
    }
    std::fprintf(stderr, "durable: passed over a damaged record (%s): %s\n", damage.error.message().c_str(),
                 damage.message.c_str());
}

store_options& store_options::promote(std::string promotion_name, std::vector<name> primitive_values,
                                      std::vector<name> binary_values) {
    promotion p{std::move(promotion_name), std::move(primitive_values), std::move(binary_values)};
    validate_promotion(p);
    for (const auto& existing : promotions)
        if (existing.name == p.name)
            throw std::invalid_argument("store_options: a promotion named '" + p.name + "' exists already");
    promotions.push_back(std::move(p));
    return *this;
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
    if (max_bag_bytes == 0 || max_bag_bytes > codec_max_payload_bytes)
        throw std::invalid_argument("store_options.max_bag_bytes must be between 1 and " +
                                    std::to_string(codec_max_payload_bytes) + " (the codec's limit)");
    // promotions may have been filled without promote(): the same rules, so a store never
    // starts with promotions it cannot keep.
    std::set<std::string> promotion_names;
    for (const auto& p : promotions) {
        validate_promotion(p);
        if (!promotion_names.insert(p.name).second)
            throw std::invalid_argument("store_options.promotions has two promotions named '" + p.name + "'");
    }
}

}  // namespace durable
