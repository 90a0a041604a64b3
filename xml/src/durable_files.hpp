#pragma once
// Crash-safe file primitives: atomic replace (temp file, fsync, rename, fsync of the
// directory), durable removal, and whole-file reads. Failures throw detail::record_error
// (store_unavailable) naming the file and the errno text; a failed replace removes its temp
// file and leaves the target as it was.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace durable::xml {

using fault_hook = std::function<void(std::string_view step, const std::filesystem::path& file)>;

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

/// A directory kept open, so that syncing it costs one fsync rather than open, fsync, close.
struct open_directory {
    std::filesystem::path path;
    unique_fd fd;
};

class durable_files {
public:
    explicit durable_files(fault_hook hook) : hook_(std::move(hook)) {}

    /// Writes `content` to a temp file, fsyncs it, renames it over `target` and fsyncs
    /// `directory` (the target's).
    void replace(const open_directory& directory, const std::filesystem::path& target, std::string_view content) const;
    /// Writes `temp` (created or truncated) without syncing it, and keeps it open for sync();
    /// removes it on failure.
    unique_fd write(const std::filesystem::path& temp, std::string_view content) const;
    /// fsyncs a file written by write().
    void sync(const unique_fd& file, const std::filesystem::path& path) const;
    void rename(const std::filesystem::path& from, const std::filesystem::path& to) const;
    /// Removes `file` if present (no error when it is already gone).
    void remove(const std::filesystem::path& file) const;
    void sync_directory(const open_directory& directory) const;
    static open_directory open_dir(const std::filesystem::path& directory);

    /// The whole file, or nullopt when it does not exist.
    static std::optional<std::string> read(const std::filesystem::path& file);

    /// A temp name beside `target`, unique to this process and call.
    static std::filesystem::path temp_for(const std::filesystem::path& target);
    static bool is_temp(const std::filesystem::path& file);

private:
    void step(std::string_view name, const std::filesystem::path& file) const {
        if (hook_) hook_(name, file);
    }
    fault_hook hook_;
};

}  // namespace durable::xml
