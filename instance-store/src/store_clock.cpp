#include <durable/store_clock.hpp>

namespace durable {

timestamp system_store_clock::now() const {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
}

std::shared_ptr<const store_clock> default_store_clock() {
    static const auto clock = std::make_shared<const system_store_clock>();
    return clock;
}

}  // namespace durable
