#include "xml_record_store.hpp"

#include "xml_format.hpp"
#include "xml_text_writer.hpp"

#include <durable/xml_instance_store.hpp>

#include <boost/asio/error.hpp>

#include <pugixml.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <thread>
#include <unistd.h>

namespace durable::xml {
namespace fs = std::filesystem;
using extension::record_error;

namespace {

constexpr std::string_view header_leaf = "store.xml";
constexpr std::string_view lock_leaf = "store.lock";
constexpr std::string_view record_suffix = ".xml";

[[noreturn]] void unavailable(const std::string& what) { throw record_error(errc::store_unavailable, what); }

const char* subdirectory_of(record_kind kind) {
    switch (kind) {
        case record_kind::owner: return "owners";
        case record_kind::instance: return "instances";
        case record_kind::key: return "keys";
    }
    return "";
}

const char* noun_of(record_kind kind) {
    switch (kind) {
        case record_kind::owner: return "owner";
        case record_kind::instance: return "instance";
        case record_kind::key: return "key";
    }
    return "";
}

std::optional<record_kind> kind_named(std::string_view subdirectory) {
    for (const auto kind : {record_kind::owner, record_kind::instance, record_kind::key})
        if (subdirectory == subdirectory_of(kind)) return kind;
    return std::nullopt;
}

template <class Record>
constexpr record_kind kind_of() {
    if constexpr (std::is_same_v<Record, extension::owner_record>) return record_kind::owner;
    else if constexpr (std::is_same_v<Record, extension::instance_record>) return record_kind::instance;
    else return record_kind::key;
}

std::string leaf_of(const uuid& id) { return to_string(id) + std::string(record_suffix); }

/// The id a record file's name stands for: "<uuid>.xml" and nothing else.
std::optional<uuid> id_of(std::string_view leaf) {
    if (!leaf.ends_with(record_suffix)) return std::nullopt;
    return parse_uuid(leaf.substr(0, leaf.size() - record_suffix.size()));
}

/// Journals are named per process and commit, since commits of one process are made durable
/// concurrently: "journal.<pid>.<n>.xml". Only names of exactly this form are ever replayed.
constexpr std::string_view journal_prefix = "journal.";

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_journal_name(std::string_view leaf) {
    if (!leaf.starts_with(journal_prefix) || !leaf.ends_with(record_suffix)) return false;
    const auto middle = leaf.substr(journal_prefix.size(), leaf.size() - journal_prefix.size() - record_suffix.size());
    const auto dot = middle.find('.');
    return dot != std::string_view::npos && is_digits(middle.substr(0, dot)) && is_digits(middle.substr(dot + 1));
}

std::string journal_name() {
    static std::atomic<unsigned long> counter{0};
    return std::string(journal_prefix) + std::to_string(::getpid()) + "." + std::to_string(counter++) +
           std::string(record_suffix);
}

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

std::string render(const extension::owner_record& r) { return render_owner(r); }
std::string render(const extension::instance_record& r) { return render_instance(r); }
std::string render(const extension::key_record& r) { return render_key(r); }

extension::owner_record parse(std::string_view text, const std::string& file, bool, extension::owner_record*) {
    return parse_owner(text, file);
}
extension::instance_record parse(std::string_view text, const std::string& file, bool with_data, extension::instance_record*) {
    return parse_instance(text, file, with_data);
}
extension::key_record parse(std::string_view text, const std::string& file, bool, extension::key_record*) {
    return parse_key(text, file);
}

/// The process that holds the flock on `fd`, from /proc/locks, for the message of a lock wait
/// that timed out; nullopt when it cannot be told.
std::optional<long> flock_holder(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    std::ifstream locks("/proc/locks");
    std::string line;
    // e.g. "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
    while (std::getline(locks, line)) {
        if (line.find("FLOCK") == std::string::npos) continue;
        std::istringstream in(line);
        std::string number, type, mode, access, device;
        long pid = 0;
        in >> number >> type >> mode >> access >> pid >> device;
        const auto colon = device.find(':'), second = device.rfind(':');
        if (colon == std::string::npos || second == colon) continue;
        try {
            const auto major_number = std::stoul(device.substr(0, colon), nullptr, 16);
            const auto minor_number = std::stoul(device.substr(colon + 1, second - colon - 1), nullptr, 16);
            const auto inode = std::stoull(device.substr(second + 1));
            if (major_number == major(st.st_dev) && minor_number == minor(st.st_dev) && inode == st.st_ino) return pid;
        } catch (const std::exception&) {
        }
    }
    return std::nullopt;
}

}  // namespace

/// A commit decided under the engine lock, made durable after it: its records are rendered and
/// written to temp files, synced, and renamed into place (through a journal when there are
/// several).
struct xml_record_store::pending_commit {
    extension::change_set changes;
    /// One per change, in for_each_change() order: listed in phase 1, temp files added in phase 2.
    struct operation {
        record_kind kind;
        uuid id;
        const open_directory* dir;
        std::string leaf;
        std::optional<temp_file> temp;  // nullopt: remove the target
    };
    std::vector<operation> operations;

