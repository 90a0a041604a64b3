#pragma once
// The XML store's test seam (not installed): fault injection at each step of a durable write,
// as leveldb's Env lets its tests fail a file operation. Tests open a store through
// testing::seam to get one whose writes call a hook first; the hook throws to inject a failure.

#include <durable/xml_instance_store.hpp>

#include <filesystem>
#include <functional>
#include <memory>

namespace durable::xml::testing {

/// The steps of a durable write (durable_files), in the order a replacement goes through them.
enum class write_step {
    write,           ///< the temp file's content
    fsync,           ///< the temp file's fsync
    rename,          ///< the temp file renamed over the record
    remove,          ///< a record file removed
    sync_directory,  ///< the directory's fsync
};

const char* to_string(write_step step) noexcept;

/// Called before each step with the file it is about to touch (the directory, for
/// sync_directory); throwing extension::record_error injects a failure there.
using fault_hook = std::function<void(write_step step, const std::filesystem::path& file)>;

struct seam {
    /// xml_instance_store's constructor, with every durable write calling `hook` first.
    static std::unique_ptr<xml_instance_store> open(asio::any_io_executor executor, std::filesystem::path directory,
                                                    store_options options, xml_store_settings settings,
                                                    fault_hook hook);
};

}  // namespace durable::xml::testing
