#pragma once
// The PostgreSQL store_backend: a bounded pool of non-blocking connections for async commands,
// blocking connections for the blocking execute, and a LISTEN connection.

#include "pg_command_call.hpp"
#include "pg_connection.hpp"

#include <durable/pg_instance_store.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace durable::pg::detail {

class async_command;
class pg_listener;

/// What a failed attempt leads to.
struct attempt_verdict {
    bool retry = false;
    error_code ec;  ///< when not retrying
};

class pg_backend final : public store_backend {
public:
    /// Connects once (blocking) and checks the schema version; throws store_error.
    pg_backend(std::string conninfo, pg_store_settings settings);
    ~pg_backend() override;

    error_code run_command(const command_request& request, command_outcome& outcome) override;
    void async_run_command(command_request request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) override;

    // ---- for async_command ----
    const std::string& conninfo() const noexcept { return conninfo_; }
    const statement_texts& statements() const noexcept { return statements_; }
    /// The name to prepare `which` under; empty when prepared statements are off.
    std::string_view statement_name(statement which) const noexcept {
        return settings_.prepared_statements ? std::string_view(statements_.name(which)) : std::string_view();
    }
    std::chrono::milliseconds connect_timeout() const noexcept { return settings_.connect_timeout; }
    held_instances& held() noexcept { return held_; }
    using store_backend::context;
    using store_backend::options;

    /// Hands `op` a pooled connection (returned), or lets it open a new one (null, `connect` set),
    /// or queues it (null, `connect` clear) until release() or discard() gives it one.
    std::unique_ptr<pg_connection> acquire(const std::shared_ptr<async_command>& op, bool& connect);
    void release(std::unique_ptr<pg_connection> conn);
    /// A connection of the pool is gone (broken, or never made).
    void discard();
    /// Takes `op` off the queue; false when it was not queued (it has been handed something).
    bool leave_queue(const async_command* op);

    /// Decides what a failed attempt leads to; fills `diag` when it ends the command.
    attempt_verdict judge(const command_call& call, failure what, const server_diagnostics& server, bool sent,
                          int attempt, bool& in_doubt, diagnostics& diag) const;

private:
    void attached() override;
    void on_shut_down() noexcept override;

    std::unique_ptr<pg_connection> sync_acquire(server_diagnostics& server);
    void sync_release(std::unique_ptr<pg_connection> conn);

    std::string conninfo_;
    pg_store_settings settings_;
    statement_texts statements_;
    held_instances held_;

    std::mutex pool_mutex_;
    std::vector<std::unique_ptr<pg_connection>> idle_;
    std::size_t open_ = 0;  ///< pool connections idle, in use or being made
    std::deque<std::shared_ptr<async_command>> waiters_;
    std::vector<std::weak_ptr<async_command>> running_;  ///< commands out, for shut-down

    std::mutex sync_mutex_;
    std::vector<std::unique_ptr<pg_connection>> sync_idle_;

    std::shared_ptr<pg_listener> listener_;
};

/// A connection whose session is still good to use (a restart or terminate may have ended it
/// while it sat idle: the server's goodbye is read here, so the next command need not send into
/// a dead socket and be left in doubt).
bool still_good(pg_connection& conn);

}  // namespace durable::pg::detail
