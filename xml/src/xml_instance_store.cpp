#include <durable/xml_instance_store.hpp>

#include "xml_record_store.hpp"

#include <durable/detail/command_engine.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

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
    impl(std::filesystem::path directory, const xml_store_settings& settings)
        : records(open(std::move(directory), settings)), pool(std::max(1u, settings.io_threads)) {}

    static xml_record_store open(std::filesystem::path directory, const xml_store_settings& settings) {
        try {
            return xml_record_store(std::move(directory), settings.create_if_missing, settings.cached_records, settings.fault_injection);
        } catch (const detail::record_error& e) {
            diagnostics diag;
            diag.command = "open";
            diag.message = e.what();
            throw store_error(make_error_code(e.code()), std::move(diag));
        }
    }

    xml_record_store records;
    asio::thread_pool pool;  // blocking file I/O never runs on the io_context's threads
};

xml_instance_store::xml_instance_store(asio::any_io_executor executor, std::filesystem::path directory,
                                       store_options options, xml_store_settings settings)
    : instance_store(std::move(executor), without_compression(std::move(options))),
      impl_(std::make_unique<impl>(std::move(directory), settings)) {}

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
    // The tracked executor keeps the io_context running while the command is on the pool.
    auto work = asio::prefer(get_executor(), asio::execution::outstanding_work.tracked);
    asio::post(impl_->pool, [this, work = std::move(work), request = std::move(request),
                             handler = std::move(handler)]() mutable {
        command_outcome outcome;
        const error_code ec = run_command(request, outcome);
        asio::post(work, asio::append(std::move(handler), ec, std::move(outcome)));
    });
}

}  // namespace durable::xml
