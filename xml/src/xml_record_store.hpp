#pragma once
// The record_store the command engine runs on, kept as XML files in one directory.

#include "durable_files.hpp"
#include "record_cache.hpp"

#include <durable/detail/record_index.hpp>
#include <durable/detail/record_store.hpp>

#include <cstdint>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

namespace durable::xml {

class xml_record_store final : public detail::record_store {
public:
    /// Opens the directory: checks store.xml, creates the layout if new, replays an interrupted
    /// commit, removes stray temp files and builds the index. `cached_records`: see
    /// xml_store_settings. Throws record_error.
    xml_record_store(std::filesystem::path directory, bool create_if_missing, std::size_t cached_records, fault_hook hook);
    ~xml_record_store() override;

    const std::filesystem::path& directory() const noexcept { return dir_; }

    std::unique_ptr<guard> lock_exclusive() override;
    std::optional<detail::owner_record> find_owner(const uuid& id) override;
    std::vector<detail::owner_record> all_owners() override;
    std::optional<detail::instance_record> find_instance(const uuid& id, bool with_data) override;
    std::vector<uuid> instances_locked_by(const uuid& owner) override;
    std::optional<detail::key_record> find_key(const uuid& id) override;
    std::vector<detail::key_record> keys_of(const uuid& instance) override;
    std::optional<uuid> first_runnable(timestamp due_by, const detail::runnable_filter& filter) override;
    std::optional<timestamp> earliest_runnable(const detail::runnable_filter& filter) override;
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override;
    commit_completion commit(detail::change_set changes) override;

private:
    class held;
    struct pending_commit;
    const open_directory& directory_of(const std::filesystem::path& file) const;
    /// The file of a record of this kind, built from a string prefix: every command names a few
    /// files, and joining paths component by component was a measurable part of a small save.
    template <class Record>
    std::filesystem::path file_of(const uuid& id) const;
    /// The cache of records of this kind.
    template <class Record>
    lru_records<Record>& cache_of();

    void check_layout(bool create_if_missing);
    /// Called with the flock held and no commit in flight: finishes commits a crash or an I/O
    /// failure interrupted and brings the index up to date with other processes' commits.
    void catch_up_after_lock();
    void replay_journals();
    void replay_journal(const std::filesystem::path& journal);
    /// One rename (temp over target) or removal (no temp) of a journalled commit.
    struct journal_step {
        std::filesystem::path target;
        std::optional<std::filesystem::path> temp;
    };
    void apply_journal(const std::filesystem::path& journal, const std::vector<journal_step>& steps);
    void remove_stray_temp_files();
    void rebuild_index();
    std::uint64_t read_generation() const;
    void write_generation(std::uint64_t generation);
    /// Phase 2 of a commit, outside the engine lock: render and write the temp files, fsync,
    /// rename, fsync directories.
    void make_durable(pending_commit& pending);
    void write_temp_files(pending_commit& pending);
    /// A commit's files are no longer in flight (made durable, or failed); state_mutex_ held.
    void settle(const pending_commit& pending);
    /// A record from the cache (when `cache_may_answer`) or its file, which then refreshes the
    /// cache. Waits while a commit of `file` is in flight, so a command only ever decides on
    /// durable state.
    template <class Record, class Parse>
    std::optional<Record> read_record(const uuid& id, Parse parse, bool cache_may_answer = true);
    void wait_for_all_commits();
    void release_flock_if_idle();  // state_mutex_ held

    const std::filesystem::path dir_;
    const std::string owners_prefix_ = (dir_ / "owners" / "").native();
    const std::string instances_prefix_ = (dir_ / "instances" / "").native();
    const std::string keys_prefix_ = (dir_ / "keys" / "").native();
    durable_files files_;
    int lock_fd_ = -1;
    open_directory root_dir_, owners_dir_, instances_dir_, keys_dir_;  // kept open for fsync

    // Commands run their engine logic one at a time in this process (engine_mutex_) and across
    // processes (the flock on store.lock). The process keeps the flock while any of its commits
    // is still being made durable, so other processes never read a file that is about to change.
    std::mutex engine_mutex_;
    std::mutex state_mutex_;  // guards everything below
    std::condition_variable settled_;
    std::set<std::filesystem::path> in_flight_paths_;
    int in_flight_commits_ = 0;
    bool guard_active_ = false;
    bool flock_held_ = false;
    bool index_valid_ = false;  // false after a failed commit: rebuilt from the files
    bool replay_due_ = false;   // a commit failed after its journal: finish it before going on

    record_cache cache_;  // state_mutex_: read under the engine lock, corrected by failed commits

    std::uint64_t seen_generation_ = 0;  // engine lock
    detail::record_index index_;         // engine lock
};

}  // namespace durable::xml
