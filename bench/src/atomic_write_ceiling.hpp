#pragma once
// The ceiling a file store cannot beat: the raw rate of the same atomic replace (temp file,
// write, fsync, rename, fsync of the directory) of the same number of bytes, on the same disk,
// at the same concurrency, with no store logic at all.

#include "measure.hpp"

#include <filesystem>

namespace durable::bench {

measurement measure_atomic_write_ceiling(const std::filesystem::path& directory, std::size_t bytes, int threads,
                                         double seconds);

}  // namespace durable::bench
