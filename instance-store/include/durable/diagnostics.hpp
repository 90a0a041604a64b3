#pragma once
// What went wrong, beyond the error code: which command, instance, key or holder; and, kept
// apart from our own text, what a database server said.

#include <durable/instance_value.hpp>
#include <durable/uuid.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace durable {

struct server_diagnostics {
    std::string sqlstate;  ///< five characters, e.g. "40001"; empty when not from a server
    std::string message;
    std::string detail;
    friend bool operator==(const server_diagnostics&, const server_diagnostics&) = default;
};

struct diagnostics {
    std::string command;                  ///< e.g. "save_workflow"
    std::string message;                  ///< this library's explanation, for people
    std::optional<uuid> instance_id;      ///< the instance the error is about
    std::optional<uuid> key;              ///< the key that collided, was missing or completed
    std::optional<uuid> conflicting_instance_id;  ///< key_collision: the key's current instance
    std::optional<uuid> lock_holder;      ///< instance_locked: the owner holding the lock
    property_bag lock_holder_metadata;    ///< its readable owner metadata
    std::int64_t instance_version = -1;   ///< lock_lost / stale_version: the version involved
    server_diagnostics server;

    void clear() { *this = diagnostics{}; }

    /// One line: command, message, then each field that is set, then the server's text.
    std::string to_string() const;
};

}  // namespace durable
