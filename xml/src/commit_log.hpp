#pragma once
// The generation counter and the change log in store.lock.
//
// Processes that share a store directory keep an index and a record cache in memory; each must
// learn what the others changed before it decides anything. Every commit, under the directory's
// flock, bumps the generation and appends the ids of the records it changes. A process that takes
// the flock reads the entries written since it last looked and refreshes only those records, so
// the cost of noticing another process's commit is proportional to that commit, not to the store.
// When the log no longer reaches back far enough (it is reset when it grows past its capacity) or
// cannot be read, the caller rebuilds from the files instead.
//
// Layout (little-endian, native to the machine: the file never leaves it):
//   header  "DLOG" | layout version u32 | generation u64 | generation of the first entry u64 |
//           bytes of entries u64
//   entry   generation u64 | change count u32 | per change: record kind u8 | id (16 bytes)
//
// Nothing here is fsynced: after a crash every process rebuilds its index when it opens the
// store, so the log only has to be right between live processes, which it is because it is only
// written and read under the flock.

#include <durable/uuid.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace durable::xml {

enum class record_kind : std::uint8_t { owner = 1, instance = 2, key = 3 };

struct record_change {
    record_kind kind;
    uuid id;
};

class commit_log {
public:
    /// `fd`: store.lock, open for reading and writing; `path` names it in messages. Not owned.
    commit_log(int fd, std::filesystem::path path, std::uint64_t capacity_bytes = std::uint64_t{4} << 20);

    /// Starts over from the file as it is now: what a process does after rebuilding from the
    /// files. A header that cannot be read (a new file, a file of an older layout, or one damaged
    /// by a power cut) is written afresh with a new generation, so every other process rebuilds.
    void reset_position();

    /// Whether another process has committed since this one last read or wrote the log.
    bool others_committed() const;

    /// Records one commit: the next generation, with the records it changes.
    void append(const std::vector<record_change>& changes);

    /// The changes committed by others since this process last looked, in commit order; nullopt
    /// when the log cannot say (reset in between, or damaged): then rebuild and reset_position().
    std::optional<std::vector<record_change>> read_new();

private:
    struct header {
        std::uint64_t generation = 0;
        std::uint64_t first_generation = 0;
        std::uint64_t entry_bytes = 0;
    };
    std::optional<header> read_header() const;
    void write_header(const header& h);
    void write_at(std::uint64_t offset, const std::vector<std::uint8_t>& bytes);

    int fd_;
    std::filesystem::path path_;
    std::uint64_t capacity_;
    // Where this process is: the last generation it has seen, the first generation of the log it
    // read (a different one means the log was reset) and the offset after the entries it read.
    std::uint64_t seen_generation_ = 0;
    std::uint64_t seen_first_ = 0;
    std::uint64_t seen_bytes_ = 0;
};

}  // namespace durable::xml
