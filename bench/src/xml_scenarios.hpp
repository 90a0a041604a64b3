#pragma once
// The XML store's benchmark scenarios (issue 3): saves of 4 KB and 64 KB, loads and whole
// lifecycles at 1 and 4 threads, and try-load-runnable among many stored instances.

#include "measure.hpp"

#include <filesystem>
#include <string>

namespace durable::bench {

/// Saves of `payload_bytes` of opaque data under a held lock; `file_content` receives the
/// instance file one save writes (the ceiling writes the same bytes).
measurement xml_save(const std::filesystem::path& dir, std::size_t payload_bytes, int threads, double seconds,
                     std::string& file_content);
/// load_workflow of an unlocked 4 KB instance (a load takes the lock: one durable write).
measurement xml_load(const std::filesystem::path& dir, int threads, double seconds);
/// Create with a key, unload, load by key, complete (delete_all): four durable commands.
measurement xml_lifecycle(const std::filesystem::path& dir, int threads, double seconds);

struct try_load_result {
    measurement try_load;      ///< per try_load_runnable_workflow that found a due instance
    double open_seconds = 0;   ///< opening the store: index rebuild over every file
};
struct two_host_result {
    measurement one_host;   ///< saves of one process alone on the directory
    measurement two_hosts;  ///< saves of two processes taking turns: each follows the other's commit
    double open_seconds = 0;
};
/// Saves of 4 KB on a directory of `stored` instances: first by one process alone, then by two
/// processes taking turns, so that every save of one comes right after a commit of the other
/// and has to notice it. `saves` per process.
two_host_result xml_two_hosts(const std::filesystem::path& dir, std::size_t stored, std::size_t saves);

/// `stored` instances, `due` of them runnable now, the rest with timers a day away; the files
/// are written directly (not through the store) to keep set-up time reasonable.
try_load_result xml_try_load_runnable(const std::filesystem::path& dir, std::size_t stored, std::size_t due);

}  // namespace durable::bench
