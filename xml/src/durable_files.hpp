#pragma once
// Crash-safe file primitives for one store directory: atomic replace (temp file, fsync, rename,
// fsync of the directory), durable removal, and whole-file reads.
//
// Every operation names a file by its leaf name inside a directory the store opened itself, and
// goes through that directory's descriptor (openat, renameat, unlinkat), so no path is ever
// resolved through a symbolic link planted in the store: temp files are created with O_EXCL and
// O_NOFOLLOW under unpredictable names, records are read with O_NOFOLLOW and must be regular
// files, and the subdirectories must be real directories. Failures throw extension::record_error
// naming the file: store_unavailable for I/O errors, corrupt_data for a record file that is a
// symbolic link or not a regular file. A failed replace removes its temp file and leaves the
// target as it was.

#include <filesystem>
#include <durable/xml/testing.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace durable::xml {

using testing::fault_hook;
using testing::write_step;

/// An owned file descriptor.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const noexcept { return fd_; }
    void reset() noexcept;

private:
    int fd_ = -1;
};

/// A directory kept open: files are named relative to it, and syncing it costs one fsync.
struct open_directory {
    std::filesystem::path path;  ///< for messages and the fault hook only
    unique_fd fd;

    std::filesystem::path file(std::string_view leaf) const { return path / leaf; }
};

/// A temp file written and still open, so it can be synced without being reopened.
struct temp_file {
    std::string leaf;
    unique_fd fd;
};

class durable_files {
public:
    explicit durable_files(fault_hook hook) : hook_(std::move(hook)) {}

    /// The store's root directory, as the user named it (which may be a link to elsewhere).
    static open_directory open_root(const std::filesystem::path& directory);
    /// A subdirectory of the store; refuses a symbolic link or anything but a directory.
    static open_directory open_subdirectory(const open_directory& root, std::string_view leaf);

    /// Writes `content` to a temp file, fsyncs it, renames it over `leaf` and fsyncs `dir`.
    void replace(const open_directory& dir, std::string_view leaf, std::string_view content) const;
    /// Writes a new temp file beside `target_leaf` (see temp_name_for) without syncing it;
    /// removes it on failure.
    temp_file write_temp(const open_directory& dir, std::string_view target_leaf, std::string_view content) const;
    /// fsyncs a file written by write_temp().
    void sync(const open_directory& dir, const temp_file& file) const;
    void rename(const open_directory& dir, std::string_view from_leaf, std::string_view to_leaf) const;
    /// Removes `leaf` if present (no error when it is already gone).
    void remove(const open_directory& dir, std::string_view leaf) const;
    /// Removes `leaf` if present, without the fault hook: clean-up after a failure.
    static void discard(const open_directory& dir, std::string_view leaf) noexcept;
    void sync_directory(const open_directory& dir) const;

    /// The whole file, or nullopt when it does not exist. A symbolic link or a file that is not
    /// regular (a FIFO would block the store) is corrupt_data, never followed or opened.
    static std::optional<std::string> read(const open_directory& dir, std::string_view leaf);
    static bool exists(const open_directory& dir, std::string_view leaf);
    /// The names in the directory (no "." or ".."), read through its descriptor.
    static std::vector<std::string> list(const open_directory& dir);

    /// "<target>.<16 hex digits>.tmp": the only temp files the store makes, so the only ones it
    /// ever removes.
    static bool is_temp_name(std::string_view leaf, std::string_view* target = nullptr);

private:
    void step(write_step what, const open_directory& dir, std::string_view leaf) const {
        if (hook_) hook_(what, dir.file(leaf));
    }
    fault_hook hook_;
};

}  // namespace durable::xml
