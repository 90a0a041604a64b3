#include "commit_log.hpp"

#include <durable/extension/record_store.hpp>

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace durable::xml {
namespace {

constexpr char magic[4] = {'D', 'L', 'O', 'G'};
constexpr std::uint32_t layout_version = 1;
constexpr std::uint64_t header_bytes = 32;
constexpr std::uint64_t change_bytes = 1 + 16;
constexpr std::uint64_t entry_head_bytes = 8 + 4;
// Whatever capacity a process was given, a header claiming more than this is damage.
constexpr std::uint64_t largest_sane_log = std::uint64_t{256} << 20;

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

template <class T>
T get(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

commit_log::commit_log(int fd, std::filesystem::path path, std::uint64_t capacity_bytes)
    : fd_(fd), path_(std::move(path)), capacity_(capacity_bytes) {}

std::optional<commit_log::header> commit_log::read_header() const {
    std::uint8_t raw[header_bytes];
    const auto n = ::pread(fd_, raw, sizeof raw, 0);
    if (n < 0)
        throw extension::record_error(errc::store_unavailable, "cannot read " + path_.string() + ": " + std::strerror(errno));
    if (static_cast<std::uint64_t>(n) != header_bytes || std::memcmp(raw, magic, sizeof magic) != 0 ||
        get<std::uint32_t>(raw + 4) != layout_version)
        return std::nullopt;
    header h{get<std::uint64_t>(raw + 8), get<std::uint64_t>(raw + 16), get<std::uint64_t>(raw + 24)};
    if (h.entry_bytes > largest_sane_log) return std::nullopt;
    return h;
}

void commit_log::write_at(std::uint64_t offset, const std::vector<std::uint8_t>& bytes) {
    const auto n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 || static_cast<std::size_t>(n) != bytes.size())
        throw extension::record_error(errc::store_unavailable,
                                   "cannot update " + path_.string() + ": " + (n < 0 ? std::strerror(errno) : "short write"));
}

void commit_log::write_header(const header& h) {
    std::vector<std::uint8_t> raw(magic, magic + sizeof magic);
    put(raw, layout_version);
    put(raw, h.generation);
    put(raw, h.first_generation);
    put(raw, h.entry_bytes);
    // One write of the whole header: a reader under the flock never sees half of it.
    write_at(0, raw);
}

void commit_log::reset_position() {
    auto h = read_header();
    if (!h) {
        h = header{1, 2, 0};  // an empty log, starting after generation 1
        write_header(*h);
    }
    seen_generation_ = h->generation;
    seen_first_ = h->first_generation;
    seen_bytes_ = h->entry_bytes;
}

bool commit_log::others_committed() const {
    const auto h = read_header();
    return !h || h->generation != seen_generation_;
}

void commit_log::append(const std::vector<record_change>& changes) {
    // The caller holds the flock and has caught up, so the header is the one it last saw.
    header h{seen_generation_ + 1, seen_first_, seen_bytes_};
    std::vector<std::uint8_t> entry;
    entry.reserve(entry_head_bytes + change_bytes * changes.size());
    put(entry, h.generation);
    put(entry, static_cast<std::uint32_t>(changes.size()));
    for (const auto& c : changes) {
        entry.push_back(static_cast<std::uint8_t>(c.kind));
        entry.insert(entry.end(), c.id.begin(), c.id.end());
    }
    if (h.entry_bytes == 0 || h.entry_bytes + entry.size() > capacity_) {
        // Start over: a process that has not read the old entries yet rebuilds from the files.
        h.first_generation = h.generation;
        h.entry_bytes = 0;
    }
    if (entry.size() > capacity_) {
        // Too big to log: an empty log that starts after it makes every other process rebuild.
        h.first_generation = h.generation + 1;
    } else {
        write_at(header_bytes + h.entry_bytes, entry);
        h.entry_bytes += entry.size();
    }
    write_header(h);
    seen_generation_ = h.generation;
    seen_first_ = h.first_generation;
    seen_bytes_ = h.entry_bytes;
}

std::optional<std::vector<record_change>> commit_log::read_new() {
    const auto h = read_header();
    if (!h) return std::nullopt;
    std::vector<record_change> changes;
    if (h->generation == seen_generation_) return changes;

    std::uint64_t from = 0;
    std::uint64_t expected = h->first_generation;
    if (h->first_generation == seen_first_ && seen_bytes_ <= h->entry_bytes) {
        from = seen_bytes_;  // the same log as last time: read on from where this process stopped
        expected = seen_generation_ + 1;
    } else if (seen_generation_ + 1 < h->first_generation) {
        return std::nullopt;  // reset since: the commits in between are no longer listed
    }

    std::vector<std::uint8_t> raw(h->entry_bytes - from);
    if (!raw.empty()) {
        const auto n = ::pread(fd_, raw.data(), raw.size(), static_cast<off_t>(header_bytes + from));
        if (n < 0 || static_cast<std::size_t>(n) != raw.size()) return std::nullopt;
    }
    std::size_t at = 0;
    std::uint64_t last = expected - 1;
    while (at < raw.size()) {
        if (raw.size() - at < entry_head_bytes) return std::nullopt;
        const auto generation = get<std::uint64_t>(raw.data() + at);
        const auto count = get<std::uint32_t>(raw.data() + at + 8);
        at += entry_head_bytes;
        if (generation != last + 1 || (raw.size() - at) / change_bytes < count) return std::nullopt;
        last = generation;
        for (std::uint32_t i = 0; i < count; ++i, at += change_bytes) {
            const auto kind = raw[at];
            if (kind < 1 || kind > 3) return std::nullopt;
            if (generation <= seen_generation_) continue;  // a reset log starts before this process's position
            record_change c{static_cast<record_kind>(kind), {}};
            std::memcpy(c.id.data, raw.data() + at + 1, 16);
            changes.push_back(c);
        }
    }
    // The entries must end at the generation the header names, or the log is not what it says.
    if (last != h->generation) return std::nullopt;
    seen_generation_ = h->generation;
    seen_first_ = h->first_generation;
    seen_bytes_ = h->entry_bytes;
    return changes;
}

}  // namespace durable::xml
