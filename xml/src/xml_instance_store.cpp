#include <durable/xml_instance_store.hpp>

#include "xml_record_store.hpp"

#include <durable/detail/command_engine.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

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

struct xml_instance_store::impl {
    impl(std::filesystem::path directory, const xml_store_settings& settings, const store_options& options)
        : records(open(std::move(directory), settings, options)), pool(std::max(1u, settings.io_threads)) {}

    static xml_record_store open(std::filesystem::path directory, const xml_store_settings& settings,
                                 const store_options& options) {
        record_store_settings record_settings;
        record_settings.create_if_missing = settings.create_if_missing;
        record_settings.cached_records = settings.cached_records;
        record_settings.lock_timeout = settings.lock_timeout;
        // The options live in the store's core, which outlives these records.
        record_settings.report_damage = [&options](const damaged_record& damage) { report_damaged_record(options, damage); };
        record_settings.hook = settings.fault_injection;
        try {
            return xml_record_store(std::move(directory), std::move(record_settings));
        } catch (const detail::record_error& e) {
            diagnostics diag;
            diag.command = "open";
            diag.message = e.what();
            throw store_error(e.code(), std::move(diag));
        }
    }

    xml_record_store records;
    asio::thread_pool pool;  // blocking file I/O never runs on the io_context's threads
};

xml_instance_store::xml_instance_store(asio::any_io_executor executor, std::filesystem::path directory,
                                       store_options options, xml_store_settings settings)
    : instance_store(std::move(executor), without_compression(std::move(options))),
      impl_(std::make_unique<impl>(std::move(directory), settings, this->options())) {}

xml_instance_store::~xml_instance_store() {
    shut_down();
    impl_->pool.join();  // commands already running finish; their handlers see the store gone
}

const std::filesystem::path& xml_instance_store::directory() const noexcept { return impl_->records.directory(); }

error_code xml_instance_store::run_command(const command_request& request, command_outcome& outcome) {
    return detail::run_engine_command(impl_->records, options(), request, outcome);
}

void xml_instance_store::async_run_command(command_request request,
                                           asio::any_completion_handler<void(error_code, command_outcome)> handler) {
    // Cancellation reaches the wait for the directory's lock, the only wait of a command that
    // can be long (another process may hold the lock); once a command holds it, it runs to the end.
    auto stop = std::make_shared<std::stop_source>();
    if (auto slot = asio::get_associated_cancellation_slot(handler); slot.is_connected())
        slot.assign([stop](asio::cancellation_type) { stop->request_stop(); });
    // The tracked executor keeps the io_context running while the command is on the pool.
    auto work = asio::prefer(get_executor(), asio::execution::outstanding_work.tracked);
    asio::post(impl_->pool, [this, work = std::move(work), stop, request = std::move(request),
                             handler = std::move(handler)]() mutable {
        command_outcome outcome;
        const error_code ec = detail::run_engine_command(impl_->records, options(), request, outcome, stop->get_token());
        asio::post(work, asio::append(std::move(handler), ec, std::move(outcome)));
    });
}

}  // namespace durable::xml
