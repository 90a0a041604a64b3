#include "pg_connection.hpp"

#include "pg_errors.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <thread>
#include <poll.h>

namespace durable::pg::detail {

pg_connection::pg_connection(const std::string& conninfo) {
    // expand_dbname: the "dbname" value may be a whole URI or key=value conninfo; the PG*
    // environment variables fill in what it leaves out, as everywhere in libpq.
    const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
    const char* values[] = {conninfo.c_str(), "durable", nullptr};
    conn_.reset(PQconnectStartParams(keywords, values, 1));
    if (!conn_) return;
    // Notices (e.g. "drop cascades to ...") are for people at a psql prompt; libpq would print
    // them on our stderr.
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
    if (PQstatus(conn_.get()) != CONNECTION_BAD) PQsetnonblocking(conn_.get(), 1);
}

void pg_connection::request_cancel() noexcept {
    if (!conn_) return;
    PGcancel* cancel = PQgetCancel(conn_.get());
    if (cancel == nullptr) return;
    // PQcancel opens a connection of its own and blocks until the server took the request: off
    // the caller's thread (an io_context thread), which a slow or unreachable server must not
    // stall. The PGcancel object is independent of the connection, which may be closed at once.
    // (libpq 17's PQcancelStart would make this a non-blocking state machine.)
    try {
        std::thread([cancel] {
            char buffer[256];
            PQcancel(cancel, buffer, sizeof buffer);
            PQfreeCancel(cancel);
        }).detach();
    } catch (const std::system_error&) {
        PQfreeCancel(cancel);  // no thread to spare: the statement ends when it next writes to the closed socket
    }
}

// ---- connect ------------------------------------------------------------------------------

io_wait connect_machine::step() {
    if (!c_.get() || PQstatus(c_.get()) == CONNECTION_BAD) {
        failure_ = failure::connection_lost;
        fill_connection_diagnostics(c_.get(), server_);
        return io_wait::none;
    }
    // PQconnectStartParams behaves as if PQconnectPoll had said "writing".
    if (!started_) {
        started_ = true;
        return io_wait::write;
    }
    switch (PQconnectPoll(c_.get())) {
        case PGRES_POLLING_READING: return io_wait::read;
        case PGRES_POLLING_WRITING: return io_wait::write;
        case PGRES_POLLING_OK: PQsetnonblocking(c_.get(), 1); return io_wait::none;
        default:
            failure_ = failure::connection_lost;
            fill_connection_diagnostics(c_.get(), server_);
            c_.mark_broken();
            return io_wait::none;
    }
}

void connect_machine::time_out(std::chrono::milliseconds limit) {
    failure_ = failure::connection_lost;
    server_ = {};
    server_.message = "connecting took longer than " + std::to_string(limit.count()) +
                      " ms (pg_store_settings::connect_timeout)";
    c_.mark_broken();
}

// ---- query --------------------------------------------------------------------------------

io_wait query_machine::fail_connection() {
    failure_ = failure::connection_lost;
    fill_connection_diagnostics(c_.get(), server_);
    c_.mark_broken();
    phase_ = phase::done;
    return io_wait::none;
}

io_wait query_machine::send_statement() {
    int ok = 0;
    if (statement_ < 0) {
        ok = PQsendQuery(c_.get(), std::string(text_).c_str());
    } else if (name_.empty()) {
        // Unnamed: parse, bind and execute in one round trip, nothing kept on the session (what a
        // transaction-pooling proxy needs).
        preparing_ = false;
        ok = PQsendQueryParams(c_.get(), std::string(text_).c_str(), params_->size(), nullptr, params_->values(),
                               params_->lengths(), params_->formats(), 1);
    } else if (!c_.is_prepared(statement_)) {
        preparing_ = true;
        ok = PQsendPrepare(c_.get(), std::string(name_).c_str(), std::string(text_).c_str(), params_->size(), nullptr);
    } else {
        preparing_ = false;
        ok = PQsendQueryPrepared(c_.get(), std::string(name_).c_str(), params_->size(), params_->values(),
                                 params_->lengths(), params_->formats(), 1);
    }
    if (!ok) return fail_connection();  // nothing went out: libpq refused before sending
    if (!preparing_) sent_ = true;
    phase_ = phase::flush;
    return step();
}

io_wait query_machine::step() {
    switch (phase_) {
        case phase::start:
            if (!c_.usable()) return fail_connection();
            return send_statement();
        case phase::flush: {
            // Input first: the server may be talking to us while we write (a notice), and would
            // stop reading if we never read.
            if (!PQconsumeInput(c_.get())) return fail_connection();
            const int flushed = PQflush(c_.get());
            if (flushed < 0) return fail_connection();
            if (flushed > 0) return io_wait::write;
            phase_ = phase::read;
            [[fallthrough]];
        }
        case phase::read: {
            if (!PQconsumeInput(c_.get())) return fail_connection();
            while (true) {
                if (PQisBusy(c_.get())) return io_wait::read;
                result_ptr r(PQgetResult(c_.get()));
                if (!r) break;
                const auto status = PQresultStatus(r.get());
                if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR || status == PGRES_BAD_RESPONSE) {
                    if (!error_) error_ = std::move(r);
                } else if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
                    if (!result_ || PQresultStatus(result_.get()) != PGRES_TUPLES_OK) result_ = std::move(r);
                }
            }
            if (error_) {
                fill_server_diagnostics(error_.get(), server_);
                phase_ = phase::done;
                if (PQstatus(c_.get()) == CONNECTION_BAD || is_connection_sqlstate(server_.sqlstate)) {
                    c_.mark_broken();
                    failure_ = failure::connection_lost;
                } else {
                    failure_ = failure::server_error;
                }
                result_.reset();
                return io_wait::none;
            }
            if (PQstatus(c_.get()) == CONNECTION_BAD) return fail_connection();
            if (preparing_) {
                c_.set_prepared(statement_);
                result_.reset();
                return send_statement();
            }
            phase_ = phase::done;
            return io_wait::none;
        }
        case phase::done: return io_wait::none;
    }
    return io_wait::none;
}

// ---- the blocking runner ------------------------------------------------------------------

bool wait_blocking(int socket, io_wait wait, std::chrono::steady_clock::time_point deadline) {
    if (socket < 0) return true;  // the machine notices the broken connection on its next step
    pollfd p{};
    p.fd = socket;
    // A write wait also wakes on input, which the flush phase consumes first.
    p.events = static_cast<short>(wait == io_wait::read ? POLLIN : (POLLIN | POLLOUT));
    for (;;) {
        int timeout_ms = -1;
        if (deadline != std::chrono::steady_clock::time_point::max()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            timeout_ms = static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 1 << 30));
        }
        const int n = ::poll(&p, 1, timeout_ms);
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return true;  // let the machine find out what is wrong
    }
}

}  // namespace durable::pg::detail
