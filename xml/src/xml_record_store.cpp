#include "xml_record_store.hpp"

#include "xml_format.hpp"
#include "xml_text_writer.hpp"

#include <durable/xml_instance_store.hpp>

#include <pugixml.hpp>

#include <algorithm>
#include <atomic>
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

/// Parses one record file's text; nullopt when the file does not exist.
template <class Parse>
auto parse_record(const std::optional<std::string>& text, const fs::path& file, Parse parse)
    -> std::optional<decltype(parse(std::string_view{}, std::string{}))> {
    if (!text) return std::nullopt;
    return parse(*text, file.string());
}

std::optional<uuid> id_of(const fs::path& file) {
    if (file.extension() != ".xml") return std::nullopt;
    return parse_uuid(file.stem().string());
}

}  // namespace

/// Journals are named per process and commit, since commits of one process are made durable
/// concurrently; any journal found while taking the flock belongs to a commit a crash cut short.
constexpr std::string_view journal_prefix = "journal.";

bool is_journal(const fs::path& file) {
    const auto name = file.filename().string();
    return name.starts_with(journal_prefix) && name.ends_with(".xml");
}

/// A commit decided under the engine lock, made durable after it: its records are rendered and
/// written to temp files, synced, and renamed into place (through a journal when there are
/// several).
struct xml_record_store::pending_commit {
    detail::change_set changes;
    /// One per change, in for_each_change() order: listed in phase 1, temp files added in phase 2.
    struct operation {
        fs::path target;
        std::optional<fs::path> temp;  // nullopt: remove the target
        unique_fd temp_fd;             // kept open from write to fsync
    };
    std::vector<operation> operations;

    /// After a failure before the renames: the temp files must not outlive the commit.
    void discard_temp_files() const {
        for (const auto& op : operations)
            if (op.temp) ::unlink(op.temp->c_str());
    }
};

namespace {
/// Calls visit(id, change) for every change of a commit: owners, then instances, then keys.
/// Always this order, so phase 2 can pair each change with the operation phase 1 listed for it.
template <class ChangeSet, class Visit>
void for_each_change(ChangeSet& changes, Visit visit) {
    for (auto& [id, change] : changes.owners) visit(id, change);
    for (auto& [id, change] : changes.instances) visit(id, change);
    for (auto& [id, change] : changes.keys) visit(id, change);
}

/// The record type of a change (an optional record: nullopt erases).
template <class Change>
using record_of = typename std::remove_cvref_t<Change>::value_type;

std::string render(const detail::owner_record& r) { return render_owner(r); }
std::string render(const detail::instance_record& r) { return render_instance(r); }
std::string render(const detail::key_record& r) { return render_key(r); }
}  // namespace

template <class Record>
fs::path xml_record_store::file_of(const uuid& id) const {
    const std::string& prefix = std::is_same_v<Record, detail::owner_record>      ? owners_prefix_
                                : std::is_same_v<Record, detail::instance_record> ? instances_prefix_
                                                                                  : keys_prefix_;
    return prefix + to_string(id) + ".xml";
}

template <class Record>
lru_records<Record>& xml_record_store::cache_of() {
    if constexpr (std::is_same_v<Record, detail::owner_record>) return cache_.owners;
    else if constexpr (std::is_same_v<Record, detail::instance_record>) return cache_.instances;
    else return cache_.keys;
}

class xml_record_store::held final : public guard {
public:
    explicit held(xml_record_store& s) : store_(s), engine_lock_(s.engine_mutex_) {
        std::unique_lock state(s.state_mutex_);
        s.guard_active_ = true;
        try {
            if (!s.flock_held_) {
                // No commit of this process is in flight (the flock would be held), so taking
                // the flock means no commit is in flight anywhere.
                while (::flock(s.lock_fd_, LOCK_EX) != 0) {
                    if (errno != EINTR) unavailable("cannot lock " + (s.dir_ / "store.lock").string() + ": " + std::strerror(errno));
                }
                s.flock_held_ = true;
                state.unlock();
                s.catch_up_after_lock();
            } else if (!s.index_valid_ || s.replay_due_) {
                state.unlock();
                s.wait_for_all_commits();
                s.catch_up_after_lock();
            }
        } catch (...) {
            if (!state.owns_lock()) state.lock();
            s.guard_active_ = false;
            s.release_flock_if_idle();
            throw;
        }
    }
    ~held() override {
        std::scoped_lock state(store_.state_mutex_);
        store_.guard_active_ = false;
        store_.release_flock_if_idle();
    }

private:
    xml_record_store& store_;
    std::unique_lock<std::mutex> engine_lock_;
};

