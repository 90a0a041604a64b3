#pragma once
// The host's own error codes. Store errors (instance_locked, key_not_found, ...) reach the
// caller as they are, in the store's category.

#include <durable/error.hpp>

namespace durable::host {

enum class host_errc : int {
    bookmark_not_found = 1,     ///< the instance does not wait for that bookmark (diagnostics: which it waits for)
    definition_not_found = 2,   ///< this host has no definition of the instance's name and version
    instance_suspended = 3,     ///< resumed while suspended: unsuspend it first
    instance_not_running = 4,   ///< completed, faulted or terminated: nothing can resume it
    host_stopped = 5,           ///< the host is stopping or stopped
    already_running = 6,        ///< run() called while the host already runs
};

const boost::system::error_category& host_category() noexcept;

inline error_code make_error_code(host_errc e) noexcept { return {static_cast<int>(e), host_category()}; }

}  // namespace durable::host

template <>
struct boost::system::is_error_code_enum<durable::host::host_errc> : std::true_type {};
