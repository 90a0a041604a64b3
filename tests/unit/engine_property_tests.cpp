// Generated command sequences against the command engine, over a record store that watches
// what is committed. Whatever the sequence, a command that fails commits nothing, the records
// stay consistent (every key an instance lists exists and points back, and every key belongs
// to an instance that lists it), and a command that reports a lock has it in the store.

#include <durable/commands/command.hpp>
#include <durable/commands/validation.hpp>
#include <durable/extension/command_engine.hpp>
#include <durable/internal/record_index.hpp>

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

using namespace durable;
using namespace durable::extension;
namespace cmd = durable::commands;

namespace {

/// The memory store's records, plus a count of commits and a way to compare states.
class watched_records final : public record_store {
public:
    struct state {
        std::map<uuid, owner_record> owners;
        std::map<uuid, instance_record> instances;
        std::map<uuid, key_record> keys;
        friend bool operator==(const state&, const state&) = default;
    };

    int commits = 0;
    const state& now() const { return state_; }

    std::unique_ptr<guard> lock_exclusive(std::stop_token) override { return std::make_unique<guard>(); }
    std::optional<owner_record> find_owner(const uuid& id) override { return find(state_.owners, id); }
    std::vector<uuid> owner_ids() override {
        std::vector<uuid> ids;
        for (const auto& entry : state_.owners) ids.push_back(entry.first);
        return ids;
    }
    std::optional<instance_record> find_instance(const uuid& id, bool) override { return find(state_.instances, id); }
    std::vector<uuid> instances_locked_by(const uuid& owner) override { return index_.instances_locked_by(owner); }
    std::optional<key_record> find_key(const uuid& id) override { return find(state_.keys, id); }
    std::optional<uuid> first_runnable(timestamp due_by, const runnable_filter& filter, const std::set<uuid>& passed_over) override {
        return index_.first_runnable(due_by, filter, passed_over);
    }
    std::optional<timestamp> earliest_runnable(const runnable_filter& filter) override { return index_.earliest_runnable(filter); }
    std::vector<std::pair<name, std::int64_t>> due_runnable_by_host_type(timestamp now) override {
        return index_.due_runnable_by_host_type(now);
    }
    commit_completion commit(change_set changes) override {
        ++commits;
        for (auto& [id, o] : changes.owners) apply(state_.owners, id, std::move(o));
        for (auto& [id, r] : changes.instances) {
            index_.update_instance(id, r ? &*r : nullptr);
            apply(state_.instances, id, std::move(r));
        }
        for (auto& [id, k] : changes.keys) apply(state_.keys, id, std::move(k));
        return {};
    }

private:
    template <class Map>
    static std::optional<typename Map::mapped_type> find(const Map& map, const uuid& id) {
        const auto it = map.find(id);
        return it == map.end() ? std::nullopt : std::optional(it->second);
    }
    template <class Map, class Record>
    static void apply(Map& map, const uuid& id, std::optional<Record>&& r) {
        if (r)
            map.insert_or_assign(id, std::move(*r));
        else
            map.erase(id);
    }
    state state_;
    record_index index_;
};

const name host{"urn:test", "Host"};

class generator {
public:
    explicit generator(unsigned seed) : rng_(seed) {
        for (auto& id : instances_) id = random_uuid();
        for (auto& id : keys_) id = random_uuid();
    }

    bool chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
    template <class T, std::size_t N>
    const T& pick(const std::array<T, N>& from) {
        return from[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng_)];
    }
    const uuid& instance() { return pick(instances_); }
    const uuid& key() { return pick(keys_); }

    std::map<uuid, property_bag> some_keys() {
        std::map<uuid, property_bag> keys;
        while (chance(40)) keys[key()] = chance(50) ? property_bag{} : property_bag{{"m", instance_value(std::int64_t{1})}};
        return keys;
    }

    cmd::command next() {
        switch (std::uniform_int_distribution<int>(0, 7)(rng_)) {
            case 0: return cmd::load_workflow(chance(30));
            case 1: {
                cmd::load_workflow_by_instance_key c(key());
                if (chance(50)) {
                    c.associate_instance_key_to_instance_id = instance();
                    c.accept_uninitialized_instance = true;
                }
                c.instance_keys_to_associate = some_keys();
                if (!c.associate_instance_key_to_instance_id) c.instance_keys_to_associate.erase(c.lookup_instance_key);
                return c;
            }
            case 2:
            case 3: {
                cmd::save_workflow s;
                if (chance(80)) s.instance_data = property_bag{{"n", instance_value(std::int64_t{step_++})}};
                s.instance_keys_to_associate = some_keys();
                if (chance(20)) s.instance_keys_to_complete.push_back(key());
                if (chance(20)) s.instance_keys_to_free.push_back(key());
                s.unlock_instance = chance(40);
                s.complete_instance = s.unlock_instance && chance(20);
                s.ready_to_run = chance(30);
                if (chance(20)) s.pending_timer = chance(50) ? duration::max() : duration{std::chrono::seconds{1}};
                return s;
            }
            case 4: return cmd::try_load_runnable_workflow{};
            case 5: return cmd::unlock_instance{instance(), std::uniform_int_distribution<std::int64_t>(1, 6)(rng_)};
            case 6: return cmd::recover_instance_locks{};
            default: return cmd::extend_lock{};
        }
    }

private:
    std::mt19937 rng_;
    std::array<uuid, 4> instances_{};
    std::array<uuid, 5> keys_{};
    std::int64_t step_ = 0;
};

