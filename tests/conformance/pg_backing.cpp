#include "contract_checking_backend.hpp"
#include "store_backing.hpp"

#include <pg_test_database.hpp>

namespace durable::conformance {
namespace {

/// A schema of its own per test (dropped afterwards), whose store clock follows the fixture's
/// manual_clock (pg_test_database.hpp); every outcome is checked against the written contract.
class pg_backing final : public store_backing {
public:
    std::unique_ptr<instance_store> open(asio::any_io_executor executor, store_options options) override {
        auto backend = std::make_shared<pg::testing::clocked_backend>(
            pg::pg_instance_store::make_backend(schema_->url(), schema_->settings()), schema_);
        return std::make_unique<instance_store>(std::move(executor), std::move(options),
                                                std::make_shared<contract_checking_backend>(std::move(backend)));
    }

private:
    std::shared_ptr<pg::testing::test_schema> schema_ = std::make_shared<pg::testing::test_schema>();
};

}  // namespace

std::unique_ptr<store_backing> make_store_backing() { return std::make_unique<pg_backing>(); }

}  // namespace durable::conformance
