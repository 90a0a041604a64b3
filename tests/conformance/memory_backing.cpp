#include "store_backing.hpp"

#include <durable/memory_instance_store.hpp>

namespace durable::conformance {
namespace {

class memory_backing final : public store_backing {
public:
    std::unique_ptr<instance_store> open(asio::any_io_executor executor, store_options options) override {
        return std::make_unique<memory_instance_store>(std::move(executor), database_, std::move(options));
    }

private:
    std::shared_ptr<memory_database> database_ = make_memory_database();
};

}  // namespace

std::unique_ptr<store_backing> make_store_backing() { return std::make_unique<memory_backing>(); }

}  // namespace durable::conformance
