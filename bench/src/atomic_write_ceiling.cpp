#include "atomic_write_ceiling.hpp"

#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace durable::bench {
namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("ceiling: " + what);
}

}  // namespace

measurement measure_atomic_write_ceiling(const std::filesystem::path& directory, const std::string& content, int threads,
                                         double seconds) {
    std::filesystem::create_directories(directory);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    check(dir_fd >= 0, "open directory");
    auto result = run_timed(threads, seconds, [&](int thread, std::size_t) {
        const auto start = clock_type::now();
        const auto target = directory / ("file-" + std::to_string(thread) + ".xml");
        const auto temp = directory / ("file-" + std::to_string(thread) + ".xml.tmp");
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        check(fd >= 0, "open temp");
        check(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()), "write");
        check(::fsync(fd) == 0, "fsync");
        ::close(fd);
        check(::rename(temp.c_str(), target.c_str()) == 0, "rename");
        check(::fsync(dir_fd) == 0, "fsync directory");
        return clock_type::now() - start;
    });
    ::close(dir_fd);
    return result;
}

}  // namespace durable::bench
