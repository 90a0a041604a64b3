#pragma once
// One libpq connection and the two state machines that drive it (connect, query). A machine
// never blocks: step() does what it can and says what to wait for. Two runners drive them: the
// async one in pg_backend.cpp (the socket in an asio::posix::stream_descriptor) and
// run_blocking() below (poll(2)), so the blocking execute shares every line of the protocol
// with the asynchronous one.

#include "pg_wire.hpp"

#include <durable/diagnostics.hpp>
#include <durable/error.hpp>

#include <bitset>
#include <chrono>
#include <memory>
#include <string>

namespace durable::pg::detail {

enum class io_wait { none, read, write };

/// What went wrong in a machine, beyond the server's own words.
enum class failure {
    none,
    server_error,     ///< the server answered with an error; the connection is fine
    connection_lost,  ///< the connection broke (or could not be made)
};

class pg_connection {
public:
    /// Starts connecting (non-blocking); drive a connect_machine to finish.
    explicit pg_connection(const std::string& conninfo);

    PGconn* get() const noexcept { return conn_.get(); }
    int socket() const noexcept { return conn_ ? PQsocket(conn_.get()) : -1; }
    bool usable() const noexcept { return conn_ && !broken_ && PQstatus(conn_.get()) == CONNECTION_OK; }
    void mark_broken() noexcept { broken_ = true; }

    bool is_prepared(int statement) const { return prepared_.test(static_cast<std::size_t>(statement)); }
    void set_prepared(int statement) { prepared_.set(static_cast<std::size_t>(statement)); }

    /// Asks the server to cancel the statement in flight, from a thread of its own (libpq's
    /// cancel request is blocking). Best effort: returns at once.
    void request_cancel() noexcept;

private:
    conn_ptr conn_;
    std::bitset<32> prepared_;
    bool broken_ = false;
};

class connect_machine {
public:
    explicit connect_machine(pg_connection& c) : c_(c) {}
    io_wait step();
    failure failed() const noexcept { return failure_; }
    const server_diagnostics& server() const noexcept { return server_; }
    int socket() const noexcept { return c_.socket(); }
    /// The attempt took longer than `limit`: it failed.
    void time_out(std::chrono::milliseconds limit);

private:
    pg_connection& c_;
    bool started_ = false;
    failure failure_ = failure::none;
    server_diagnostics server_;
};

/// One statement: prepared under `name` first if the connection has not prepared it yet, then
/// executed with binary parameters and binary results; with an empty name, sent unnamed (parsed
/// anew each time). With statement < 0 the text is sent as a simple query (scripts, LISTEN), with
/// no parameters.
class query_machine {
public:
    query_machine(pg_connection& c, int statement, std::string_view name, std::string_view text,
                  const param_list* params)
        : c_(c), statement_(statement), name_(name), text_(text), params_(params) {}

    io_wait step();
    failure failed() const noexcept { return failure_; }
    const server_diagnostics& server() const noexcept { return server_; }
    /// True once the statement itself (not its preparation) was handed to libpq: from then on a
    /// lost connection leaves its outcome unknown.
    bool sent() const noexcept { return sent_; }
    result_ptr take_result() noexcept { return std::move(result_); }
    int socket() const noexcept { return c_.socket(); }

private:
    enum class phase { start, flush, read, done };
    io_wait fail_connection();
    io_wait send_statement();

    pg_connection& c_;
    int statement_;
    std::string_view name_;
    std::string_view text_;
    const param_list* params_;
    phase phase_ = phase::start;
    bool preparing_ = false;
    bool sent_ = false;
    failure failure_ = failure::none;
    server_diagnostics server_;
    result_ptr result_;
    result_ptr error_;
};

/// Waits with poll(2) until the socket is ready or `deadline` passed (false then).
bool wait_blocking(int socket, io_wait wait, std::chrono::steady_clock::time_point deadline);

/// Drives a machine to the end with poll(2) on the calling thread; false when `deadline`
/// passed first.
template <class Machine>
bool run_blocking(Machine& m, std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
    for (io_wait w = m.step(); w != io_wait::none; w = m.step())
        if (!wait_blocking(m.socket(), w, deadline)) return false;
    return true;
}

}  // namespace durable::pg::detail
