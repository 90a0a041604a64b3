#pragma once
// The record_store the command engine runs on, kept as XML files in one directory.

#include "durable_files.hpp"

#include <durable/detail/record_index.hpp>
#include <durable/detail/record_store.hpp>

#include <cstdint>
#include <filesystem>
#include <mutex>

namespace durable::xml {

class xml_record_store final : public detail::record_store {
public:
    /// Opens the directory: checks store.xml, creates the layout if new, replays an interrupted
    /// commit, removes stray temp files and builds the index. Throws record_error.
    xml_record_store(std::filesystem::path directory, bool create_if_missing, fault_hook hook);
    ~xml_record_store() override;

    const std::filesystem::path& directory() const noexcept { return dir_; }

    std::unique_ptr<guard> lock_exclusive() override;
    std::optional<detail::owner_record> find_owner(const uuid& id) override;
    std::vector<detail::owner_record> all_owners() override;
    std::optional<detail::instance_record> find_instance(const uuid& id) override;
    std::vector<uuid> instances_locked_by(const uuid& owner) override;
    std::optional<detail::key_record> find_key(const uuid& id) override;
    std::vector<detail::key_record> keys_of(const uuid& instance) override;
    std::optional<uuid> first_runnable(timestamp due_by, const detail::runnable_filter& filter) override;
    std::optional<timestamp> earliest_runnable(const detail::runnable_filter& filter) override;
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override;
    void commit(const detail::change_set& changes) override;

private:
    class held;
    std::filesystem::path owner_file(const uuid& id) const { return dir_ / "owners" / (to_string(id) + ".xml"); }
    std::filesystem::path instance_file(const uuid& id) const { return dir_ / "instances" / (to_string(id) + ".xml"); }
    std::filesystem::path key_file(const uuid& id) const { return dir_ / "keys" / (to_string(id) + ".xml"); }

    void check_layout(bool create_if_missing);
    /// Under the lock: finishes an interrupted commit and brings the index up to date with
    /// what other processes committed.
    void catch_up();
    void replay_journal();
    void remove_stray_temp_files();
    void rebuild_index();
    std::uint64_t read_generation() const;
    void write_generation(std::uint64_t generation);

    const std::filesystem::path dir_;
    durable_files files_;
    std::mutex mutex_;   // serialises this process's threads; flock serialises processes
    int lock_fd_ = -1;
    std::uint64_t seen_generation_ = 0;
    bool index_valid_ = false;
    detail::record_index index_;
};

}  // namespace durable::xml
