#include "pg_backend.hpp"

#include "pg_async.hpp"
#include "pg_errors.hpp"
#include "pg_listener.hpp"

#include <durable/store_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <thread>

namespace durable::pg::detail {

namespace {

std::chrono::milliseconds retry_delay(int attempt) {
    // Jittered exponential back-off from 25 ms, capped at 2 s.
    thread_local std::mt19937 rng{std::random_device{}()};
    const int base = std::min(2000, 25 * (1 << std::min(attempt, 7)));
    std::uniform_int_distribution<int> pick(base / 2, base);
    return std::chrono::milliseconds{pick(rng)};
}

bool valid_schema_name(const std::string& s) {
    if (s.empty() || s.size() > 50 || (s[0] >= '0' && s[0] <= '9')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// A create_workflow_owner sent again after an in-doubt attempt, refused because the owner
/// exists: the first attempt committed.
bool owner_created_already(const command_request& request, bool in_doubt, const server_diagnostics& server) {
    return in_doubt && server.sqlstate == "23505" &&
           std::holds_alternative<commands::create_workflow_owner>(request.command);
}

void report_owner_created(const command_request& request, const command_call& call, command_outcome& out) {
    out.view = instance_view{};
    out.diag = diagnostics{};
    out.view.owner_id = call.owner_id;
    out.view.owner_metadata = readable_part(std::get<commands::create_workflow_owner>(request.command).owner_metadata);
    out.view.owner_metadata_consistency = value_consistency::none;
}

}  // namespace

bool still_good(pg_connection& conn) {
    if (!conn.usable()) return false;
    if (!PQconsumeInput(conn.get()) || PQstatus(conn.get()) == CONNECTION_BAD) return false;
    // An idle session has nothing to say; anything it said (a FATAL before the server closed
    // it) means it is over.
    if (PQisBusy(conn.get())) return false;
    if (result_ptr r{PQgetResult(conn.get())}) return false;
    return true;
}

// ---- one asynchronous command -----------------------------------------------------------------

class async_command : public std::enable_shared_from_this<async_command> {
public:
    using handler_type = asio::any_completion_handler<void(error_code, command_outcome)>;

    async_command(pg_backend& backend, command_request request, handler_type handler)
        : b_(backend), request_(std::move(request)), handler_(std::move(handler)),
          strand_(asio::make_strand(backend.context().executor)), sd_(strand_), timer_(strand_) {}

    ~async_command() {
        if (sd_.is_open()) (void)sd_.release();
    }

    void start() {
        if (auto ec = make_call(request_, b_.options(), b_.held(), call_, outcome_.diag)) return post_finish(ec);
        if (auto slot = asio::get_associated_cancellation_slot(handler_); slot.is_connected()) {
            slot.assign([weak = weak_from_this()](asio::cancellation_type) {
                if (auto self = weak.lock()) asio::post(self->strand_, [self] { self->cancel(); });
            });
        }
        asio::post(strand_, [self = shared_from_this()] { self->acquire(); });
    }

    /// The store is going: end at once with operation_aborted. A statement in flight is left to
    /// finish on the server (its connection is closed, not cancelled): an unlock or save that
    /// was sent may as well take effect.
    void shut_down() {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->done_) return;
            self->shutting_ = true;
            self->cancelled_ = true;
            if (self->queued_ && self->b_.leave_queue(self.get())) {
                self->queued_ = false;
                self->outcome_.diag.message = "the store was shut down before the command ran";
                return self->finish(asio::error::operation_aborted);
            }
            self->sd_.cancel();
            self->timer_.cancel();
        });
    }

private:
    void acquire() {
        if (done_) return;
        if (cancelled_) return finish_cancelled();
        if (b_.is_shut_down()) {
            outcome_.diag.message = "the store was shut down before the command ran";
            return finish(asio::error::operation_aborted);
        }
        bool connect = false;
        auto conn = b_.acquire(shared_from_this(), connect);
        if (conn) return run_query(std::move(conn));
        if (connect) return open_connection();
        queued_ = true;  // release() or discard() hands us one on the strand
    }

