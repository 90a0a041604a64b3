#include "xml_record_store.hpp"

#include "xml_format.hpp"

#include <durable/xml_instance_store.hpp>

#include <pugixml.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace durable::xml {
namespace fs = std::filesystem;
using detail::record_error;

namespace {

constexpr const char* subdirectories[] = {"owners", "instances", "keys"};

[[noreturn]] void unavailable(const std::string& what) { throw record_error(errc::store_unavailable, what); }

/// Reads and parses one record file; nullopt when it does not exist.
template <class Parse>
auto read_record(const fs::path& file, Parse parse) -> std::optional<decltype(parse(std::string_view{}, std::string{}))> {
    auto text = durable_files::read(file);
    if (!text) return std::nullopt;
    return parse(*text, file.string());
}

std::optional<uuid> id_of(const fs::path& file) {
    if (file.extension() != ".xml") return std::nullopt;
    return parse_uuid(file.stem().string());
}

}  // namespace

class xml_record_store::held final : public guard {
public:
    explicit held(xml_record_store& s) : store_(s), lock_(s.mutex_) {
        while (::flock(s.lock_fd_, LOCK_EX) != 0) {
            if (errno != EINTR) unavailable("cannot lock " + (s.dir_ / "store.lock").string() + ": " + std::strerror(errno));
        }
        try {
            s.catch_up();
        } catch (...) {
            ::flock(s.lock_fd_, LOCK_UN);
            throw;
        }
    }
    ~held() override { ::flock(store_.lock_fd_, LOCK_UN); }

private:
    xml_record_store& store_;
    std::unique_lock<std::mutex> lock_;
};

xml_record_store::xml_record_store(fs::path directory, bool create_if_missing, fault_hook hook)
    : dir_(std::move(directory)), files_(std::move(hook)) {
    check_layout(create_if_missing);
    const auto lock_path = dir_ / "store.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) unavailable("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    // Recovery and clean-up happen under the lock, so they never touch a commit in progress
    // in another process.
    held lock(*this);
    remove_stray_temp_files();
}

xml_record_store::~xml_record_store() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

void xml_record_store::check_layout(bool create_if_missing) {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
        if (!create_if_missing) unavailable("the store directory " + dir_.string() + " does not exist");
        if (!fs::create_directory(dir_, ec) && ec)
            unavailable("cannot create the store directory " + dir_.string() + ": " + ec.message());
    }
    if (!fs::is_directory(dir_, ec)) unavailable(dir_.string() + " is not a directory");
    if (::access(dir_.c_str(), W_OK | X_OK) != 0)
        unavailable("the store directory " + dir_.string() + " is not writable: " + std::strerror(errno));

    const auto header = dir_ / "store.xml";
    if (auto text = durable_files::read(header)) {
        const int version = parse_store_header(*text, header.string());
        if (version != store_format_version)
            throw record_error(errc::unsupported_format, header.string() + ": format version " + std::to_string(version) +
                                                              " is not the one this build reads (" +
                                                              std::to_string(store_format_version) + ")");
    } else {
        files_.replace(header, render_store_header(store_format_version));
    }
    for (const char* sub : subdirectories) {
        if (!fs::create_directory(dir_ / sub, ec) && ec) unavailable("cannot create " + (dir_ / sub).string() + ": " + ec.message());
    }
}

std::unique_ptr<detail::record_store::guard> xml_record_store::lock_exclusive() { return std::make_unique<held>(*this); }

std::uint64_t xml_record_store::read_generation() const {
    std::uint64_t generation = 0;
    const auto n = ::pread(lock_fd_, &generation, sizeof generation, 0);
    return n == sizeof generation ? generation : 0;
}

void xml_record_store::write_generation(std::uint64_t generation) {
    // Not fsynced: the generation only tells other processes to refresh their index; after a
    // crash every process rebuilds its index when it opens the store.
    if (::pwrite(lock_fd_, &generation, sizeof generation, 0) != sizeof generation)
        unavailable("cannot update " + (dir_ / "store.lock").string() + ": " + std::strerror(errno));
    seen_generation_ = generation;
}

void xml_record_store::catch_up() {
    if (fs::exists(dir_ / "journal.xml")) replay_journal();
    if (!index_valid_ || read_generation() != seen_generation_) rebuild_index();
}

void xml_record_store::replay_journal() {
    const auto journal = dir_ / "journal.xml";
    auto text = durable_files::read(journal);
    if (!text) return;
    pugi::xml_document doc;
    if (!doc.load_buffer(text->data(), text->size()))
        throw record_error(errc::corrupt_data, journal.string() + ": the commit journal cannot be parsed");
    write_generation(read_generation() + 1);
    for (const auto& op : doc.document_element().children()) {
        const fs::path target = dir_ / op.attribute("target").value();
        if (std::string_view(op.name()) == "replace") {
            const fs::path temp = dir_ / op.attribute("temp").value();
            if (fs::exists(temp)) files_.rename(temp, target);
        } else {
            files_.remove(target);
        }
    }
    for (const char* sub : subdirectories) files_.sync_directory(dir_ / sub);
    files_.remove(journal);
    files_.sync_directory(dir_);
    index_valid_ = false;
}

void xml_record_store::remove_stray_temp_files() {
    for (const auto& sub : {fs::path{}, fs::path{"owners"}, fs::path{"instances"}, fs::path{"keys"}}) {
        for (const auto& entry : fs::directory_iterator(dir_ / sub))
            if (entry.is_regular_file() && durable_files::is_temp(entry.path())) files_.remove(entry.path());
    }
}