xml_record_store::xml_record_store(fs::path directory, bool create_if_missing, std::size_t cached_records, fault_hook hook)
    : dir_(std::move(directory)), files_(std::move(hook)), cache_(cached_records) {
    check_layout(create_if_missing);
    root_dir_ = durable_files::open_dir(dir_);
    owners_dir_ = durable_files::open_dir(dir_ / "owners");
    instances_dir_ = durable_files::open_dir(dir_ / "instances");
    keys_dir_ = durable_files::open_dir(dir_ / "keys");
    const auto lock_path = dir_ / "store.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) unavailable("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    // Recovery and clean-up happen under the flock, so they never touch another process's
    // commit in progress. Opening always replays journals: the generation that later lock
    // acquisitions go by is not fsynced, so after a power cut it proves nothing.
    held lock(*this);
    replay_journals();
    rebuild_index();
    remove_stray_temp_files();
}

xml_record_store::~xml_record_store() {
    wait_for_all_commits();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

const open_directory& xml_record_store::directory_of(const fs::path& file) const {
    const auto parent = file.parent_path();
    for (const auto* d : {&owners_dir_, &instances_dir_, &keys_dir_})
        if (d->path == parent) return *d;
    return root_dir_;
}

void xml_record_store::release_flock_if_idle() {
    if (flock_held_ && !guard_active_ && in_flight_commits_ == 0) {
        ::flock(lock_fd_, LOCK_UN);
        flock_held_ = false;
    }
}

void xml_record_store::wait_for_all_commits() {
    std::unique_lock state(state_mutex_);
    settled_.wait(state, [this] { return in_flight_commits_ == 0; });
}

template <class Record, class Parse>
std::optional<Record> xml_record_store::read_record(const uuid& id, Parse parse, bool cache_may_answer) {
    const auto file = file_of<Record>(id);
    {
        std::unique_lock state(state_mutex_);
        settled_.wait(state, [&] { return !in_flight_paths_.contains(file); });
        if (cache_may_answer)
            if (auto hit = cache_of<Record>().find(id)) return hit;
    }
    // Commands run one at a time under the engine lock, so nothing can start to change the
    // file between the wait above and this read.
    auto record = parse_record(durable_files::read(file), file, parse);
    if (record) {
        std::scoped_lock state(state_mutex_);
        cache_of<Record>().put(id, record_cache::cached_form(*record));
    }
    return record;
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
        files_.replace(durable_files::open_dir(dir_), header, render_store_header(store_format_version));
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

void xml_record_store::catch_up_after_lock() {
    // Every commit bumps the generation before it writes a journal, so an unchanged generation
    // means no other process committed, or crashed mid-commit, since this one last held the lock.
    const bool others_committed = read_generation() != seen_generation_;
    bool replay_due, valid;
    {
        std::scoped_lock state(state_mutex_);
        replay_due = std::exchange(replay_due_, false);
        valid = index_valid_;
    }
    try {
        if (others_committed || replay_due) replay_journals();
    } catch (...) {
        std::scoped_lock state(state_mutex_);
        replay_due_ = replay_due_ || replay_due;  // still due: try again before the next command
        throw;
    }
    if (!valid || others_committed || replay_due) rebuild_index();
}

void xml_record_store::replay_journals() {
    for (const auto& entry : fs::directory_iterator(dir_))
        if (entry.is_regular_file() && is_journal(entry.path())) replay_journal(entry.path());
}

void xml_record_store::replay_journal(const fs::path& journal) {
    auto text = durable_files::read(journal);
    if (!text) return;
    pugi::xml_document doc;
    if (!doc.load_buffer(text->data(), text->size()))
        throw record_error(errc::corrupt_data, journal.string() + ": the commit journal cannot be parsed");
    std::vector<journal_step> steps;
    for (const auto& op : doc.document_element().children()) {
        const std::string_view kind = op.name(), target = op.attribute("target").value(), temp = op.attribute("temp").value();
        if (target.empty() || (kind == "replace" && temp.empty()) || (kind != "replace" && kind != "remove"))
            throw record_error(errc::corrupt_data, journal.string() + ": the commit journal has a malformed <" + std::string(kind) + "> step");
        steps.push_back({dir_ / target, kind == "replace" ? std::optional(dir_ / temp) : std::nullopt});
    }
    write_generation(read_generation() + 1);
    apply_journal(journal, steps);
    std::scoped_lock state(state_mutex_);
    index_valid_ = false;  // the index never saw this commit
}

void xml_record_store::apply_journal(const fs::path& journal, const std::vector<journal_step>& steps) {
    for (const auto& step : steps) {
        if (step.temp) {
            if (fs::exists(*step.temp)) files_.rename(*step.temp, step.target);  // replay may find it done
        } else {
            files_.remove(step.target);
        }
    }
    for (const auto* sub : {&owners_dir_, &instances_dir_, &keys_dir_}) files_.sync_directory(*sub);
    files_.remove(journal);
    files_.sync_directory(root_dir_);
}

void xml_record_store::remove_stray_temp_files() {
    for (const auto& sub : {fs::path{}, fs::path{"owners"}, fs::path{"instances"}, fs::path{"keys"}}) {
        for (const auto& entry : fs::directory_iterator(dir_ / sub))
            if (entry.is_regular_file() && durable_files::is_temp(entry.path())) files_.remove(entry.path());
    }
}

void xml_record_store::rebuild_index() {
    index_.clear();
    // A damaged file is left out of the index, so every other instance keeps working; reading
    // that instance or key directly reports the damage with the file's name.
    for (const auto& entry : fs::directory_iterator(dir_ / "instances")) {
        const auto id = id_of(entry.path());
        if (!id) continue;
        try {
            // The index needs the control fields only.
            const auto control_only = [](std::string_view text, const std::string& name) { return parse_instance(text, name, false); };
            if (auto record = parse_record(durable_files::read(entry.path()), entry.path(), control_only))
                index_.update_instance(*id, &*record);
        } catch (const record_error&) {
        }
    }
    for (const auto& entry : fs::directory_iterator(dir_ / "keys")) {
        const auto id = id_of(entry.path());
        if (!id) continue;
        try {
            if (auto record = parse_record(durable_files::read(entry.path()), entry.path(), parse_key))
                index_.update_key(*id, &*record);
        } catch (const record_error&) {
        }
    }
    seen_generation_ = read_generation();
    std::scoped_lock state(state_mutex_);
    cache_.clear();  // whatever made the index stale may have changed the files too
    index_valid_ = true;
}

std::optional<detail::owner_record> xml_record_store::find_owner(const uuid& id) {
    return read_record<detail::owner_record>(id, parse_owner);
}

std::vector<detail::owner_record> xml_record_store::all_owners() {
    wait_for_all_commits();  // a listing must not see a directory in the middle of a commit
    std::vector<detail::owner_record> owners;
    for (const auto& entry : fs::directory_iterator(dir_ / "owners")) {
        if (!id_of(entry.path())) continue;
        if (auto owner = parse_record(durable_files::read(entry.path()), entry.path(), parse_owner))
            owners.push_back(std::move(*owner));
    }
    return owners;
}

std::optional<detail::instance_record> xml_record_store::find_instance(const uuid& id, bool with_data) {
    // The cache holds the control part only: enough when the caller replaces the data.
    return read_record<detail::instance_record>(
        id, [with_data](std::string_view text, const std::string& name) { return parse_instance(text, name, with_data); },
        !with_data);
}

std::vector<uuid> xml_record_store::instances_locked_by(const uuid& owner) { return index_.instances_locked_by(owner); }

std::optional<detail::key_record> xml_record_store::find_key(const uuid& id) {
    return read_record<detail::key_record>(id, parse_key);
}

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

detail::record_store::commit_completion xml_record_store::commit(detail::change_set changes) {
    // Phase 1, under the engine lock, is bookkeeping only: later commands see the commit in the
    // index and the cache at once, and wait for any of its files they read until it is durable.
    // Rendering and all file I/O are phase 2, so the commits of different instances render and
    // sync in parallel.
    auto pending = std::make_shared<pending_commit>();
    auto& ops = pending->operations;
    for_each_change(changes, [&](const uuid& id, const auto& change) {
        ops.push_back({file_of<record_of<decltype(change)>>(id), std::nullopt, {}});
    });
    if (ops.empty()) return {};

    // Other processes refresh their index on their next command. This process has held the
    // flock since it last read or wrote the generation, so the value it knows is current.
    write_generation(seen_generation_ + 1);
    for (const auto& [id, r] : changes.instances) index_.update_instance(id, r ? &*r : nullptr);
    for (const auto& [id, k] : changes.keys) index_.update_key(id, k ? &*k : nullptr);
    {
        std::unique_lock state(state_mutex_);
        // An earlier commit of the same file must land first; commands read before they write,
        // so this wait is normally over before it starts.
        settled_.wait(state, [&] {
            return std::none_of(ops.begin(), ops.end(), [&](const auto& op) { return in_flight_paths_.contains(op.target); });
        });
        for_each_change(changes, [&](const uuid& id, auto& change) {
            auto& cache = cache_of<record_of<decltype(change)>>();
            change ? cache.put(id, record_cache::cached_form(*change)) : cache.erase(id);
        });
        for (const auto& op : ops) in_flight_paths_.insert(op.target);
        ++in_flight_commits_;
    }
    pending->changes = std::move(changes);

    // Phase 2, after the engine lock is released.
    return [this, pending] {
        try {
            make_durable(*pending);
        } catch (...) {
            std::scoped_lock state(state_mutex_);
            index_valid_ = false;  // the index showed the commit: rebuild it from the files
            // A journal that is already durable must be finished before any other command
            // reads the files, or a later replay would write over that command's work.
            replay_due_ = true;
            // A command waiting for these files reads them from disk, not as the cache has them.
            for_each_change(pending->changes, [&](const uuid& id, const auto& change) {
                cache_of<record_of<decltype(change)>>().erase(id);
            });
            settle(*pending);
            throw;
        }
        std::scoped_lock state(state_mutex_);
        settle(*pending);
    };
}

void xml_record_store::settle(const pending_commit& pending) {
    for (const auto& op : pending.operations) in_flight_paths_.erase(op.target);
    --in_flight_commits_;
    release_flock_if_idle();
    settled_.notify_all();
}

void xml_record_store::write_temp_files(pending_commit& pending) {
    try {
        // One record rendered at a time, so at most one rendering is held in memory.
        auto op = pending.operations.begin();
        for_each_change(pending.changes, [&](const uuid&, const auto& change) {
            if (change) {
                const std::string text = render(*change);
                auto temp = durable_files::temp_for(op->target);
                op->temp_fd = files_.write(temp, text);  // removes its temp file if it fails
                op->temp = std::move(temp);
            }
            ++op;
        });
    } catch (...) {
        pending.discard_temp_files();
        throw;
    }
}

void xml_record_store::make_durable(pending_commit& pending) {
    write_temp_files(pending);
    auto& ops = pending.operations;
    try {
        for (const auto& op : ops)
            if (op.temp) files_.sync(op.temp_fd, *op.temp);
    } catch (...) {
        pending.discard_temp_files();
        throw;
    }

    if (ops.size() == 1) {
        // One file: a rename is atomic on its own.
        const auto& op = ops.front();
        try {
            if (op.temp)
                files_.rename(*op.temp, op.target);
            else
                files_.remove(op.target);
        } catch (...) {
            pending.discard_temp_files();
            throw;
        }
        try {
            files_.sync_directory(directory_of(op.target));
        } catch (const record_error& e) {
            // The new file is in place but may not survive a crash.
            throw record_error(errc::commit_in_doubt, std::string(e.what()) + " (the file was replaced; it may not be durable)");
        }
        return;
    }

    // Several files: a redo journal naming every rename and removal; once it is durable the
    // commit is decided, and a crash from here on is finished by replay_journals().
    static std::atomic<unsigned long> journal_counter{0};
    const auto journal = dir_ / (std::string(journal_prefix) + std::to_string(::getpid()) + "." +
                                 std::to_string(journal_counter++) + ".xml");
    std::vector<journal_step> steps;
    xml_text_writer w;
    w.declaration();
    w.open_element("journal");
    for (const auto& op : ops) {
        steps.push_back({op.target, op.temp});
        if (op.temp) {
            w.open_element("replace");
            w.attribute("temp", fs::relative(*op.temp, dir_).string());
        } else {
            w.open_element("remove");
        }
        w.attribute("target", fs::relative(op.target, dir_).string());
        w.close_element();
    }
    w.close_element();
    const std::string text = w.finish();
    try {
        files_.replace(root_dir_, journal, text);
    } catch (...) {
        pending.discard_temp_files();
        throw;
    }
    try {
        apply_journal(journal, steps);
    } catch (const record_error& e) {
        // The journal is durable: the commit is decided and the next process to take the
        // lock finishes it. Say so rather than report a plain failure.
        throw record_error(errc::commit_in_doubt, std::string(e.what()) +
                                                      " (the commit is journalled and will be completed when the store is next locked)");
    }
}

}  // namespace durable::xml