    void open_connection() {
        conn_ = std::make_unique<pg_connection>(b_.conninfo());
        connecting_.emplace(*conn_);
        connect_timed_out_ = false;
        timer_.expires_after(b_.connect_timeout());
        timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || !self->connecting_) return;
            self->connect_timed_out_ = true;
            self->sd_.cancel();
        });
        async_drive(sd_, *connecting_, true, cancelled_, [self = shared_from_this()](error_code ec) { self->on_connected(ec); });
    }

    void on_connected(error_code ec) {
        timer_.cancel();
        if (cancelled_) return finish_cancelled();
        if (connect_timed_out_) {
            connecting_->time_out(b_.connect_timeout());
            ec = {};
        } else if (ec == asio::error::operation_aborted) {
            return finish_cancelled();
        }
        const failure f = ec ? failure::connection_lost : connecting_->failed();
        if (f != failure::none) {
            server_diagnostics server = connecting_->server();
            connecting_.reset();
            drop_connection();
            return failed(f, server, false);
        }
        connecting_.reset();
        run_query(std::move(conn_));
    }

    void run_query(std::unique_ptr<pg_connection> conn) {
        conn_ = std::move(conn);
        const auto& st = b_.statements();
        query_.emplace(*conn_, call_.which, b_.statement_name(call_.which), st.text(call_.which), &call_.params);
        async_drive(sd_, *query_, false, cancelled_, [self = shared_from_this()](error_code ec) { self->on_query(ec); });
    }

    void on_query(error_code ec) {
        // A statement that finished before the cancellation got to it reports what it did: it
        // may have committed, and a backend never reports a committed command as failed.
        if (ec == asio::error::operation_aborted || (cancelled_ && ec)) return finish_cancelled();
        if (ec) conn_->mark_broken();
        const failure f = ec ? failure::connection_lost : query_->failed();
        if (f == failure::none) {
            auto result = query_->take_result();
            query_.reset();
            std::optional<released_lock> undo;
            const error_code outcome_ec =
                read_outcome(request_, b_.options(), result.get(), call_, b_.held(), outcome_, undo);
            if (!undo) return finish(outcome_ec);
            // Give back the lock the failed load took, then report the failure (whatever the
            // unlock's fate: the lock would otherwise lapse with the owner's lease).
            undo_call_ = unlock_call(request_, *undo);
            const auto& st = b_.statements();
            query_.emplace(*conn_, undo_call_.which, b_.statement_name(undo_call_.which), st.text(undo_call_.which),
                           &undo_call_.params);
            return async_drive(sd_, *query_, false, cancelled_, [self = shared_from_this(), outcome_ec](error_code wait_ec) {
                if (wait_ec || self->query_->failed() == failure::connection_lost) self->conn_->mark_broken();
                self->query_.reset();
                self->finish(outcome_ec);
            });
        }
        const server_diagnostics server = query_->server();
        const bool sent = query_->sent();
        query_.reset();
        if (f == failure::connection_lost) drop_connection();
        failed(f, server, sent);
    }

    void failed(failure f, const server_diagnostics& server, bool sent) {
        if (f == failure::server_error && owner_created_already(request_, in_doubt_, server)) {
            report_owner_created(request_, call_, outcome_);
            return finish({});
        }
        const auto verdict = b_.judge(call_, f, server, sent, attempt_, in_doubt_, outcome_.diag);
        if (!verdict.retry) return finish(verdict.ec);
        ++attempt_;
        if (conn_) give_back();  // a server error leaves the connection good
        timer_.expires_after(retry_delay(attempt_));
        timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
            if (wait_ec || self->cancelled_) return self->finish_cancelled();
            self->acquire();
        });
    }

    void cancel() {
        if (done_) return;
        cancelled_ = true;
        if (queued_ && b_.leave_queue(this)) {
            queued_ = false;
            return finish_cancelled();
        }
        sd_.cancel();
        timer_.cancel();
    }

    void finish_cancelled() {
        if (done_) return;
        // The server-side statement is cancelled, not left running; the connection is dropped,
        // for its state after a cancel is not worth trusting.
        if (!shutting_ && query_ && query_->sent() && conn_) conn_->request_cancel();
        query_.reset();
        connecting_.reset();
        if (conn_) drop_connection();
        outcome_.view = instance_view{};
        outcome_.diag.message = shutting_ ? "the store was shut down while the command ran" : "the command was cancelled";
        if (std::holds_alternative<commands::save_workflow>(request_.command))
            outcome_.diag.message += "; the save may still have committed: reload to know";
        finish(asio::error::operation_aborted);
    }

    /// Returns the connection to the pool. The descriptor lets go of its socket first: the next
    /// user registers the same fd with the reactor, which refuses a second registration.
    void give_back() {
        if (sd_.is_open()) (void)sd_.release();
        b_.release(std::move(conn_));
    }

    void drop_connection() {
        if (sd_.is_open()) (void)sd_.release();
        if (conn_) {
            conn_.reset();
            b_.discard();
        }
    }

    void post_finish(error_code ec) {
        asio::post(strand_, [self = shared_from_this(), ec] { self->finish(ec); });
    }

    void finish(error_code ec) {
        if (done_) return;
        done_ = true;
        // The slot is left as it is: the facade owns it and clears it on its own strand once the
        // handler ran; clearing it here, on this strand, could race with an emit there. A late
        // emit finds this command done and does nothing.
        if (conn_) {
            if (conn_->usable())
                give_back();
            else
                drop_connection();
        }
        if (sd_.is_open()) (void)sd_.release();
        if (ec) outcome_.view = instance_view{};
        // The backend may go once the handler has run: nothing here touches it afterwards.
        auto executor = b_.context().executor;
        asio::post(executor, asio::append(std::move(handler_), ec, std::move(outcome_)));
    }

    pg_backend& b_;
    command_request request_;
    handler_type handler_;
    asio::strand<asio::any_io_executor> strand_;
    asio::posix::stream_descriptor sd_;
    asio::steady_timer timer_;
    command_call call_;
    command_call undo_call_;
    command_outcome outcome_;
    std::unique_ptr<pg_connection> conn_;
    std::optional<connect_machine> connecting_;
    std::optional<query_machine> query_;
    int attempt_ = 0;
    bool in_doubt_ = false;
    bool cancelled_ = false;
    bool shutting_ = false;
    bool connect_timed_out_ = false;
    bool queued_ = false;
    bool done_ = false;

    friend class pg_backend;
};