void xml_record_store::rebuild_index() {
    index_.clear();
    index_valid_ = false;
    // A damaged file is left out of the index, so every other instance keeps working; reading
    // that instance or key directly reports the damage with the file's name.
    for (const auto& entry : fs::directory_iterator(dir_ / "instances")) {
        const auto id = id_of(entry.path());
        if (!id) continue;
        try {
            if (auto record = read_record(entry.path(), parse_instance)) index_.update_instance(*id, &*record);
        } catch (const record_error&) {
        }
    }
    for (const auto& entry : fs::directory_iterator(dir_ / "keys")) {
        const auto id = id_of(entry.path());
        if (!id) continue;
        try {
            if (auto record = read_record(entry.path(), parse_key)) index_.update_key(*id, &*record);
        } catch (const record_error&) {
        }
    }
    seen_generation_ = read_generation();
    index_valid_ = true;
}

std::optional<detail::owner_record> xml_record_store::find_owner(const uuid& id) {
    return read_record(owner_file(id), parse_owner);
}

std::vector<detail::owner_record> xml_record_store::all_owners() {
    std::vector<detail::owner_record> owners;
    for (const auto& entry : fs::directory_iterator(dir_ / "owners")) {
        if (!id_of(entry.path())) continue;
        if (auto owner = read_record(entry.path(), parse_owner)) owners.push_back(std::move(*owner));
    }
    return owners;
}

std::optional<detail::instance_record> xml_record_store::find_instance(const uuid& id) {
    return read_record(instance_file(id), parse_instance);
}

std::vector<uuid> xml_record_store::instances_locked_by(const uuid& owner) { return index_.instances_locked_by(owner); }

std::optional<detail::key_record> xml_record_store::find_key(const uuid& id) { return read_record(key_file(id), parse_key); }

std::vector<detail::key_record> xml_record_store::keys_of(const uuid& instance) {
    std::vector<detail::key_record> keys;
    for (const auto& id : index_.keys_of(instance))
        if (auto key = find_key(id)) keys.push_back(std::move(*key));
    return keys;
}

std::optional<uuid> xml_record_store::first_runnable(timestamp due_by, const detail::runnable_filter& filter) {
    return index_.first_runnable(due_by, filter);
}

std::optional<timestamp> xml_record_store::earliest_runnable(const detail::runnable_filter& filter) {
    return index_.earliest_runnable(filter);
}

std::vector<std::pair<name, std::int64_t>> xml_record_store::due_runnable_by_host_type(timestamp now) {
    return index_.due_runnable_by_host_type(now);
}

void xml_record_store::commit(const detail::change_set& changes) {
    struct operation {
        fs::path target;
        std::optional<std::string> content;  // nullopt: remove
    };
    std::vector<operation> ops;
    // Render everything before touching a file: a rendering failure then changes nothing.
    for (const auto& [id, r] : changes.owners) ops.push_back({owner_file(id), r ? std::optional(render_owner(*r)) : std::nullopt});
    for (const auto& [id, r] : changes.instances)
        ops.push_back({instance_file(id), r ? std::optional(render_instance(*r)) : std::nullopt});
    for (const auto& [id, r] : changes.keys) ops.push_back({key_file(id), r ? std::optional(render_key(*r)) : std::nullopt});
    if (ops.empty()) return;

    // Other processes refresh their index on their next command; if this commit fails half
    // way, so does this process.
    write_generation(read_generation() + 1);
    index_valid_ = false;

    if (ops.size() == 1) {
        // One file: a rename is atomic on its own.
        if (ops[0].content)
            files_.replace(ops[0].target, *ops[0].content);
        else {
            files_.remove(ops[0].target);
            files_.sync_directory(ops[0].target.parent_path());
        }
    } else {
        // Several files: synced temp files, then a redo journal naming every rename and
        // removal; once the journal is durable the commit is decided, and a crash from here
        // on is finished by replay_journal().
        pugi::xml_document journal;
        auto root = journal.append_child("journal");
        std::vector<std::pair<fs::path, fs::path>> renames;
        try {
            for (const auto& op : ops) {
                const auto relative = fs::relative(op.target, dir_);
                if (op.content) {
                    const auto temp = durable_files::temp_for(op.target);
                    files_.write_synced(temp, *op.content);
                    renames.emplace_back(temp, op.target);
                    auto node = root.append_child("replace");
                    node.append_attribute("temp") = fs::relative(temp, dir_).c_str();
                    node.append_attribute("target") = relative.c_str();
                } else {
                    root.append_child("remove").append_attribute("target") = relative.c_str();
                }
            }
            struct string_writer final : pugi::xml_writer {
                std::string out;
                void write(const void* data, std::size_t size) override { out.append(static_cast<const char*>(data), size); }
            } text;
            journal.save(text);
            files_.replace(dir_ / "journal.xml", text.out);
        } catch (...) {
            for (const auto& [temp, target] : renames) ::unlink(temp.c_str());
            throw;
        }
        try {
            replay_journal();
        } catch (const record_error& e) {
            // The journal is durable: the commit is decided and the next command (in any
            // process) finishes it. Say so rather than report a plain failure.
            throw record_error(errc::commit_in_doubt, std::string(e.what()) +
                                                          " (the commit is journalled and will be completed by the next command)");
        }
    }

    for (const auto& [id, r] : changes.instances) index_.update_instance(id, r ? &*r : nullptr);
    for (const auto& [id, k] : changes.keys) index_.update_key(id, k ? &*k : nullptr);
    index_valid_ = true;
}

}  // namespace durable::xml
