#pragma once
// What a store brings to the conformance suite: a backing (a memory database, a directory, a
// PostgreSQL schema) that can open any number of store objects, each acting as one host.

#include <durable/instance_store.hpp>

#include <memory>
#include <string>

namespace durable::conformance {

class store_backing {
public:
    virtual ~store_backing() = default;
    /// A new store object over this backing; stores opened from one backing share all data.
    virtual std::unique_ptr<instance_store> open(asio::any_io_executor executor, store_options options) = 0;
};

/// Defined once per conformance executable: the store under test.
std::unique_ptr<store_backing> make_store_backing();

}  // namespace durable::conformance