// ---- the backend ------------------------------------------------------------------------------

pg_backend::pg_backend(std::string conninfo, pg_store_settings settings)
    : conninfo_(std::move(conninfo)), settings_(std::move(settings)),
      statements_(valid_schema_name(settings_.schema) ? settings_.schema
                                                     : throw std::invalid_argument(
                                                           "pg_store_settings::schema: letters, digits and '_' only")) {
    if (settings_.max_connections == 0) throw std::invalid_argument("pg_store_settings::max_connections must be at least 1");
    if (settings_.connect_timeout <= std::chrono::milliseconds::zero())
        throw std::invalid_argument("pg_store_settings::connect_timeout must be positive");
    // Open once now, so a bad conninfo, an unreachable server or a missing or foreign schema is
    // an error of the constructor, naming what is wrong, rather than of the first command.
    diagnostics diag;
    diag.command = "open";
    auto conn = sync_acquire(diag.server);
    if (!conn) {
        diag.message = "cannot connect to PostgreSQL";
        throw store_error(errc::store_unavailable, diag);
    }
    param_list none;
    query_machine q(*conn, st_get_store_version, statement_name(st_get_store_version),
                    statements_.text(st_get_store_version), &none);
    run_blocking(q);
    if (q.failed() != failure::none) {
        diag.server = q.server();
        const errc e = q.failed() == failure::connection_lost ? errc::store_unavailable : errc_for_sqlstate(diag.server.sqlstate);
        diag.message = e == errc::schema_mismatch
                           ? "schema \"" + settings_.schema + "\" has no durable store (version " +
                                 std::to_string(supported_schema_version) +
                                 " expected): apply sql/scripts/schema.sql and logic.sql (or durable::pg::apply_schema)"
                       : diag.server.sqlstate == "42501"
                           ? "the login may not use the store in schema \"" + settings_.schema +
                                 "\": grant it durable_store_users"
                           : "cannot read the store's schema version";
        throw store_error(e, diag);
    }
    auto result = q.take_result();
    std::optional<std::int32_t> version;
    try {
        if (result && PQntuples(result.get()) == 1) version = row_reader(result.get(), 0).int4(0);
    } catch (const std::runtime_error&) {
    }
    if (version != supported_schema_version) {
        diag.message = "schema \"" + settings_.schema + "\" has store schema version " +
                       (version ? std::to_string(*version) : std::string("(none)")) + ", but this build supports version " +
                       std::to_string(supported_schema_version) +
                       (version && *version < supported_schema_version ? ": upgrade it (sql/scripts/upgrade)" : "");
        throw store_error(errc::schema_mismatch, diag);
    }
    sync_release(std::move(conn));
}