/// What the owners' handles believe they hold: instance -> version.
using held_locks = std::map<uuid, std::int64_t>;

void check_consistent(const watched_records::state& s) {
    for (const auto& [id, inst] : s.instances) {
        BOOST_TEST_REQUIRE(std::is_sorted(inst.keys.begin(), inst.keys.end()));
        BOOST_TEST_REQUIRE((std::adjacent_find(inst.keys.begin(), inst.keys.end()) == inst.keys.end()));
        for (const auto& k : inst.keys) {
            const auto it = s.keys.find(k);
            BOOST_TEST_REQUIRE((it != s.keys.end()), "instance " << to_string(id) << " lists a key that does not exist");
            BOOST_TEST_REQUIRE((it->second.instance_id == id), "a listed key points elsewhere");
        }
    }
    for (const auto& [id, k] : s.keys) {
        const auto it = s.instances.find(k.instance_id);
        BOOST_TEST_REQUIRE((it != s.instances.end()), "key " << to_string(id) << " belongs to no instance");
        BOOST_TEST_REQUIRE(std::binary_search(it->second.keys.begin(), it->second.keys.end(), id),
                           "key " << to_string(id) << " is not listed by its instance");
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_properties)

BOOST_AUTO_TEST_CASE(failed_commands_commit_nothing_and_records_stay_consistent) {
    int failures = 0, successes = 0;
    for (unsigned seed = 1; seed <= 60; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            generator gen(seed);
            watched_records records;
            auto clock = std::make_shared<manual_clock>(timestamp{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}});
            store_options options;
            options.clock = clock;
            options.machine_name = "test";
            options.instance_encoding = encoding::none;

            // Two owners; each keeps what its handles hold, and what they let go of.
            std::array<uuid, 2> owners{};
            std::array<held_locks, 2> held;
            std::array<std::vector<released_lock>, 2> released;
            for (auto& owner : owners) {
                command_request create{cmd::create_workflow_owner{}, std::nullopt, std::nullopt, -1, {}, {}};
                std::get<cmd::create_workflow_owner>(create.command).workflow_host_type = host;
                command_outcome out;
                BOOST_TEST_REQUIRE(!run_engine_command(records, options, create, out));
                owner = *out.view.owner_id;
            }

            for (int step = 0; step < 300; ++step) {
                const std::size_t who = gen.chance(50) ? 0 : 1;
                command_request request;
                request.command = gen.next();
                request.owner_id = owners[who];
                request.released_locks = released[who];
                const bool by_id = std::holds_alternative<cmd::load_workflow>(request.command) ||
                                   std::holds_alternative<cmd::save_workflow>(request.command);
                if (by_id) {
                    request.instance_id = gen.instance();
                    if (const auto it = held[who].find(*request.instance_id); it != held[who].end() && gen.chance(80))
                        request.lock_version = it->second;  // the handle that holds it
                }
                std::string why;
                if (cmd::validate(request.command, {true, request.instance_id.has_value(), request.lock_version >= 0}, why))
                    continue;

                const auto before = records.now();
                const int commits_before = records.commits;
                command_outcome out;
                const error_code ec = run_engine_command(records, options, request, out);
                if (ec) {
                    ++failures;
                    BOOST_TEST_REQUIRE(records.commits == commits_before,
                                       "a failed " << cmd::command_name(request.command) << " (" << ec.message() << ") committed");
                    BOOST_TEST_REQUIRE((records.now() == before));
                } else {
                    ++successes;
                    if (out.view.instance_id && out.view.lock_version >= 0) {
                        const auto& inst = records.now().instances.at(*out.view.instance_id);
                        BOOST_TEST_REQUIRE((inst.lock_owner == owners[who]), "a reported lock is held in the store");
                        BOOST_TEST_REQUIRE(inst.version == out.view.lock_version);
                        held[who][*out.view.instance_id] = out.view.lock_version;
                    } else if (out.view.instance_id) {
                        held[who].erase(*out.view.instance_id);
                    }
                }
                check_consistent(records.now());

                // Now and then a handle lets go of its lock; the unlock comes later, if at all.
                if (!held[who].empty() && gen.chance(15)) {
                    const auto it = held[who].begin();
                    released[who].push_back({it->first, it->second});
                    held[who].erase(it);
                }
                if (gen.chance(5)) clock->advance(std::chrono::seconds{5});
                if (gen.chance(5)) {
                    // The background unlocks of the released locks get through.
                    for (const auto& lock : released[who]) {
                        command_request unlock{cmd::unlock_instance{lock.instance_id, lock.version}, owners[who],
                                               std::nullopt, -1, {}, {}};
                        command_outcome ignored;
                        run_engine_command(records, options, unlock, ignored);
                        check_consistent(records.now());
                    }
                    released[who].clear();
                }
            }
        }
    }
    BOOST_TEST(failures > 100, "the generator reaches the failure paths");
    BOOST_TEST(successes > 100, "and the success paths");
}

BOOST_AUTO_TEST_SUITE_END()
