#include "pg_listener.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

namespace durable::pg::detail {

pg_listener::pg_listener(asio::any_io_executor executor, std::string conninfo, std::string channel, store_events events,
                         std::chrono::milliseconds connect_timeout)
    : strand_(asio::make_strand(executor)), sd_(strand_), timer_(strand_), conninfo_(std::move(conninfo)),
      listen_statement_("LISTEN \"" + channel + "\""), events_(std::move(events)), connect_timeout_(connect_timeout) {}

pg_listener::~pg_listener() {
    // libpq owns the socket: the descriptor lets go of it before PQfinish closes it.
    if (sd_.is_open()) (void)sd_.release();
}

void pg_listener::start() {
    asio::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void pg_listener::stop() {
    asio::post(strand_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->sd_.cancel();
        self->timer_.cancel();
    });
}

void pg_listener::drop_connection() {
    if (sd_.is_open()) (void)sd_.release();
    query_.reset();
    connecting_.reset();
    conn_.reset();
}

void pg_listener::connect() {
    if (stopped_ || events_.is_store_gone()) return;
    drop_connection();
    conn_ = std::make_unique<pg_connection>(conninfo_);
    connecting_.emplace(*conn_);
    // A connect that hangs (a silent network) is abandoned and retried like a failed one.
    timer_.expires_after(connect_timeout_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && self->connecting_) self->sd_.cancel();
    });
    async_drive(sd_, *connecting_, true, stopped_, [self = shared_from_this()](error_code ec) { self->on_connected(ec); });
}

void pg_listener::on_connected(error_code ec) {
    timer_.cancel();
    if (stopped_) return drop_connection();
    if (ec || connecting_->failed() != failure::none) return reconnect_later();
    connecting_.reset();
    query_.emplace(*conn_, -1, std::string_view{}, listen_statement_, nullptr);
    async_drive(sd_, *query_, false, stopped_, [self = shared_from_this()](error_code wait_ec) { self->on_listening(wait_ec); });
}

void pg_listener::on_listening(error_code ec) {
    if (stopped_) return drop_connection();
    if (ec || query_->failed() != failure::none) return reconnect_later();
    query_.reset();
    // Notifications sent while this connection was not listening are lost: look once now.
    const bool reconnected = failures_ > 0;
    failures_ = 0;
    if (reconnected) events_.runnable_may_be_due();
    wait_for_notifications();
}

void pg_listener::wait_for_notifications() {
    if (stopped_ || events_.is_store_gone()) return drop_connection();
    if (auto ec = point_at(sd_, conn_->socket(), false)) return reconnect_later();
    sd_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](error_code ec) {
        if (self->stopped_) return self->drop_connection();
        if (ec || !PQconsumeInput(self->conn_->get()) || PQstatus(self->conn_->get()) == CONNECTION_BAD)
            return self->reconnect_later();
        bool notified = false;
        while (PGnotify* n = PQnotifies(self->conn_->get())) {
            notified = true;
            PQfreemem(n);
        }
        if (notified) self->events_.runnable_may_be_due();
        self->wait_for_notifications();
    });
}

void pg_listener::reconnect_later() {
    drop_connection();
    if (stopped_) return;
    // Jittered exponential back-off, 0.5 s to 30 s: a restarting server is not hammered, and
    // many hosts do not come back in step.
    ++failures_;
    thread_local std::mt19937 rng{std::random_device{}()};
    const auto base = std::min(30'000, 500 * (1 << std::min(failures_ - 1, 6)));
    std::uniform_int_distribution<int> jitter(base / 2, base);
    timer_.expires_after(std::chrono::milliseconds{jitter(rng)});
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->connect();
    });
}

}  // namespace durable::pg::detail
