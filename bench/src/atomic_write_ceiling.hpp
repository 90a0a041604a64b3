#pragma once
// The ceiling a file store cannot beat: the raw rate of the same atomic replace (temp file,
// write, fsync, rename, fsync of the directory) of the same bytes, on the same disk, at the same
// concurrency, with no store logic at all. The very bytes, not just as many: a virtual disk may
// write a run of one character faster than base64 of random data (30% faster at 86 KB here).

#include "measure.hpp"

#include <filesystem>
#include <string>

namespace durable::bench {

measurement measure_atomic_write_ceiling(const std::filesystem::path& directory, const std::string& content, int threads,
                                         double seconds);

}  // namespace durable::bench
