#include "store_backing.hpp"

#include <durable/xml_instance_store.hpp>

#include <filesystem>

namespace durable::conformance {
namespace {

/// A fresh temp directory per test, removed afterwards.
class xml_backing final : public store_backing {
public:
    xml_backing()
        : dir_(std::filesystem::temp_directory_path() / ("durable-conformance-" + to_string(random_uuid()))) {}
    ~xml_backing() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::unique_ptr<instance_store> open(asio::any_io_executor executor, store_options options) override {
        return std::make_unique<xml::xml_instance_store>(std::move(executor), dir_, std::move(options));
    }

private:
    std::filesystem::path dir_;
};

}  // namespace

std::unique_ptr<store_backing> make_store_backing() { return std::make_unique<xml_backing>(); }

}  // namespace durable::conformance
