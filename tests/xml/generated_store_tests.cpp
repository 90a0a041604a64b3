// Generated round trips through a real store: bags, metadata, key metadata, owner metadata,
// host types, identities and status texts drawn from awkward_generator are saved through an
// xml_instance_store, read back through a second store object on the same directory (so
// nothing comes from a cache), and must be what durable::memory_instance_store returns for the
// same commands, bit for bit. Every file the store wrote must be well-formed XML 1.0 to expat.

#include "awkward_values.hpp"
#include "expat_check.hpp"
#include "xml_fixture.hpp"
#include "xml_format.hpp"

#include <durable/memory_instance_store.hpp>

#include <functional>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {

/// What one iteration saves, all of it generated.
struct scenario {
    name host_type;
    workflow_identity identity;
    property_bag owner_metadata;
    std::string machine;
    bool saturated_lease = false;  // a lease at the latest time a timestamp holds
    property_bag data;
    property_bag metadata_changes;
    std::map<uuid, property_bag> keys;
    std::string execution_status, bookmarks, suspension_reason, suspension_exception;
    uuid saved = random_uuid(), locked = random_uuid(), runnable = random_uuid();

    explicit scenario(awkward_generator& gen)
        : host_type(gen.nonempty_name()),
          identity(gen.identity()),
          owner_metadata(gen.bag()),
          machine(gen.string() + "m"),  // an empty one would be replaced by the host name
          saturated_lease(gen.below(4) == 0),
          data(gen.bag()),
          metadata_changes(gen.bag(true)),
          execution_status(gen.string()),
          bookmarks(gen.string()),
          suspension_reason(gen.string()),
          suspension_exception(gen.string()) {
        for (auto n = gen.below(4); n > 0; --n) keys[random_uuid()] = gen.bag();
    }
};

/// What a host can see of a scenario from a second store object.
struct observed {
    instance_view loaded;            // `saved`, by its first key when it has one
    error_code locked_ec;            // loading `locked`, which the first owner holds
    property_bag lock_holder_metadata;
    std::optional<uuid> runnable;    // what try_load_runnable_workflow found
};

using opener = std::function<std::unique_ptr<instance_store>(store_options)>;

observed run(const scenario& s, const opener& open) {
    namespace cmd = durable::commands;
    store_options a_options;
    a_options.run_background_tasks = false;
    a_options.machine_name = s.machine;
    if (s.saturated_lease) a_options.host_lock_renewal_period = std::chrono::seconds{1'000'000'000'000'000};
    auto a = open(a_options);
    cmd::create_workflow_owner owner;
    owner.owner_metadata = s.owner_metadata;
    owner.workflow_host_type = s.host_type;
    owner.definition_identities = {s.identity};
    auto a_owner = a->create_instance_handle();
    a->execute(a_owner, owner);

    cmd::save_workflow save;
    save.instance_data = s.data;
    save.instance_metadata_changes = s.metadata_changes;
    save.instance_keys_to_associate = s.keys;
    save.execution_status = s.execution_status;
    save.blocking_bookmarks = s.bookmarks;
    save.suspension = cmd::suspension_change::suspend;
    save.suspension_reason = s.suspension_reason;
    save.suspension_exception_name = s.suspension_exception;
    save.workflow_host_type = s.host_type;
    save.definition_identity = s.identity;
    save.unlock_instance = true;
    a->execute(a->create_instance_handle(s.saved), save);

    cmd::save_workflow keep_locked;
    keep_locked.instance_data = property_bag{};
    auto locked_handle = a->create_instance_handle(s.locked);
    a->execute(locked_handle, keep_locked);

    cmd::save_workflow runnable;
    runnable.instance_data = property_bag{};
    runnable.ready_to_run = true;
    runnable.definition_identity = s.identity;
    runnable.unlock_instance = true;
    a->execute(a->create_instance_handle(s.runnable), runnable);

    // A second host: its own store object and owner, of the same host type and identity.
    store_options b_options;
    b_options.run_background_tasks = false;
    auto b = open(b_options);
    auto b_owner = b->create_instance_handle();
    cmd::create_workflow_owner second;
    second.workflow_host_type = s.host_type;
    second.definition_identities = {s.identity};
    b->execute(b_owner, second);

    observed seen;
    if (s.keys.empty())
        seen.loaded = b->execute(b->create_instance_handle(s.saved), cmd::load_workflow{});
    else
        seen.loaded = b->execute(b->create_instance_handle(), cmd::load_workflow_by_instance_key(s.keys.begin()->first));
    diagnostics diag;
    b->execute(b->create_instance_handle(s.locked), cmd::load_workflow{}, seen.locked_ec, diag);
    seen.lock_holder_metadata = diag.lock_holder_metadata;
    seen.runnable = b->execute(b->create_instance_handle(), cmd::try_load_runnable_workflow{}).instance_id;
    return seen;
}

/// Every .xml file under `dir`, checked by expat; the first failure, or "".
std::string first_malformed_file(const fs::path& dir) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".xml") continue;
        if (auto error = expat_error(xml_fixture::read_file(entry.path())); !error.empty())
            return entry.path().string() + ": " + error;
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generated_store)

