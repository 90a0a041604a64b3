#pragma once
// The async runner of the connection state machines: the socket in an
// asio::posix::stream_descriptor, one readiness wait per step.

#include "pg_connection.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

namespace durable::pg::detail {

namespace asio = boost::asio;

/// Points `sd` at `socket`. libpq owns the fd, so the descriptor only ever releases it.
/// `always`: re-register even when the number is the same, as during connect, where libpq may
/// close a socket and open another that gets the same number.
inline error_code point_at(asio::posix::stream_descriptor& sd, int socket, bool always) {
    if (sd.is_open()) {
        if (!always && sd.native_handle() == socket) return {};
        (void)sd.release();
    }
    error_code ec;
    if (socket < 0) return asio::error::bad_descriptor;
    sd.assign(socket, ec);
    return ec;
}

/// Drives `m` until it is done, then calls done({}); a failed or cancelled wait calls done(ec)
/// (operation_aborted when cancelled, or when `stop` became true while a wait was out: a wait
/// that completed just before its cancellation must not step a machine its owner let go of).
/// `sd`, `m` and `stop` must outlive the operation: the caller keeps them in an object its
/// `done` keeps alive.
template <class Machine, class Done>
void async_drive(asio::posix::stream_descriptor& sd, Machine& m, bool reassign_each_wait, const bool& stop, Done done) {
    if (stop) return done(error_code(asio::error::operation_aborted));
    const io_wait w = m.step();
    if (w == io_wait::none) return done(error_code{});
    if (auto ec = point_at(sd, m.socket(), reassign_each_wait)) return done(ec);
    sd.async_wait(w == io_wait::read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
                  [&sd, &m, reassign_each_wait, &stop, done = std::move(done)](error_code ec) mutable {
                      if (ec) return done(ec);
                      async_drive(sd, m, reassign_each_wait, stop, std::move(done));
                  });
}

}  // namespace durable::pg::detail
