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

namespace durable::xml {

using fault_hook = std::function<void(std::string_view step, const std::filesystem::path& file)>;

class durable_files {
public:
    explicit durable_files(fault_hook hook) : hook_(std::move(hook)) {}

    /// Writes `content` to `temp`, fsyncs it, renames it over `target` and fsyncs the directory.
    void replace(const std::filesystem::path& target, std::string_view content) const;
    /// Writes `temp` (created or truncated) without syncing it; removes it on failure.
    void write(const std::filesystem::path& temp, std::string_view content) const;
    /// fsyncs an existing file.
    void sync(const std::filesystem::path& file) const;
    void rename(const std::filesystem::path& from, const std::filesystem::path& to) const;
    /// Removes `file` if present (no error when it is already gone).
    void remove(const std::filesystem::path& file) const;
    void sync_directory(const std::filesystem::path& directory) const;

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
