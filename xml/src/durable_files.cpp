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

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

constexpr std::string_view temp_suffix = ".tmp";

}  // namespace

std::filesystem::path durable_files::temp_for(const std::filesystem::path& target) {
    static std::atomic<unsigned long> counter{0};
    auto name = target.filename().string();
    name += "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + std::string(temp_suffix);
    return target.parent_path() / name;
}

bool durable_files::is_temp(const std::filesystem::path& file) {
    const auto name = file.filename().string();
    return name.size() > temp_suffix.size() && name.ends_with(temp_suffix);
}

void durable_files::write(const std::filesystem::path& temp, std::string_view content) const {
    step("write", temp);
    fd_guard fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
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
        if (::close(fd.release()) != 0) io_failure("cannot close", temp, errno);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
}

void durable_files::sync(const std::filesystem::path& file) const {
    step("fsync", file);
    fd_guard fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) io_failure("cannot open", file, errno);
    if (::fsync(fd.get()) != 0) io_failure("cannot fsync", file, errno);
}

void durable_files::rename(const std::filesystem::path& from, const std::filesystem::path& to) const {
    step("rename", to);
    if (::rename(from.c_str(), to.c_str()) != 0) io_failure("cannot rename " + from.string() + " to", to, errno);
}

void durable_files::remove(const std::filesystem::path& file) const {
    step("remove", file);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) io_failure("cannot remove", file, errno);
}

void durable_files::sync_directory(const std::filesystem::path& directory) const {
    step("sync-directory", directory);
    fd_guard fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) io_failure("cannot open directory", directory, errno);
    if (::fsync(fd.get()) != 0) io_failure("cannot fsync directory", directory, errno);
}

void durable_files::replace(const std::filesystem::path& target, std::string_view content) const {
    const auto temp = temp_for(target);
    write(temp, content);
    try {
        sync(temp);
        rename(temp, target);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    sync_directory(target.parent_path());
}

std::optional<std::string> durable_files::read(const std::filesystem::path& file) {
    fd_guard fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
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
