#include <durable/xml_instance_store.hpp>

#include "xml_record_store.hpp"

#include <durable/xml/testing.hpp>

#include <durable/extension/command_engine.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <mutex>
#include <stop_token>

namespace durable::xml {

namespace {
/// The files hold values as XML elements, so the engine's blobs are only a hand-over format
/// here: compressing them would be undone at once when the record is rendered.
store_options without_compression(store_options options) {
    options.instance_encoding = encoding::none;
    return options;
}
}  // namespace

/// Runs commands on the record store, off the io_context: blocking file I/O runs on a pool.
class xml_instance_store::backend final : public store_backend {
public:
    backend(std::filesystem::path directory, const store_options& options, const xml_store_settings& settings,
            testing::fault_hook hook)
        : records_(open(std::move(directory), options, settings, std::move(hook))), pool_(std::max(1u, settings.io_threads)) {}

    ~backend() override { pool_.join(); }

    const std::filesystem::path& directory() const noexcept { return records_.directory(); }

    error_code run_command(const command_request& request, command_outcome& outcome) override {
        return extension::run_engine_command(records_, options(), request, outcome);
    }

    void async_run_command(command_request request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) override {
        // Cancellation reaches the wait for the directory's lock, the only wait of a command that
        // can be long (another process may hold the lock); once a command holds it, it runs to
        // the end.
        auto stop = std::make_shared<std::stop_source>();
        if (auto slot = asio::get_associated_cancellation_slot(handler); slot.is_connected())
            slot.assign([stop](asio::cancellation_type) { stop->request_stop(); });
        // The tracked executor keeps the io_context running while the command is on the pool.
        auto work = asio::prefer(context().executor, asio::execution::outstanding_work.tracked);
        std::scoped_lock lock(pool_mutex_);
        if (pool_joined_) {
            // The pool is gone with the store: nothing would ever run the command.
            command_outcome outcome;
            outcome.diag.message = "the store was shut down before the command ran";
            asio::post(work, asio::append(std::move(handler), error_code(asio::error::operation_aborted), std::move(outcome)));
            return;
        }
        // `this` outlives the handler: the store's core, which owns this backend, is kept alive by it.
        asio::post(pool_, [this, work = std::move(work), stop, request = std::move(request),
                           handler = std::move(handler)]() mutable {
            command_outcome outcome;
            error_code ec = asio::error::operation_aborted;
            // A command still queued when the store goes does not start; one waiting for the
            // directory's lock stops waiting. Shutting down then never waits for another process.
            std::stop_callback on_shut_down(shutting_down_.get_token(), [stop] { stop->request_stop(); });
            if (shutting_down_.stop_requested())
                outcome.diag.message = "the store was shut down before the command ran";
            else
                ec = extension::run_engine_command(records_, options(), request, outcome, stop->get_token());
            asio::post(work, asio::append(std::move(handler), ec, std::move(outcome)));
        });
    }

private:
    /// Commands already on the pool finish (their completions are posted to the io_context);
    /// commands started from now on complete with operation_aborted.
    void on_shut_down() noexcept override {
        {
            std::scoped_lock lock(pool_mutex_);
            pool_joined_ = true;
        }
        shutting_down_.request_stop();
        // Joining from one of the pool's own threads (a damage report or fault hook that destroyed
        // the store) would wait for itself; the pool is joined when the backend goes instead.
        if (!pool_.get_executor().running_in_this_thread()) pool_.join();
    }

    static xml_record_store open(std::filesystem::path directory, const store_options& options,
                                 const xml_store_settings& settings, testing::fault_hook hook) {
        record_store_settings record_settings;
        record_settings.create_if_missing = settings.create_if_missing;
        record_settings.cached_records = settings.cached_records;
        record_settings.lock_timeout = settings.lock_timeout;
        // Opening may already find damage (while it rebuilds the index), before the facade
        // exists: the handler is taken from the caller's options.
        record_settings.report_damage = [handler = options.on_damaged_record](const damaged_record& damage) {
            store_options reporting;
            reporting.on_damaged_record = handler;
            report_damaged_record(reporting, damage);
        };
        record_settings.hook = std::move(hook);
        try {
            return xml_record_store(std::move(directory), std::move(record_settings));
        } catch (const extension::record_error& e) {
            diagnostics diag;
            diag.command = "open";
            diag.message = e.what();
            throw store_error(e.code(), std::move(diag));
        }
    }

    xml_record_store records_;
    asio::thread_pool pool_;
    std::mutex pool_mutex_;
    bool pool_joined_ = false;  // guarded by pool_mutex_
    std::stop_source shutting_down_;
};

xml_instance_store::xml_instance_store(asio::any_io_executor executor, std::filesystem::path directory,
                                       store_options options, xml_store_settings settings)
    // `options` is read twice here, never moved from: the order in which arguments are evaluated
    // is unspecified, and the backend needs the caller's on_damaged_record.
    : xml_instance_store(std::move(executor), options, std::make_shared<backend>(std::move(directory), options, settings, nullptr)) {}

xml_instance_store::xml_instance_store(asio::any_io_executor executor, const store_options& options,
                                       std::shared_ptr<backend> store_backend)
    : instance_store(std::move(executor), without_compression(options), store_backend),
      directory_(store_backend->directory()) {}

std::unique_ptr<xml_instance_store> testing::seam::open(asio::any_io_executor executor, std::filesystem::path directory,
                                                        store_options options, xml_store_settings settings,
                                                        fault_hook hook) {
    auto store_backend =
        std::make_shared<xml_instance_store::backend>(std::move(directory), options, settings, std::move(hook));
    return std::unique_ptr<xml_instance_store>(new xml_instance_store(std::move(executor), options, std::move(store_backend)));
}

const char* testing::to_string(write_step step) noexcept {
    switch (step) {
        case write_step::write: return "write";
        case write_step::fsync: return "fsync";
        case write_step::rename: return "rename";
        case write_step::remove: return "remove";
        case write_step::sync_directory: return "sync-directory";
    }
    return "unknown";
}

}  // namespace durable::xml
