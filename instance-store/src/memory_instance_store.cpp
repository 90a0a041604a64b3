#include <durable/memory_instance_store.hpp>

#include <durable/detail/command_engine.hpp>
#include <durable/detail/record_index.hpp>

#include <mutex>
#include <unordered_map>

namespace durable {
namespace {

class memory_records final : public memory_database, public detail::record_store {
public:
    std::size_t instance_count() const override {
        std::scoped_lock lock(mutex_);
        return instances_.size();
    }
    std::size_t key_count() const override {
        std::scoped_lock lock(mutex_);
        return keys_.size();
    }
    std::size_t owner_count() const override {
        std::scoped_lock lock(mutex_);
        return owners_.size();
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
    std::optional<detail::owner_record> find_owner(const uuid& id) override { return find(owners_, id); }
    std::vector<uuid> owner_ids() override {
        std::vector<uuid> out;
        out.reserve(owners_.size());
        for (const auto& entry : owners_) out.push_back(entry.first);
        return out;
    }
    std::optional<detail::instance_record> find_instance(const uuid& id, bool) override { return find(instances_, id); }
    std::vector<uuid> instances_locked_by(const uuid& owner) override { return index_.instances_locked_by(owner); }
    std::optional<detail::key_record> find_key(const uuid& id) override { return find(keys_, id); }
    std::optional<uuid> first_runnable(timestamp due_by, const detail::runnable_filter& filter,
                                       const std::set<uuid>& passed_over) override {
        return index_.first_runnable(due_by, filter, passed_over);
    }
    std::optional<timestamp> earliest_runnable(const detail::runnable_filter& filter) override {
        return index_.earliest_runnable(filter);
    }
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override {
        return index_.due_runnable_by_host_type(now);
    }

    commit_completion commit(detail::change_set changes) override {
        for (auto& [id, o] : changes.owners) apply(owners_, id, std::move(o));
        for (auto& [id, r] : changes.instances) {
            index_.update_instance(id, r ? &*r : nullptr);
            apply(instances_, id, std::move(r));
        }
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
    std::unordered_map<uuid, detail::owner_record> owners_;
    std::unordered_map<uuid, detail::instance_record> instances_;
    std::unordered_map<uuid, detail::key_record> keys_;
    detail::record_index index_;
};

}  // namespace

std::shared_ptr<memory_database> make_memory_database() { return std::make_shared<memory_records>(); }

memory_instance_store::memory_instance_store(asio::any_io_executor executor, store_options options)
    : memory_instance_store(std::move(executor), make_memory_database(), std::move(options)) {}

memory_instance_store::memory_instance_store(asio::any_io_executor executor, std::shared_ptr<memory_database> database,
                                             store_options options)
    : instance_store(std::move(executor), std::move(options)), database_(std::move(database)) {
    if (!database_) throw std::invalid_argument("memory_instance_store: the database must not be null");
}

memory_instance_store::~memory_instance_store() { shut_down(); }

error_code memory_instance_store::run_command(const command_request& request, command_outcome& outcome) {
    // Only memory_records implements memory_database, so the downcast is exact.
    auto& records = static_cast<memory_records&>(*database_);
    return detail::run_engine_command(records, options(), request, outcome);
}

}  // namespace durable
