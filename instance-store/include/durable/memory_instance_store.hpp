#pragma once
// memory_instance_store: every command with the full semantics, in memory. The reference the
// conformance suite checks the other stores against, and a store for tests of hosts.

#include <durable/instance_store.hpp>

#include <cstddef>
#include <memory>

namespace durable {

/// The shared "database" behind memory stores. Several stores over one database behave like
/// several hosts over one PostgreSQL database: each has its own owner, and they contend for
/// instances through leases and locks. A commit that makes an instance runnable wakes runnable
/// detection in every store over the database at once. Thread-safe.
class memory_database {
public:
    memory_database();
    ~memory_database();
    memory_database(const memory_database&) = delete;
    memory_database& operator=(const memory_database&) = delete;

    std::size_t instance_count() const;
    std::size_t key_count() const;
    std::size_t owner_count() const;

    struct records;  // the implementation (memory_instance_store.cpp)

private:
    friend class memory_instance_store;  // its backend runs on records_
    std::unique_ptr<records> records_;
};

std::shared_ptr<memory_database> make_memory_database();

/// A store over a memory_database. Commands run on the store's executor (they never block
/// for long: one mutex, no I/O).
class memory_instance_store final : public instance_store {
public:
    /// A store over a database of its own.
    explicit memory_instance_store(asio::any_io_executor executor, store_options options = {});
    /// A store over a shared database (one store object per simulated host). Throws
    /// std::invalid_argument for a null database.
    memory_instance_store(asio::any_io_executor executor, std::shared_ptr<memory_database> database,
                          store_options options = {});

    const std::shared_ptr<memory_database>& database() const noexcept { return database_; }

    /// The backend a memory_instance_store runs on, for composing a store of one's own (e.g. a
    /// backend that wraps it). Throws std::invalid_argument for a null database.
    static std::shared_ptr<store_backend> make_backend(std::shared_ptr<memory_database> database);

private:
    std::shared_ptr<memory_database> database_;
};

}  // namespace durable
