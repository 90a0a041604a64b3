#include "durable_files.hpp"

#include <durable/extension/record_store.hpp>

#include <cerrno>
#include <dirent.h>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace durable::xml {
namespace {

[[noreturn]] void io_failure(const std::string& what, const std::filesystem::path& file, int err) {
    throw extension::record_error(errc::store_unavailable, what + " " + file.string() + ": " + std::strerror(err));
}

[[noreturn]] void not_a_record_file(const std::filesystem::path& file, const char* what) {
    throw extension::record_error(errc::corrupt_data, file.string() + " is " + what +
                                                       "; the store keeps only regular files in its directories and "
                                                       "never follows links out of them");
}

constexpr std::string_view temp_suffix = ".tmp";
constexpr std::size_t temp_random_digits = 16;

/// 16 hex digits no other process can predict, so nobody can plant a link at a temp name
/// before the store creates it (O_EXCL refuses it anyway, which would only make the write fail).
std::string random_hex() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::uint64_t v = rng();
    std::string out(temp_random_digits, '0');
    for (auto& c : out) {
        c = digits[v & 0xf];
        v >>= 4;
    }
    return out;
}

bool is_hex(std::string_view s) {
    for (const char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

void unique_fd::reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

open_directory durable_files::open_root(const std::filesystem::path& directory) {
    unique_fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) io_failure("cannot open directory", directory, errno);
    return {directory, std::move(fd)};
}

open_directory durable_files::open_subdirectory(const open_directory& root, std::string_view leaf) {
    const auto path = root.file(leaf);
    unique_fd fd(::openat(root.fd.get(), std::string(leaf).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            throw extension::record_error(errc::store_unavailable,
                                       path.string() + " is not a directory of the store (a symbolic link or a file); "
                                                       "the store keeps its records only in real subdirectories");
        io_failure("cannot open directory", path, errno);
    }
    return {path, std::move(fd)};
}

bool durable_files::is_temp_name(std::string_view leaf, std::string_view* target) {
    // <target>.<16 hex>.tmp
    constexpr std::size_t tail = 1 + temp_random_digits + temp_suffix.size();
    if (leaf.size() <= tail || !leaf.ends_with(temp_suffix)) return false;
    const auto dot = leaf.size() - tail;
    if (leaf[dot] != '.' || !is_hex(leaf.substr(dot + 1, temp_random_digits))) return false;
    if (target != nullptr) *target = leaf.substr(0, dot);
    return true;
}

temp_file durable_files::write_temp(const open_directory& dir, std::string_view target_leaf, std::string_view content) const {
    temp_file temp;
    int fd = -1;
    for (int attempt = 0; fd < 0; ++attempt) {
        temp.leaf = std::string(target_leaf) + "." + random_hex() + std::string(temp_suffix);
        step(write_step::write, dir, temp.leaf);
        fd = ::openat(dir.fd.get(), temp.leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != EEXIST || attempt == 8)) io_failure("cannot create", dir.file(temp.leaf), errno);
    }
    temp.fd = unique_fd(fd);
    try {
        std::size_t written = 0;
        while (written < content.size()) {
            const auto n = ::write(temp.fd.get(), content.data() + written, content.size() - written);
            if (n < 0) {
                if (errno == EINTR) continue;
                io_failure("cannot write", dir.file(temp.leaf), errno);
            }
            written += static_cast<std::size_t>(n);
        }
    } catch (...) {
        discard(dir, temp.leaf);
        throw;
    }
    return temp;
}

void durable_files::sync(const open_directory& dir, const temp_file& file) const {
    step(write_step::fsync, dir, file.leaf);
    if (::fsync(file.fd.get()) != 0) io_failure("cannot fsync", dir.file(file.leaf), errno);
}

void durable_files::rename(const open_directory& dir, std::string_view from_leaf, std::string_view to_leaf) const {
    step(write_step::rename, dir, to_leaf);
    // renameat replaces a link at the target rather than following it.
    if (::renameat(dir.fd.get(), std::string(from_leaf).c_str(), dir.fd.get(), std::string(to_leaf).c_str()) != 0)
        io_failure("cannot rename " + dir.file(from_leaf).string() + " to", dir.file(to_leaf), errno);
}

void durable_files::remove(const open_directory& dir, std::string_view leaf) const {
    step(write_step::remove, dir, leaf);
    if (::unlinkat(dir.fd.get(), std::string(leaf).c_str(), 0) != 0 && errno != ENOENT)
        io_failure("cannot remove", dir.file(leaf), errno);
}

void durable_files::discard(const open_directory& dir, std::string_view leaf) noexcept {
    ::unlinkat(dir.fd.get(), std::string(leaf).c_str(), 0);
}

void durable_files::sync_directory(const open_directory& dir) const {
    step(write_step::sync_directory, dir, {});
    if (::fsync(dir.fd.get()) != 0) io_failure("cannot fsync directory", dir.path, errno);
}

void durable_files::replace(const open_directory& dir, std::string_view leaf, std::string_view content) const {
    const auto temp = write_temp(dir, leaf, content);
    try {
        sync(dir, temp);
        rename(dir, temp.leaf, leaf);
    } catch (...) {
        discard(dir, temp.leaf);
        throw;
    }
    sync_directory(dir);
}

std::optional<std::string> durable_files::read(const open_directory& dir, std::string_view leaf) {
    const auto path = dir.file(leaf);
    // O_NONBLOCK: opening a FIFO planted under a record's name must not hang the store; it
    // changes nothing for the regular files the store reads.
    unique_fd fd(::openat(dir.fd.get(), std::string(leaf).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        if (errno == ELOOP) not_a_record_file(path, "a symbolic link");
        io_failure("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) io_failure("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode)) not_a_record_file(path, "not a regular file");
    std::string content;
    content.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[65536];
    for (;;) {
        const auto n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            io_failure("cannot read", path, errno);
        }
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
    }
    return content;
}

bool durable_files::exists(const open_directory& dir, std::string_view leaf) {
    struct stat st {};
    return ::fstatat(dir.fd.get(), std::string(leaf).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::vector<std::string> durable_files::list(const open_directory& dir) {
    // fdopendir takes the descriptor over, so it gets a duplicate of its own.
    const int fd = ::fcntl(dir.fd.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) io_failure("cannot list", dir.path, errno);
    DIR* stream = ::fdopendir(fd);
    if (stream == nullptr) {
        const int err = errno;
        ::close(fd);
        io_failure("cannot list", dir.path, err);
    }
    ::rewinddir(stream);  // the duplicate shares its position with the kept descriptor
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(stream)) {
        const std::string_view leaf = entry->d_name;
        if (leaf != "." && leaf != "..") names.emplace_back(leaf);
    }
    const int err = errno;
    ::closedir(stream);
    if (err != 0) io_failure("cannot list", dir.path, err);
    return names;
}

}  // namespace durable::xml
