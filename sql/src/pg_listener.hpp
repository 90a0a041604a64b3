#pragma once
// LISTEN on the schema's runnable channel: each notification (and each reconnect, after which
// some may have been missed) tells the facade that runnable detection should run now.

#include "pg_async.hpp"

#include <durable/store_backend.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <optional>
#include <string>

namespace durable::pg::detail {

class pg_listener : public std::enable_shared_from_this<pg_listener> {
public:
    pg_listener(asio::any_io_executor executor, std::string conninfo, std::string channel, store_events events,
                std::chrono::milliseconds connect_timeout);
    ~pg_listener();

    void start();
    /// Ends every wait; safe from any thread, does not wait for the io_context.
    void stop();

private:
    void connect();
    void on_connected(error_code ec);
    void on_listening(error_code ec);
    void wait_for_notifications();
    void reconnect_later();
    void drop_connection();

    asio::strand<asio::any_io_executor> strand_;
    asio::posix::stream_descriptor sd_;
    asio::steady_timer timer_;
    std::string conninfo_;
    std::string listen_statement_;
    store_events events_;
    std::unique_ptr<pg_connection> conn_;
    std::optional<connect_machine> connecting_;
    std::optional<query_machine> query_;
    std::chrono::milliseconds connect_timeout_;
    int failures_ = 0;
    bool stopped_ = false;
};

}  // namespace durable::pg::detail
