#pragma once
// The exception the throwing layer uses: the blocking execute, and every asynchronous operation
// completed through with_diagnostics, which is the default token (so `co_await` throws it) and
// wraps others, e.g. with_diagnostics(asio::use_future).

#include <durable/diagnostics.hpp>
#include <durable/error.hpp>

#include <boost/system/system_error.hpp>

namespace durable {

/// A system_error that also carries the diagnostics; what() names both.
class store_error : public boost::system::system_error {
public:
    store_error(error_code ec, diagnostics diag);
    const diagnostics& diag() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

/// Throws store_error when `ec` is set.
void throw_if_error(error_code ec, const diagnostics& diag);

}  // namespace durable
