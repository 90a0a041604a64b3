#include "durable_files.hpp"

#include <durable/detail/record_store.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace durable::xml {
namespace {

[[noreturn]] void io_failure(const std::string& what, const std::filesystem::path& file, int err) {
    throw detail::record_error(errc::store_unavailable, what + " " + file.string() + ": " + std::strerror(err));
}

constexpr std::string_view temp_suffix = ".tmp";

}  // namespace

void unique_fd::reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

std::filesystem::path durable_files::temp_for(const std::filesystem::path& target) {
    static std::atomic<unsigned long> counter{0};
    static const std::string pid = std::to_string(::getpid());
    // Beside the target, under its name plus a suffix; built as a string, which is cheaper.
    return target.native() + "." + pid + "." + std::to_string(counter++) + std::string(temp_suffix);
}

bool durable_files::is_temp(const std::filesystem::path& file) {
    const auto name = file.filename().string();
    return name.size() > temp_suffix.size() && name.ends_with(temp_suffix);
}

unique_fd durable_files::write(const std::filesystem::path& temp, std::string_view content) const {
    step("write", temp);
    unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) io_failure("cannot create", temp, errno);
    try {
        std::size_t written = 0;
        while (written < content.size()) {
            const auto n = ::write(fd.get(), content.data() + written, content.size() - written);
            if (n < 0) {
                if (errno == EINTR) continue;
                io_failure("cannot write", temp, errno);
            }
            written += static_cast<std::size_t>(n);
        }
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    return fd;
}

void durable_files::sync(const unique_fd& file, const std::filesystem::path& path) const {
    step("fsync", path);
    if (::fsync(file.get()) != 0) io_failure("cannot fsync", path, errno);
}

void durable_files::rename(const std::filesystem::path& from, const std::filesystem::path& to) const {
    step("rename", to);
    if (::rename(from.c_str(), to.c_str()) != 0) io_failure("cannot rename " + from.string() + " to", to, errno);
}

void durable_files::remove(const std::filesystem::path& file) const {
    step("remove", file);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) io_failure("cannot remove", file, errno);
}

open_directory durable_files::open_dir(const std::filesystem::path& directory) {
    unique_fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) io_failure("cannot open directory", directory, errno);
    return {directory, std::move(fd)};
}

void durable_files::sync_directory(const open_directory& directory) const {
    step("sync-directory", directory.path);
    if (::fsync(directory.fd.get()) != 0) io_failure("cannot fsync directory", directory.path, errno);
}

void durable_files::replace(const open_directory& directory, const std::filesystem::path& target,
                            std::string_view content) const {
    const auto temp = temp_for(target);
    const auto fd = write(temp, content);
    try {
        sync(fd, temp);
        rename(temp, target);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    sync_directory(directory);
}

std::optional<std::string> durable_files::read(const std::filesystem::path& file) {
    unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        io_failure("cannot open", file, errno);
    }
    std::string content;
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            io_failure("cannot read", file, errno);
        }
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
    }
    return content;
}

}  // namespace durable::xml
