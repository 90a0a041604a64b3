#pragma once
// xml_instance_store: the embedded default. One directory of human-readable XML files, no
// server; the same command semantics and result codes as every other store.
//
//   store.xml                format version
//   store.lock               file lock serialising commands across processes
//   owners/<id>.xml          lease expiry, host type, identities, metadata
//   instances/<id>.xml       version, lock owner, flags, timer, runnable time, data, metadata
//   keys/<id>.xml            instance, state, metadata
//   journal.<pid>.<n>.xml    present only while a multi-file commit is being applied
//
// Every file is replaced atomically (temp file, fsync, rename, fsync of the directory); a
// command that changes several files first writes a redo journal, so a crash leaves all of
// its changes or none. Commands decide one at a time; rendering and fsyncs run after that,
// overlapping the next command, which waits only if it reads a file still being made durable.
// Several processes may open one directory; records are cached in memory and dropped whenever
// another process has committed, so files must not be edited while the store is open.
//
// store_options::instance_encoding does not apply: values are written as readable XML.
//
// File format (version 2, XML namespace urn:durable:xml-store:2; a store or file of another
// version is refused with unsupported_format). Every file is well-formed XML 1.0 in UTF-8, and
// every value the API accepts reads back exactly:
//   - a string is written as it is when it is valid UTF-8 made only of XML 1.0 characters;
//     otherwise (NUL and other control characters, invalid UTF-8, U+FFFE, U+FFFF) as the
//     base64 of its bytes: attribute `foo-base64="..."` in place of `foo="..."`, and
//     `encoding="base64"` on a string value's <property>;
//   - a name is two attributes, never "{ns}local": `foo` (local part) and `foo-ns` (namespace,
//     absent when empty), e.g. <property name="step" name-ns="urn:x" ...>, host-type and
//     host-type-ns, and value / value-ns for values of kind name;
//   - numbers do not depend on the locale; a double is its shortest round-trip text, and a NaN
//     also carries `bits` (its 64-bit pattern in hex), which is what is read;
//   - times are integer microseconds since 1970; the `*-utc` attributes are only for people;
//   - an instance lists the ids of its keys, ascending: <key id="..."/>;
//   - an instance's promoted values (store_options::promote) are one
//     <promoted promotion="..."> per promotion that has values, holding <property> elements
//     like a bag. Optional, so format 2 is unchanged: files without it read as before, and an
//     earlier build passes over it (see xml_format.cpp).

#include <durable/instance_store.hpp>

#include <chrono>
#include <filesystem>
#include <memory>

namespace durable::xml {

inline constexpr int store_format_version = 2;

struct xml_store_settings {
    /// Create the store when the directory does not exist (not its parents) or is empty. A
    /// directory that holds anything else is never made a store: records without store.xml are
    /// reported as damage, other contents as not a store.
    bool create_if_missing = true;
    /// How long a command waits for the directory's lock (held by another command of this
    /// process, or by another process) before it fails with store_unavailable naming the lock
    /// and its holder. Waiting also ends at once when the command is cancelled.
    std::chrono::milliseconds lock_timeout{30'000};
    /// Threads that run blocking file I/O off the io_context.
    unsigned io_threads = 2;
    /// Records kept in memory, per kind (owners; instances without their data; keys), the least
    /// recently used forgotten first; 0 turns the cache off. A save then neither reads nor parses
    /// the file it replaces. The cache is dropped whenever another process has committed, so it
    /// never shows stale records; files edited by hand are seen only after the store reopens.
    std::size_t cached_records = 10'000;
};

namespace testing {
struct seam;  // fault injection for the store's own tests (not installed)
}

class xml_instance_store final : public instance_store {
public:
    /// Opens (or creates) the store in `directory`. Throws store_error: store_unavailable when
    /// the directory is missing or not writable, unsupported_format for a newer format,
    /// corrupt_data when store.xml cannot be read. Replays an interrupted commit and removes
    /// stray temp files.
    xml_instance_store(asio::any_io_executor executor, std::filesystem::path directory, store_options options = {},
                       xml_store_settings settings = {});

    const std::filesystem::path& directory() const noexcept { return directory_; }

private:
    class backend;
    friend struct testing::seam;
    xml_instance_store(asio::any_io_executor executor, const store_options& options, std::shared_ptr<backend> store_backend);

    std::filesystem::path directory_;
};

}  // namespace durable::xml
