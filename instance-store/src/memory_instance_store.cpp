#include <durable/memory_instance_store.hpp>

#include <durable/extension/command_engine.hpp>
#include <durable/internal/record_index.hpp>

#include <mutex>
#include <stdexcept>
#include <vector>
#include <unordered_map>

namespace durable {

struct memory_database::records final : extension::record_store {
public:
    std::size_t instance_count() const {
        std::scoped_lock lock(mutex_);
        return instances_.size();
    }
    std::size_t key_count() const {
        std::scoped_lock lock(mutex_);
        return keys_.size();
    }
    std::size_t owner_count() const {
        std::scoped_lock lock(mutex_);
        return owners_.size();
    }

    /// `events` is told of every commit that queues a runnable instance, until its store goes.
    void subscribe(store_events events) {
        std::scoped_lock lock(mutex_);
        std::erase_if(subscribers_, [](const store_events& e) { return e.is_store_gone(); });
        subscribers_.push_back(std::move(events));
    }

    class held final : public guard {
    public:
        explicit held(std::mutex& m) : lock_(m) {}

    private:
        std::unique_lock<std::mutex> lock_;
    };
    // Commands hold the mutex only for in-memory work, so waiting for it is never long.
    std::unique_ptr<guard> lock_exclusive(std::stop_token) override { return std::make_unique<held>(mutex_); }

    // Reads run under the guard the engine holds.
    std::optional<extension::owner_record> find_owner(const uuid& id) override { return find(owners_, id); }
    std::vector<uuid> owner_ids() override {
        std::vector<uuid> out;
        out.reserve(owners_.size());
        for (const auto& entry : owners_) out.push_back(entry.first);
        return out;
    }
    std::optional<extension::instance_record> find_instance(const uuid& id, bool) override { return find(instances_, id); }
    std::vector<uuid> instances_locked_by(const uuid& owner) override { return index_.instances_locked_by(owner); }
    std::optional<extension::key_record> find_key(const uuid& id) override { return find(keys_, id); }
    std::optional<uuid> first_runnable(timestamp due_by, const extension::runnable_filter& filter,
                                       const std::set<uuid>& passed_over) override {
        return index_.first_runnable(due_by, filter, passed_over);
    }
    std::optional<timestamp> earliest_runnable(const extension::runnable_filter& filter) override {
        return index_.earliest_runnable(filter);
    }
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override {
        return index_.due_runnable_by_host_type(now);
    }

    commit_completion commit(extension::change_set changes) override {
        for (auto& [id, o] : changes.owners) apply(owners_, id, std::move(o));
        bool queues_runnable = false;
        for (auto& [id, r] : changes.instances) {
            index_.update_instance(id, r ? &*r : nullptr);
            queues_runnable = queues_runnable || (r && r->runnable_time);
            apply(instances_, id, std::move(r));
        }
        // Posting to each store's strand is all a push does, so it is cheap under the mutex.
        if (queues_runnable)
            for (const auto& events : subscribers_) events.runnable_may_be_due();
        for (auto& [id, k] : changes.keys) apply(keys_, id, std::move(k));
        return {};  // memory is as durable as it gets on return
    }

private:
    template <class Map>
    static std::optional<typename Map::mapped_type> find(const Map& map, const uuid& id) {
        auto it = map.find(id);
        if (it == map.end()) return std::nullopt;
        return it->second;
    }
    template <class Map, class Record>
    static void apply(Map& map, const uuid& id, std::optional<Record>&& record) {
        if (record)
            map.insert_or_assign(id, std::move(*record));
        else
            map.erase(id);
    }

    mutable std::mutex mutex_;
    std::unordered_map<uuid, extension::owner_record> owners_;
    std::unordered_map<uuid, extension::instance_record> instances_;
    std::unordered_map<uuid, extension::key_record> keys_;
    extension::record_index index_;
    std::vector<store_events> subscribers_;
};

memory_database::memory_database() : records_(std::make_unique<records>()) {}
memory_database::~memory_database() = default;
std::size_t memory_database::instance_count() const { return records_->instance_count(); }
std::size_t memory_database::key_count() const { return records_->key_count(); }
std::size_t memory_database::owner_count() const { return records_->owner_count(); }

std::shared_ptr<memory_database> make_memory_database() { return std::make_shared<memory_database>(); }

namespace {

class memory_backend final : public store_backend {
public:
    memory_backend(std::shared_ptr<memory_database> database, memory_database::records& records)
        : database_(std::move(database)), records_(records) {}

    error_code run_command(const command_request& request, command_outcome& outcome) override {
        return extension::run_engine_command(records_, options(), request, outcome);
    }

private:
    void attached() override { records_.subscribe(context().events); }

    std::shared_ptr<memory_database> database_;  // keeps records_ alive
    memory_database::records& records_;
};

std::shared_ptr<memory_database> checked(std::shared_ptr<memory_database> database) {
    if (!database) throw std::invalid_argument("memory_instance_store: the database must not be null");
    return database;
}

}  // namespace

std::shared_ptr<store_backend> memory_instance_store::make_backend(std::shared_ptr<memory_database> database) {
    database = checked(std::move(database));
    auto& records = *database->records_;
    return std::make_shared<memory_backend>(std::move(database), records);
}

memory_instance_store::memory_instance_store(asio::any_io_executor executor, store_options options)
    : memory_instance_store(std::move(executor), make_memory_database(), std::move(options)) {}

memory_instance_store::memory_instance_store(asio::any_io_executor executor, std::shared_ptr<memory_database> database,
                                             store_options options)
    : instance_store(std::move(executor), std::move(options), make_backend(database)), database_(std::move(database)) {}

}  // namespace durable