pg_backend::~pg_backend() = default;

void pg_backend::attached() {
    // LISTEN only while background tasks run: without them nothing would act on a wake-up, and
    // the listening socket would keep the io_context busy for ever.
    if (settings_.listen && options().run_background_tasks) {
        listener_ = std::make_shared<pg_listener>(context().executor, conninfo_, settings_.schema + "_runnable",
                                                  context().events, settings_.connect_timeout);
        listener_->start();
    }
}

void pg_backend::on_shut_down() noexcept {
    if (listener_) listener_->stop();
    // Every command still out ends now (queued or waiting on its socket), so nothing of this
    // store keeps the io_context busy once it is gone.
    std::vector<std::weak_ptr<async_command>> running;
    {
        std::scoped_lock lock(pool_mutex_);
        running.swap(running_);
    }
    for (auto& weak : running)
        if (auto op = weak.lock()) op->shut_down();
}

std::unique_ptr<pg_connection> pg_backend::acquire(const std::shared_ptr<async_command>& op, bool& connect) {
    connect = false;
    std::scoped_lock lock(pool_mutex_);
    while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (still_good(*conn)) return conn;
        --open_;  // ended while idle (a restart): dropped here
    }
    if (open_ < settings_.max_connections) {
        ++open_;
        connect = true;
        return nullptr;
    }
    waiters_.push_back(op);
    return nullptr;
}

void pg_backend::release(std::unique_ptr<pg_connection> conn) {
    std::shared_ptr<async_command> next;
    {
        std::scoped_lock lock(pool_mutex_);
        if (waiters_.empty()) {
            idle_.push_back(std::move(conn));
            return;
        }
        next = std::move(waiters_.front());
        waiters_.pop_front();
    }
    asio::post(next->strand_, [next, mine = std::move(conn)]() mutable {
        next->queued_ = false;
        if (next->done_) {
            next->b_.release(std::move(mine));
            return;
        }
        if (next->cancelled_) {
            next->b_.release(std::move(mine));
            return next->finish_cancelled();
        }
        next->run_query(std::move(mine));
    });
}

void pg_backend::discard() {
    std::shared_ptr<async_command> next;
    {
        std::scoped_lock lock(pool_mutex_);
        if (waiters_.empty()) {
            --open_;
            return;
        }
        // The slot stays counted: the first waiter opens a connection in it.
        next = std::move(waiters_.front());
        waiters_.pop_front();
    }
    asio::post(next->strand_, [next] {
        next->queued_ = false;
        if (next->done_ || next->cancelled_) {
            next->b_.discard();
            if (!next->done_) next->finish_cancelled();
            return;
        }
        next->open_connection();
    });
}

bool pg_backend::leave_queue(const async_command* op) {
    std::scoped_lock lock(pool_mutex_);
    const auto it = std::find_if(waiters_.begin(), waiters_.end(), [op](const auto& w) { return w.get() == op; });
    if (it == waiters_.end()) return false;
    waiters_.erase(it);
    return true;
}

attempt_verdict pg_backend::judge(const command_call& call, failure what, const server_diagnostics& server, bool sent,
                                  int attempt, bool& in_doubt, diagnostics& diag) const {
    diag.server = server;
    const bool retries_left = attempt < options().max_connection_retries;
    if (what == failure::server_error) {
        // A raised error rolled the call back: a transient one may simply be sent again.
        if (is_transient_sqlstate(server.sqlstate) && retries_left) return {true, {}};
        const errc e = errc_for_sqlstate(server.sqlstate);
        diag.message = e == errc::schema_mismatch
                           ? "the store's functions are missing from schema \"" + settings_.schema +
                                 "\" (apply sql/scripts/schema.sql and logic.sql)"
                       : server.sqlstate == "42501"
                           ? "the login may not run the store's functions: grant it durable_store_users"
                           : "the server refused the call";
        return {false, e};
    }
    // The connection broke (or could not be made).
    if (sent) {
        if (!call.retry_when_in_doubt) {
            diag.message = "the connection was lost while the command was in flight: it may or may not have committed";
            diag.instance_id = call.instance_id;
            return {false, errc::commit_in_doubt};
        }
        in_doubt = true;
    }
    if (retries_left) return {true, {}};
    if (in_doubt) {
        diag.message = "the connection was lost while the command was in flight, and retrying it failed: it may or "
                       "may not have committed";
        diag.instance_id = call.instance_id;
        return {false, errc::commit_in_doubt};
    }
    diag.message = "cannot reach PostgreSQL (after " + std::to_string(attempt + 1) + " attempts)";
    return {false, errc::store_unavailable};
}