    /// After a failure before the renames: the temp files must not outlive the commit.
    void discard_temp_files() const {
        for (const auto& op : operations)
            if (op.temp) durable_files::discard(*op.dir, op.temp->leaf);
    }
};

template <class Record>
lru_records<Record>& xml_record_store::cache_of() {
    if constexpr (std::is_same_v<Record, extension::owner_record>) return cache_.owners;
    else if constexpr (std::is_same_v<Record, extension::instance_record>) return cache_.instances;
    else return cache_.keys;
}

const open_directory& xml_record_store::directory_of(record_kind kind) const {
    switch (kind) {
        case record_kind::owner: return owners_dir_;
        case record_kind::instance: return instances_dir_;
        case record_kind::key: return keys_dir_;
    }
    return root_dir_;
}

class xml_record_store::held final : public guard {
public:
    held(xml_record_store& s, const std::stop_token& stop) : store_(s), engine_lock_(s.engine_mutex_, std::defer_lock) {
        s.acquire(engine_lock_, stop);
    }
    ~held() override {
        std::scoped_lock state(store_.state_mutex_);
        store_.guard_active_ = false;
        store_.release_flock_if_idle();
    }

private:
    xml_record_store& store_;
    std::unique_lock<engine_gate> engine_lock_;
};

void xml_record_store::acquire(std::unique_lock<engine_gate>& engine_lock, const std::stop_token& stop) {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + settings_.lock_timeout;
    const auto lock_file = root_dir_.file(lock_leaf).string();
    // Neither wait blocks for long at a time: a cancelled command must end promptly, and a
    // process stopped (SIGSTOP) while it holds the flock must not hang every other one.
    auto give_up_if_due = [&](const std::string& waiting_for) {
        if (stop.stop_requested())
            throw record_error(boost::asio::error::operation_aborted, "cancelled while waiting for " + waiting_for);
        if (steady_clock::now() >= deadline) {
            std::string holder;
            if (const auto pid = flock_holder(lock_fd_.get())) holder = ", held by process " + std::to_string(*pid);
            unavailable("timed out after " + std::to_string(settings_.lock_timeout.count()) + " ms waiting for " +
                        waiting_for + holder + " (is that process stopped or hung?)");
        }
    };
    while (!engine_lock.try_lock_for(milliseconds(5))) give_up_if_due("this process's other commands to finish");

    std::unique_lock state(state_mutex_);
    guard_active_ = true;
    try {
        if (!flock_held_) {
            // No commit of this process is in flight (the flock would be held), so taking the
            // flock means no commit is in flight anywhere.
            auto pause = microseconds(50);
            while (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
                if (errno != EWOULDBLOCK && errno != EINTR) unavailable("cannot lock " + lock_file + ": " + std::strerror(errno));
                state.unlock();
                give_up_if_due("the lock on " + lock_file);
                std::this_thread::sleep_for(pause);
                pause = std::min(pause * 2, duration_cast<microseconds>(milliseconds(2)));
                state.lock();
            }
            flock_held_ = true;
            state.unlock();
            catch_up_after_lock();
        } else if (!index_valid_ || replay_due_) {
            state.unlock();
            wait_for_all_commits();
            catch_up_after_lock();
        }
    } catch (...) {
        if (!state.owns_lock()) state.lock();
        guard_active_ = false;
        release_flock_if_idle();
        throw;
    }
}

xml_record_store::xml_record_store(fs::path directory, record_store_settings settings)
    : settings_(std::move(settings)), files_(settings_.hook), log_(-1, {}), cache_(settings_.cached_records) {
    root_dir_.path = std::move(directory);
    check_layout(settings_.create_if_missing);
    const auto lock_path = root_dir_.file(lock_leaf);
    lock_fd_ = unique_fd(::openat(root_dir_.fd.get(), std::string(lock_leaf).c_str(),
                                  O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (lock_fd_.get() < 0) unavailable("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    log_ = commit_log(lock_fd_.get(), lock_path);
    // Recovery and clean-up happen under the flock, so they never touch another process's
    // commit in progress. Opening always replays journals and rebuilds: the generation that
    // later lock acquisitions go by is not fsynced, so after a power cut it proves nothing.
    held lock(*this, {});
    log_.reset_position();
    replay_journals();
    rebuild_index();
    remove_stray_temp_files();
    opening_ = false;
}

xml_record_store::~xml_record_store() { wait_for_all_commits(); }

void xml_record_store::release_flock_if_idle() {
    if (flock_held_ && !guard_active_ && in_flight_commits_ == 0) {
        ::flock(lock_fd_.get(), LOCK_UN);
        flock_held_ = false;
    }
}

void xml_record_store::wait_for_all_commits() {
    std::unique_lock state(state_mutex_);
    settled_.wait(state, [this] { return in_flight_commits_ == 0; });
}

template <class Record>
std::optional<Record> xml_record_store::read_file(const uuid& id, bool with_data) const {
    constexpr auto kind = kind_of<Record>();
    const auto& dir = directory_of(kind);
    const auto leaf = leaf_of(id);
    const auto text = durable_files::read(dir, leaf);
    if (!text) return std::nullopt;
    const auto file = dir.file(leaf).string();
    auto record = parse(*text, file, with_data, static_cast<Record*>(nullptr));
    // A file copied or renamed by hand (a restore, a clone) would otherwise make a save to one
    // record overwrite another.
    if (record.id != id)
        throw record_error(errc::corrupt_data, file + ": holds " + noun_of(kind) + " " + to_string(record.id) +
                                                   ", not the " + noun_of(kind) + " its name says (was it copied or renamed?)");
    return record;
}

template <class Record>
std::optional<Record> xml_record_store::read_record(const uuid& id, bool with_data, bool cache_may_answer) {
    const record_ref ref{kind_of<Record>(), id};
    {
        std::unique_lock state(state_mutex_);
        settled_.wait(state, [&] { return !in_flight_.contains(ref); });
        if (cache_may_answer)
            if (auto hit = cache_of<Record>().find(id)) return hit;
    }
    // Commands run one at a time under the engine lock, so nothing can start to change the
    // file between the wait above and this read.
    auto record = read_file<Record>(id, with_data);
    if (record) {
        std::scoped_lock state(state_mutex_);
        cache_of<Record>().put(id, record_cache::cached_form(*record));
    }
    return record;
}

void xml_record_store::check_layout(bool create_if_missing) {
    const auto& dir = root_dir_.path;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (!create_if_missing) unavailable("the store directory " + dir.string() + " does not exist");
        if (!fs::create_directory(dir, ec) && ec)
            unavailable("cannot create the store directory " + dir.string() + ": " + ec.message());
    }
    if (!fs::is_directory(dir, ec)) unavailable(dir.string() + " is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        unavailable("the store directory " + dir.string() + " is not writable: " + std::strerror(errno));
    root_dir_ = durable_files::open_root(dir);

    if (auto text = durable_files::read(root_dir_, header_leaf)) {
        const auto header = root_dir_.file(header_leaf).string();
        const int version = parse_store_header(*text, header);
        if (version != store_format_version)
            throw record_error(errc::unsupported_format, header + ": format version " + std::to_string(version) +
                                                             " is not the one this build reads (" +
                                                             std::to_string(store_format_version) + ")");
    } else {
        // A store is made only in an empty directory (a crash while making one leaves at most the
        // header's temp file). Records without store.xml are a store whose header was lost, and
        // anything else is somebody else's directory: neither becomes a new store.
        std::vector<std::string> contents;
        for (auto& leaf : durable_files::list(root_dir_)) {
            std::string_view target;
            if (!(durable_files::is_temp_name(leaf, &target) && target == header_leaf)) contents.push_back(std::move(leaf));
        }
        const bool has_records = std::any_of(contents.begin(), contents.end(), [](const std::string& leaf) {
            return leaf == lock_leaf || kind_named(leaf).has_value() || is_journal_name(leaf);
        });
        if (has_records)
            throw record_error(errc::corrupt_data,
                               (dir / header_leaf).string() + " is missing, but the directory holds a store (" +
                                   contents.front() + ", ...): restore store.xml rather than start a new store over it");
        if (!contents.empty())
            unavailable("the directory " + dir.string() + " is not empty and is not a store (it has no store.xml; it holds " +
                        contents.front() + ", ...): a new store is made only in an empty directory");
        if (!create_if_missing) unavailable("the directory " + dir.string() + " is empty, not a store (no store.xml)");
        files_.replace(root_dir_, header_leaf, render_store_header(store_format_version));
    }
    for (const auto kind : {record_kind::owner, record_kind::instance, record_kind::key}) {
        const char* sub = subdirectory_of(kind);
        if (::mkdirat(root_dir_.fd.get(), sub, 0755) != 0 && errno != EEXIST)
            unavailable("cannot create " + root_dir_.file(sub).string() + ": " + std::strerror(errno));
    }
    owners_dir_ = durable_files::open_subdirectory(root_dir_, subdirectory_of(record_kind::owner));
    instances_dir_ = durable_files::open_subdirectory(root_dir_, subdirectory_of(record_kind::instance));
    keys_dir_ = durable_files::open_subdirectory(root_dir_, subdirectory_of(record_kind::key));
}

std::unique_ptr<extension::record_store::guard> xml_record_store::lock_exclusive(std::stop_token stop) {
    return std::make_unique<held>(*this, stop);
}

void xml_record_store::catch_up_after_lock() {
    if (opening_) return;  // the constructor replays and rebuilds on its own
    const bool others_committed = log_.others_committed();
    bool replay_due, valid;
    {
        std::scoped_lock state(state_mutex_);
        replay_due = std::exchange(replay_due_, false);
        valid = index_valid_;
    }
    // What others changed is read before this process appends anything (a replay does), since
    // appending assumes the log has been read to its end.
    std::optional<std::vector<record_change>> changed;
    if (others_committed) {
        changed = log_.read_new();
        if (!changed) log_.reset_position();  // the log cannot say: rebuild from the files
    } else {
        changed.emplace();
    }
    try {
        if (others_committed || replay_due) {
            auto replayed = replay_journals();
            if (changed) changed->insert(changed->end(), replayed.begin(), replayed.end());
        }
    } catch (...) {
        std::scoped_lock state(state_mutex_);
        replay_due_ = replay_due_ || replay_due;  // still due: try again before the next command
        index_valid_ = false;
        throw;
    }
    if (!valid || !changed) {
        rebuild_index();
    } else if (!changed->empty()) {
        forget_changed(*changed);
    }
}

void xml_record_store::forget_changed(const std::vector<record_change>& changes) {
    {
        std::scoped_lock state(state_mutex_);
        for (const auto& c : changes) {
            switch (c.kind) {
                case record_kind::owner: cache_.owners.erase(c.id); break;
                case record_kind::instance: cache_.instances.erase(c.id); break;
                case record_kind::key: cache_.keys.erase(c.id); break;
            }
        }
    }
    std::set<uuid> instances;
    for (const auto& c : changes)
        if (c.kind == record_kind::instance) instances.insert(c.id);
    for (const auto& id : instances) index_instance_file(id);
}

void xml_record_store::index_instance_file(const uuid& id) {
    try {
        const auto record = read_file<extension::instance_record>(id, false);  // the index needs the control part only
        index_.update_instance(id, record ? &*record : nullptr);
    } catch (const record_error& e) {
        // Left out of the index, so every other instance keeps working; reading this one
        // directly reports the damage with the file's name.
        index_.update_instance(id, nullptr);
        if (settings_.report_damage) settings_.report_damage({e.code(), e.what()});
    }
}

void xml_record_store::rebuild_index() {
    index_.clear();
    {
        std::scoped_lock state(state_mutex_);
        cache_.clear();  // whatever made the index stale may have changed the files too
    }
    for (const auto& leaf : durable_files::list(instances_dir_))
        if (const auto id = id_of(leaf)) index_instance_file(*id);
    log_.reset_position();
    std::scoped_lock state(state_mutex_);
    index_valid_ = true;
}

std::vector<record_change> xml_record_store::replay_journals() {
    std::vector<record_change> changed;
    for (const auto& leaf : durable_files::list(root_dir_)) {
        if (!is_journal_name(leaf)) continue;
        const auto steps = read_journal(leaf);
        if (steps.empty() && !durable_files::exists(root_dir_, leaf)) continue;  // finished meanwhile
        std::vector<record_change> targets;
        for (const auto& step : steps) targets.push_back({step.kind, step.id});
        log_.append(targets);  // other processes must re-read what the replay changes
        apply_journal(leaf, steps);
        changed.insert(changed.end(), targets.begin(), targets.end());
    }
    return changed;
}

std::vector<xml_record_store::journal_step> xml_record_store::read_journal(std::string_view journal_leaf) const {
    const auto file = root_dir_.file(journal_leaf).string();
    const auto text = durable_files::read(root_dir_, journal_leaf);
    if (!text) return {};
    pugi::xml_document doc;
    if (!doc.load_buffer(text->data(), text->size()))
        throw record_error(errc::corrupt_data, file + ": the commit journal cannot be parsed");
    // A journal can only name the record files of this store and their temp files: a step that
    // points anywhere else (another directory, "..", a name the store never makes) is refused
    // before any step is applied.
    std::vector<journal_step> steps;
    for (const auto& op : doc.document_element().children()) {
        const std::string_view kind_text = op.name(), target = op.attribute("target").value(),
                               temp = op.attribute("temp").value();
        const bool replace = kind_text == "replace";
        auto malformed = [&](const std::string& why) {
            return record_error(errc::corrupt_data, file + ": the commit journal has a step the store cannot have written (<" +
                                                        std::string(kind_text) + " target=\"" + std::string(target) +
                                                        "\">: " + why + "); nothing of it was applied");
        };
        if (!replace && kind_text != "remove") throw malformed("not a replace or remove step");
        const auto slash = target.find('/');
        const auto kind = slash == std::string_view::npos ? std::nullopt : kind_named(target.substr(0, slash));
        const auto id = kind ? id_of(target.substr(slash + 1)) : std::nullopt;
        if (!id) throw malformed("the target is not a record file of the store");
        journal_step step{*kind, *id, std::nullopt};
        if (replace) {
            std::string_view temp_target;
            const auto prefix = target.substr(0, slash + 1);
            if (!temp.starts_with(prefix) || !durable_files::is_temp_name(temp.substr(prefix.size()), &temp_target) ||
                temp_target != target.substr(slash + 1))
                throw malformed("the temp file is not one the store makes for that target");
            step.temp_leaf = std::string(temp.substr(prefix.size()));
        } else if (!temp.empty()) {
            throw malformed("a removal names a temp file");
        }
        steps.push_back(std::move(step));
    }
    return steps;
}

void xml_record_store::apply_journal(std::string_view journal_leaf, const std::vector<journal_step>& steps) {
    for (const auto& step : steps) {
        const auto& dir = directory_of(step.kind);
        if (step.temp_leaf) {
            if (durable_files::exists(dir, *step.temp_leaf)) files_.rename(dir, *step.temp_leaf, leaf_of(step.id));  // replay may find it done
        } else {
            files_.remove(dir, leaf_of(step.id));
        }
    }
    for (const auto* sub : {&owners_dir_, &instances_dir_, &keys_dir_}) files_.sync_directory(*sub);
    files_.remove(root_dir_, journal_leaf);
    files_.sync_directory(root_dir_);
}

void xml_record_store::remove_stray_temp_files() {
    // Only the store's own temp names: "<record>.xml.<16 hex>.tmp" in the subdirectories, and
    // those of store.xml and of journals in the root. A user's file that merely ends in .tmp stays.
    for (const auto& leaf : durable_files::list(root_dir_)) {
        std::string_view target;
        if (durable_files::is_temp_name(leaf, &target) && (target == header_leaf || is_journal_name(target)))
            files_.remove(root_dir_, leaf);
    }
    for (const auto* dir : {&owners_dir_, &instances_dir_, &keys_dir_}) {
        for (const auto& leaf : durable_files::list(*dir)) {
            std::string_view target;
            if (durable_files::is_temp_name(leaf, &target) && id_of(target)) files_.remove(*dir, leaf);
        }
    }
}

std::optional<extension::owner_record> xml_record_store::find_owner(const uuid& id) {
    return read_record<extension::owner_record>(id, true);
}

std::vector<uuid> xml_record_store::owner_ids() {
    wait_for_all_commits();  // a listing must not see a directory in the middle of a commit
    std::vector<uuid> ids;
    for (const auto& leaf : durable_files::list(owners_dir_))
        if (const auto id = id_of(leaf)) ids.push_back(*id);
    return ids;
}

std::optional<extension::instance_record> xml_record_store::find_instance(const uuid& id, bool with_data) {
    // The cache holds the control part only: enough when the caller replaces the data.
    return read_record<extension::instance_record>(id, with_data, !with_data);
}

std::vector<uuid> xml_record_store::instances_locked_by(const uuid& owner) { return index_.instances_locked_by(owner); }

std::optional<extension::key_record> xml_record_store::find_key(const uuid& id) {
    return read_record<extension::key_record>(id, true);
}

std::optional<uuid> xml_record_store::first_runnable(timestamp due_by, const extension::runnable_filter& filter,
                                                     const std::set<uuid>& passed_over) {
    return index_.first_runnable(due_by, filter, passed_over);
}

std::optional<timestamp> xml_record_store::earliest_runnable(const extension::runnable_filter& filter) {
    return index_.earliest_runnable(filter);
}

std::vector<std::pair<name, std::int64_t>> xml_record_store::due_runnable_by_host_type(timestamp now) {
    return index_.due_runnable_by_host_type(now);
}

extension::record_store::commit_completion xml_record_store::commit(extension::change_set changes) {
    // Phase 1, under the engine lock, is bookkeeping only: later commands see the commit in the
    // index and the cache at once, and wait for any of its files they read until it is durable.
    // Rendering and all file I/O are phase 2, so the commits of different instances render and
    // sync in parallel.
    auto pending = std::make_shared<pending_commit>();
    auto& ops = pending->operations;
    std::vector<record_change> logged;
    for_each_change(changes, [&](const uuid& id, const auto& change) {
        constexpr auto kind = kind_of<record_of<decltype(change)>>();
        ops.push_back({kind, id, &directory_of(kind), leaf_of(id), std::nullopt});
        logged.push_back({kind, id});
    });
    if (ops.empty()) return {};

    // Other processes re-read what this commit changes on their next command. This process has
    // held the flock since it last read the log, so it appends to the log as it knows it.
    log_.append(logged);
    for (const auto& [id, r] : changes.instances) index_.update_instance(id, r ? &*r : nullptr);
    {
        std::unique_lock state(state_mutex_);
        // An earlier commit of the same file must land first; commands read before they write,
        // so this wait is normally over before it starts.
        settled_.wait(state, [&] {
            return std::none_of(ops.begin(), ops.end(), [&](const auto& op) { return in_flight_.contains({op.kind, op.id}); });
        });
        for_each_change(changes, [&](const uuid& id, auto& change) {
            auto& cache = cache_of<record_of<decltype(change)>>();
            change ? cache.put(id, record_cache::cached_form(*change)) : cache.erase(id);
        });
        for (const auto& op : ops) in_flight_.insert({op.kind, op.id});
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
    for (const auto& op : pending.operations) in_flight_.erase({op.kind, op.id});
    --in_flight_commits_;
    release_flock_if_idle();
    settled_.notify_all();
}

void xml_record_store::write_temp_files(pending_commit& pending) {
    try {
        // One record rendered at a time, so at most one rendering is held in memory.
        auto op = pending.operations.begin();
        for_each_change(pending.changes, [&](const uuid&, const auto& change) {
            if (change) op->temp = files_.write_temp(*op->dir, op->leaf, render(*change));  // removes its temp file if it fails
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
            if (op.temp) files_.sync(*op.dir, *op.temp);
    } catch (...) {
        pending.discard_temp_files();
        throw;
    }

    if (ops.size() == 1) {
        // One file: a rename is atomic on its own.
        const auto& op = ops.front();
        try {
            if (op.temp)
                files_.rename(*op.dir, op.temp->leaf, op.leaf);
            else
                files_.remove(*op.dir, op.leaf);
        } catch (...) {
            pending.discard_temp_files();
            throw;
        }
        try {
            files_.sync_directory(*op.dir);
        } catch (const record_error& e) {
            // The new file is in place but may not survive a crash.
            throw record_error(errc::commit_in_doubt, std::string(e.what()) + " (the file was replaced; it may not be durable)");
        }
        return;
    }

    // Several files: a redo journal naming every rename and removal; once it is durable the
    // commit is decided, and a crash from here on is finished by replay_journals().
    const auto journal = journal_name();
    std::vector<journal_step> steps;
    xml_text_writer w;
    w.declaration();
    w.open_element("journal");
    for (const auto& op : ops) {
        const std::string sub = std::string(subdirectory_of(op.kind)) + "/";
        steps.push_back({op.kind, op.id, op.temp ? std::optional(op.temp->leaf) : std::nullopt});
        if (op.temp) {
            w.open_element("replace");
            w.attribute("temp", sub + op.temp->leaf);
        } else {
            w.open_element("remove");
        }
        w.attribute("target", sub + op.leaf);
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
