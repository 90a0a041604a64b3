#include "contract_checking_backend.hpp"
#include "store_backing.hpp"

#include <durable/memory_instance_store.hpp>

namespace durable::conformance {
namespace {

class memory_backing final : public store_backing {
public:
    std::unique_ptr<instance_store> open(asio::any_io_executor executor, store_options options) override {
        // Every outcome of the reference store is checked against the written contract.
        return std::make_unique<instance_store>(
            std::move(executor), std::move(options),
            std::make_shared<contract_checking_backend>(memory_instance_store::make_backend(database_)));
    }

private:
    std::shared_ptr<memory_database> database_ = make_memory_database();
};

}  // namespace

std::unique_ptr<store_backing> make_store_backing() { return std::make_unique<memory_backing>(); }

}  // namespace durable::conformance
