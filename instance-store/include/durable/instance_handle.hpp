#pragma once
// instance_owner and instance_handle: the binding units of the original.

#include <durable/diagnostics.hpp>
#include <durable/uuid.hpp>

#include <cstdint>
#include <memory>
#include <optional>

namespace durable {

namespace detail {
struct owner_state;
struct handle_state;
struct store_core;
}  // namespace detail

/// A lock owner: one registration of a store object (a host) with a lease. Cheap to copy;
/// copies refer to the same owner. Obtained from instance_store::async_create_owner (or
/// create_owner, owner(), or a handle's owner()).
class instance_owner {
public:
    instance_owner() = default;

    /// The owner id (nil for a default-constructed owner).
    uuid id() const noexcept;
    /// False once deleted, or once its lease was found expired: then create a new one.
    bool is_valid() const noexcept;
    explicit operator bool() const noexcept { return state_ != nullptr; }

private:
    friend class instance_store;
    friend class instance_handle;
    friend struct detail::store_core;
    explicit instance_owner(std::shared_ptr<detail::owner_state> s) : state_(std::move(s)) {}
    std::shared_ptr<detail::owner_state> state_;
};

/// A handle binds, step by step and irreversibly, to an owner, an instance and a lock version.
/// Cheap to copy; copies refer to the same handle. Thread-safety: run one command at a time
/// on a handle (a second concurrent one fails with handle_busy); distinct handles are
/// independent. A handle must not outlive the store that made it.
///
/// Lifetime: when the last copy of a handle that holds a lock goes, the lock is let go of as
/// free() does, so a lock is never left with nobody to use it. Keep the handle as long as the
/// instance is loaded.
class instance_handle {
public:
    instance_handle() = default;

    /// False after free(), after the command that unlocked or completed its instance, or
    /// after an error that doomed it (lock lost).
    bool is_valid() const noexcept;
    std::optional<uuid> instance_id() const;
    instance_owner owner() const;
    /// The lock version (fencing token) held, or -1.
    std::int64_t lock_version() const noexcept;
    /// Diagnostics of the last command completed on this handle (empty after a success).
    diagnostics last_diagnostics() const;

    /// Releases the handle. If it still holds a lock, the store unlocks the instance in the
    /// background on its executor (retrying a few times with back-off). A load by the same
    /// owner right after, before that unlock has run, takes the lock anew at a newer version,
    /// and the late unlock then releases nothing. Idempotent.
    void free();

    explicit operator bool() const noexcept { return state_ != nullptr; }

private:
    friend class instance_store;
    explicit instance_handle(std::shared_ptr<detail::handle_state> s) : state_(std::move(s)) {}
    std::shared_ptr<detail::handle_state> state_;
};

}  // namespace durable