BOOST_AUTO_TEST_CASE(generated_saves_load_back_as_the_memory_store_returns_them) {
    const auto root = fs::temp_directory_path() / ("durable-generated-" + to_string(random_uuid()));
    struct remove_at_end {
        fs::path dir;
        ~remove_at_end() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{root};
    fs::create_directories(root);

    awkward_generator gen(11);
    for (int i = 0; i < 25; ++i) {
        BOOST_TEST_CONTEXT("seed 11, iteration " << i) {
            const scenario s(gen);
            boost::asio::io_context ioc;
            const auto database = make_memory_database();
            const observed expected = run(s, [&](store_options o) -> std::unique_ptr<instance_store> {
                return std::make_unique<memory_instance_store>(ioc.get_executor(), database, std::move(o));
            });
            const auto dir = root / std::to_string(i);
            const observed actual = run(s, [&](store_options o) -> std::unique_ptr<instance_store> {
                return std::make_unique<xml_instance_store>(ioc.get_executor(), dir, std::move(o));
            });
            ioc.run();  // the unlocks of the handles dropped above

            BOOST_TEST((actual.loaded.instance_id == expected.loaded.instance_id));
            BOOST_TEST((actual.loaded.state == expected.loaded.state));
            BOOST_TEST((bits_of(actual.loaded.data) == bits_of(expected.loaded.data)));
            BOOST_TEST((bits_of(actual.loaded.metadata) == bits_of(expected.loaded.metadata)));
            BOOST_TEST(actual.loaded.keys.size() == expected.loaded.keys.size());
            for (const auto& [id, key] : expected.loaded.keys) {
                const auto it = actual.loaded.keys.find(id);
                BOOST_TEST_REQUIRE((it != actual.loaded.keys.end()), "key " << to_string(id));
                BOOST_TEST((it->second.state == key.state));
                BOOST_TEST((bits_of(it->second.metadata) == bits_of(key.metadata)));
            }
            BOOST_TEST((actual.locked_ec == expected.locked_ec), actual.locked_ec.message());
            BOOST_TEST((actual.locked_ec == errc::instance_locked));
            BOOST_TEST((bits_of(actual.lock_holder_metadata) == bits_of(expected.lock_holder_metadata)));
            BOOST_TEST((actual.runnable == expected.runnable));
            BOOST_TEST((actual.runnable == s.runnable));

            // What no view shows: the status texts, names and identities as the files hold them.
            const auto instance_file = dir / "instances" / (to_string(s.saved) + ".xml");
            const auto saved = parse_instance(xml_fixture::read_file(instance_file), instance_file.string());
            BOOST_TEST(saved.execution_status == s.execution_status);
            BOOST_TEST(saved.blocking_bookmarks == s.bookmarks);
            BOOST_TEST(saved.suspension_reason == s.suspension_reason);
            BOOST_TEST(saved.suspension_exception_name == s.suspension_exception);
            BOOST_TEST(saved.last_machine_run_on == s.machine);
            BOOST_TEST((saved.workflow_host_type == s.host_type));
            BOOST_TEST((saved.identity == s.identity));
            std::vector<uuid> key_ids;
            for (const auto& [id, md] : s.keys) key_ids.push_back(id);  // a map: ascending already
            BOOST_TEST((saved.keys == key_ids), "the instance file lists " << saved.keys.size() << " keys");
            bool owner_found = false;
            for (const auto& entry : fs::directory_iterator(dir / "owners")) {
                const auto o = parse_owner(xml_fixture::read_file(entry.path()), entry.path().string());
                owner_found = owner_found || (o.machine_name == s.machine && o.workflow_host_type == s.host_type &&
                                              o.identities == std::vector<workflow_identity>{s.identity});
            }
            BOOST_TEST(owner_found, "no owner file holds the first owner's machine, host type and identity");

            BOOST_TEST(first_malformed_file(dir) == "");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
