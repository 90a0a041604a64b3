#pragma once
// The record_store the command engine runs on, kept as XML files in one directory.

#include "commit_log.hpp"
#include "durable_files.hpp"
#include "engine_gate.hpp"
#include "record_cache.hpp"

#include <durable/internal/record_index.hpp>
#include <durable/extension/record_store.hpp>
#include <durable/store_options.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace durable::xml {

struct record_store_settings {
    /// Create the store when the directory is missing or empty (never in a directory that holds
    /// anything else).
    bool create_if_missing = true;
    /// See xml_store_settings::cached_records.
    std::size_t cached_records = 10'000;
    /// How long a command waits for the directory's lock before it fails (store_unavailable).
    std::chrono::milliseconds lock_timeout{30'000};
    /// Told of each damaged file the store passes over (see store_options::on_damaged_record).
    std::function<void(const damaged_record&)> report_damage;
    fault_hook hook;
};

class xml_record_store final : public extension::record_store {
public:
    /// Opens the directory: checks store.xml (or creates the store in an empty directory),
    /// replays interrupted commits, removes the store's own stray temp files and builds the
    /// index. Throws record_error.
    xml_record_store(std::filesystem::path directory, record_store_settings settings);
    ~xml_record_store() override;

    const std::filesystem::path& directory() const noexcept { return root_dir_.path; }

    std::unique_ptr<guard> lock_exclusive(std::stop_token stop) override;
    std::optional<extension::owner_record> find_owner(const uuid& id) override;
    std::vector<uuid> owner_ids() override;
    std::optional<extension::instance_record> find_instance(const uuid& id, bool with_data) override;
    std::vector<uuid> instances_locked_by(const uuid& owner) override;
    std::optional<extension::key_record> find_key(const uuid& id) override;
    std::optional<uuid> first_runnable(timestamp due_by, const extension::runnable_filter& filter,
                                       const std::set<uuid>& passed_over) override;
    std::optional<timestamp> earliest_runnable(const extension::runnable_filter& filter) override;
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override;
    commit_completion commit(extension::change_set changes) override;

private:
    class held;
    struct pending_commit;
    using record_ref = std::pair<record_kind, uuid>;

    const open_directory& directory_of(record_kind kind) const;
    /// The cache of records of this kind.
    template <class Record>
    lru_records<Record>& cache_of();
    /// Reads and parses a record file, and checks that it holds the record its name says.
    template <class Record>
    std::optional<Record> read_file(const uuid& id, bool with_data) const;

    void check_layout(bool create_if_missing);
    /// Takes the engine mutex and the flock by `deadline`, unless `stop` is requested first.
    void acquire(std::unique_lock<engine_gate>& engine_lock, const std::stop_token& stop);
    /// Called with the flock held and no commit in flight: finishes commits a crash or an I/O
    /// failure interrupted and brings the index and cache up to date with other processes'
    /// commits, re-reading only what they changed.
    void catch_up_after_lock();
    /// Finishes every journalled commit in the directory; returns what they changed.
    std::vector<record_change> replay_journals();
    /// One rename (temp over target) or removal (no temp) of a journalled commit.
    struct journal_step {
        record_kind kind;
        uuid id;
        std::optional<std::string> temp_leaf;
    };
    std::vector<journal_step> read_journal(std::string_view journal_leaf) const;
    void apply_journal(std::string_view journal_leaf, const std::vector<journal_step>& steps);
    void remove_stray_temp_files();
    void rebuild_index();
    /// Re-reads one instance file into the index (its control part); a damaged file is
    /// reported and left out.
    void index_instance_file(const uuid& id);
    void forget_changed(const std::vector<record_change>& changes);
    /// Phase 2 of a commit, outside the engine lock: render and write the temp files, fsync,
    /// rename, fsync directories.
    void make_durable(pending_commit& pending);
    void write_temp_files(pending_commit& pending);
    /// A commit's files are no longer in flight (made durable, or failed); state_mutex_ held.
    void settle(const pending_commit& pending);
    /// A record from the cache (when `cache_may_answer`) or its file, which then refreshes the
    /// cache. Waits while a commit of that record is in flight, so a command only ever decides
    /// on durable state.
    template <class Record>
    std::optional<Record> read_record(const uuid& id, bool with_data, bool cache_may_answer = true);
    void wait_for_all_commits();
    void release_flock_if_idle();  // state_mutex_ held

    const record_store_settings settings_;
    durable_files files_;
    open_directory root_dir_, owners_dir_, instances_dir_, keys_dir_;  // every file is named through these
    unique_fd lock_fd_;
    commit_log log_;

    // Commands run their engine logic one at a time in this process (engine_mutex_) and across
    // processes (the flock on store.lock). The process keeps the flock while any of its commits
    // is still being made durable, so other processes never read a file that is about to change.
    engine_gate engine_mutex_;
    std::mutex state_mutex_;  // guards everything below
    std::condition_variable settled_;
    std::set<record_ref> in_flight_;
    int in_flight_commits_ = 0;
    bool guard_active_ = false;
    bool flock_held_ = false;
    bool opening_ = true;       // the constructor replays and rebuilds itself
    bool index_valid_ = false;  // false after a failed commit: rebuilt from the files
    bool replay_due_ = false;   // a commit failed after its journal: finish it before going on

    record_cache cache_;  // state_mutex_: read under the engine lock, corrected by failed commits

    extension::record_index index_;  // engine lock
};

}  // namespace durable::xml
