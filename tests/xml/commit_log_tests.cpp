// The change log in store.lock, as two processes see it (two logs over one file).

#include "commit_log.hpp"

#include <durable/extension/record_store.hpp>

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

using namespace durable;
using namespace durable::xml;
namespace fs = std::filesystem;

namespace {

struct log_file {
    fs::path path = fs::temp_directory_path() / ("durable-log-" + to_string(random_uuid()));
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ~log_file() {
        ::close(fd);
        fs::remove(path);
    }
};

std::vector<record_change> instances(std::initializer_list<uuid> ids) {
    std::vector<record_change> out;
    for (const auto& id : ids) out.push_back({record_kind::instance, id});
    return out;
}

bool same(const std::vector<record_change>& a, const std::vector<record_change>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
               return x.kind == y.kind && x.id == y.id;
           });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(commit_log_tests)

BOOST_AUTO_TEST_CASE(each_process_reads_what_the_others_appended_and_nothing_else) {
    log_file file;
    commit_log a(file.fd, file.path), b(file.fd, file.path);
    a.reset_position();  // writes the header of a new file
    b.reset_position();
    BOOST_TEST(!a.others_committed());
    BOOST_TEST(!b.others_committed());

    const uuid x = random_uuid(), y = random_uuid(), z = random_uuid();
    a.append(instances({x}));
    a.append({{record_kind::key, y}, {record_kind::owner, z}});
    BOOST_TEST(!a.others_committed(), "a process's own commits are not news to it");
    BOOST_TEST(b.others_committed());
    const auto seen = b.read_new();
    BOOST_TEST_REQUIRE(seen.has_value());
    BOOST_TEST(same(*seen, {{record_kind::instance, x}, {record_kind::key, y}, {record_kind::owner, z}}));
    BOOST_TEST(!b.others_committed());
    BOOST_TEST(b.read_new()->empty());

    b.append(instances({y}));
    const auto back = a.read_new();
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(same(*back, instances({y})), "only what came after a's own commits");
}

BOOST_AUTO_TEST_CASE(a_process_that_fell_behind_a_reset_is_told_to_rebuild) {
    log_file file;
    // Room for about three one-change entries: the fourth starts the log over.
    commit_log a(file.fd, file.path, 3 * (12 + 17) + 1), b(file.fd, file.path, 3 * (12 + 17) + 1);
    a.reset_position();
    b.reset_position();
    for (int i = 0; i < 3; ++i) a.append(instances({random_uuid()}));
    BOOST_TEST(b.read_new()->size() == 3u);
    for (int i = 0; i < 5; ++i) a.append(instances({random_uuid()}));
    BOOST_TEST(!b.read_new().has_value(), "commits b never saw were dropped in the reset");
    b.reset_position();
    const uuid latest = random_uuid();
    a.append(instances({latest}));
    const auto seen = b.read_new();
    BOOST_TEST_REQUIRE(seen.has_value());
    BOOST_TEST(same(*seen, instances({latest})));
}

BOOST_AUTO_TEST_CASE(a_commit_too_big_to_log_makes_the_others_rebuild) {
    log_file file;
    commit_log a(file.fd, file.path, 64), b(file.fd, file.path, 64);
    a.reset_position();
    b.reset_position();
    a.append(instances({random_uuid(), random_uuid(), random_uuid(), random_uuid()}));
    BOOST_TEST(b.others_committed());
    BOOST_TEST(!b.read_new().has_value());
    b.reset_position();
    a.append(instances({random_uuid()}));
    BOOST_TEST(b.read_new()->size() == 1u, "and the log works again after it");
}

BOOST_AUTO_TEST_CASE(a_damaged_log_is_never_trusted) {
    log_file file;
    commit_log a(file.fd, file.path), b(file.fd, file.path);
    a.reset_position();
    b.reset_position();
    a.append(instances({random_uuid()}));
    a.append(instances({random_uuid()}));
    // A torn entry: the second entry's generation no longer follows the first's.
    const std::uint64_t wrong = 99;
    BOOST_TEST_REQUIRE(::pwrite(file.fd, &wrong, sizeof wrong, 32 + 12 + 17) == static_cast<ssize_t>(sizeof wrong));
    BOOST_TEST(!b.read_new().has_value());
    // A header that is not one: a new layout is written, and every reader rebuilds.
    BOOST_TEST_REQUIRE(::pwrite(file.fd, "XXXX", 4, 0) == 4);
    BOOST_TEST(b.others_committed());
    BOOST_TEST(!b.read_new().has_value());
    b.reset_position();
    BOOST_TEST(!b.others_committed());
    BOOST_TEST(a.others_committed());
}

BOOST_AUTO_TEST_SUITE_END()
