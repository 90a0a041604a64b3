#pragma once
// memory_instance_store: every command with the full semantics, in memory. The reference the
// conformance suite checks the other stores against, and a store for tests of hosts.

#include <durable/instance_store.hpp>

#include <cstddef>
#include <memory>

namespace durable {

/// The shared "database" behind memory stores. Several stores over one database behave like
/// several hosts over one PostgreSQL database: each has its own owner, and they contend for
/// instances through leases and locks. Thread-safe.
class memory_database {
public:
    virtual ~memory_database() = default;
    virtual std::size_t instance_count() const = 0;
    virtual std::size_t key_count() const = 0;
    virtual std::size_t owner_count() const = 0;
};

std::shared_ptr<memory_database> make_memory_database();

/// A store over a memory_database. Commands run on the store's executor (they never block
/// for long: one mutex, no I/O).
class memory_instance_store final : public instance_store {
public:
    /// A store over a database of its own.
    explicit memory_instance_store(asio::any_io_executor executor, store_options options = {});
    /// A store over a shared database (one store object per simulated host).
    memory_instance_store(asio::any_io_executor executor, std::shared_ptr<memory_database> database,
                          store_options options = {});
    ~memory_instance_store() override;

    const std::shared_ptr<memory_database>& database() const noexcept { return database_; }

protected:
    error_code run_command(const command_request& request, command_outcome& outcome) override;

private:
    std::shared_ptr<memory_database> database_;
};

}  // namespace durable