void pg_backend::async_run_command(command_request request,
                                   asio::any_completion_handler<void(error_code, command_outcome)> handler) {
    auto op = std::make_shared<async_command>(*this, std::move(request), std::move(handler));
    {
        std::scoped_lock lock(pool_mutex_);
        std::erase_if(running_, [](const auto& weak) { return weak.expired(); });
        running_.push_back(op);
    }
    op->start();
}

// ---- the blocking execute ---------------------------------------------------------------------

std::unique_ptr<pg_connection> pg_backend::sync_acquire(server_diagnostics& server) {
    {
        std::scoped_lock lock(sync_mutex_);
        while (!sync_idle_.empty()) {
            auto conn = std::move(sync_idle_.back());
            sync_idle_.pop_back();
            if (still_good(*conn)) return conn;
        }
    }
    auto conn = std::make_unique<pg_connection>(conninfo_);
    connect_machine m(*conn);
    if (!run_blocking(m, std::chrono::steady_clock::now() + settings_.connect_timeout)) m.time_out(settings_.connect_timeout);
    if (m.failed() != failure::none) {
        server = m.server();
        return nullptr;
    }
    return conn;
}

void pg_backend::sync_release(std::unique_ptr<pg_connection> conn) {
    if (!conn || !conn->usable()) return;
    std::scoped_lock lock(sync_mutex_);
    if (sync_idle_.size() < settings_.max_connections) sync_idle_.push_back(std::move(conn));
}

error_code pg_backend::run_command(const command_request& request, command_outcome& outcome) {
    if (is_shut_down()) {
        outcome.diag.message = "the store was shut down before the command ran";
        return asio::error::operation_aborted;
    }
    command_call call;
    if (auto ec = make_call(request, options(), held_, call, outcome.diag)) return ec;
    bool in_doubt = false;
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(retry_delay(attempt));
        server_diagnostics server;
        auto conn = sync_acquire(server);
        if (!conn) {
            const auto verdict = judge(call, failure::connection_lost, server, false, attempt, in_doubt, outcome.diag);
            if (verdict.retry) continue;
            return verdict.ec;
        }
        query_machine q(*conn, call.which, statement_name(call.which), statements_.text(call.which), &call.params);
        run_blocking(q);
        if (q.failed() == failure::none) {
            auto result = q.take_result();
            sync_release(std::move(conn));
            std::optional<released_lock> undo;
            const error_code ec = read_outcome(request, options(), result.get(), call, held_, outcome, undo);
            if (ec) outcome.view = instance_view{};
            if (undo) {
                // As in the async runner: the failed load gives back the lock it took.
                server_diagnostics ignored;
                if (auto again = sync_acquire(ignored)) {
                    const command_call unlock = unlock_call(request, *undo);
                    query_machine u(*again, unlock.which, statement_name(unlock.which), statements_.text(unlock.which),
                                    &unlock.params);
                    run_blocking(u);
                    sync_release(std::move(again));
                }
            }
            return ec;
        }
        if (q.failed() == failure::server_error) {
            if (owner_created_already(request, in_doubt, q.server())) {
                sync_release(std::move(conn));
                report_owner_created(request, call, outcome);
                return {};
            }
            sync_release(std::move(conn));
        }
        const auto verdict = judge(call, q.failed(), q.server(), q.sent(), attempt, in_doubt, outcome.diag);
        if (verdict.retry) continue;
        return verdict.ec;
    }
}

}  // namespace durable::pg::detail
