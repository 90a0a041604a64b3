#include <durable/store_error.hpp>

namespace durable {

store_error::store_error(error_code ec, diagnostics diag)
    : boost::system::system_error(ec, diag.to_string()), diag_(std::move(diag)) {}

void throw_if_error(error_code ec, const diagnostics& diag) {
    if (ec) throw store_error(ec, diag);
}

}  // namespace durable
