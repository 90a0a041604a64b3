// Waiting for the directory's lock ends: at the configured timeout, with an error that names the
// lock and its holder, or at once when the command is cancelled. A host stopped with SIGSTOP
// while it holds the lock cannot hang every other host.

#include "xml_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <test_common/exec_result.hpp>

#include <csignal>
#include <fcntl.h>
#include <sys/file.h>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {

/// store.lock taken through a descriptor of its own: flock locks belong to open file
/// descriptions, so this excludes the store as another process would.
struct foreign_lock {
    int fd;
    explicit foreign_lock(const fs::path& dir) : fd(::open((dir / "store.lock").c_str(), O_RDWR | O_CLOEXEC)) {
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::flock(fd, LOCK_EX) == 0);
    }
    ~foreign_lock() { ::close(fd); }
};

xml_store_settings with_timeout(std::chrono::milliseconds timeout) {
    xml_store_settings settings;
    settings.lock_timeout = timeout;
    return settings;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(lock_wait, xml_fixture)

BOOST_AUTO_TEST_CASE(a_held_lock_times_out_with_an_error_naming_it_and_its_holder) {
    auto store = open({}, with_timeout(std::chrono::milliseconds(300)));
    const uuid id = random_uuid();
    {
        foreign_lock held(dir);
        const auto started = std::chrono::steady_clock::now();
        error_code ec;
        diagnostics diag;
        store->execute(store->create_instance_handle(id), save_counter(1), ec, diag);
        const auto waited = std::chrono::steady_clock::now() - started;
        BOOST_TEST((ec == errc::store_unavailable), ec.message());
        BOOST_TEST(diag.message.find((dir / "store.lock").string()) != std::string::npos, diag.message);
        BOOST_TEST(diag.message.find("held by process " + std::to_string(::getpid())) != std::string::npos, diag.message);
        BOOST_TEST((waited >= std::chrono::milliseconds(300)));
        BOOST_TEST((waited < std::chrono::seconds(10)));
    }
    // Released, the lock is taken as usual and nothing of the refused save is there.
    error_code ec;
    diagnostics diag;
    store->execute(store->create_instance_handle(id), cmd::load_workflow{}, ec, diag);
    BOOST_TEST((ec == errc::instance_not_found), ec.message());
    store->execute(store->create_instance_handle(id), save_counter(2));
}

BOOST_AUTO_TEST_CASE(a_cancelled_command_stops_waiting_for_the_lock) {
    auto store = open({}, with_timeout(std::chrono::minutes(10)));
    foreign_lock held(dir);
    boost::asio::cancellation_signal cancel;
    durable::test::exec_result result;
    bool done = false;
    const auto started = std::chrono::steady_clock::now();
    store->async_execute(store->create_instance_handle(random_uuid()), save_counter(1), result.diag,
                         boost::asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, instance_view) {
                             result.ec = ec;
                             done = true;
                         }));
    boost::asio::steady_timer later(ioc, std::chrono::milliseconds(200));
    later.async_wait([&](error_code ec) {
        if (!ec) cancel.emit(boost::asio::cancellation_type::terminal);
    });
    durable::test::run_until(ioc, [&] { return done; });
    later.cancel();
    BOOST_TEST((result.ec == boost::asio::error::operation_aborted), result.ec.message());
    BOOST_TEST(result.diag.message.find("cancelled while waiting for the lock") != std::string::npos, result.diag.message);
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(10)));
}

BOOST_AUTO_TEST_CASE(a_stopped_process_holding_the_lock_cannot_hang_the_others) {
    const uuid id = random_uuid();
    auto store = open({}, with_timeout(std::chrono::milliseconds(500)));
    store->execute(store->create_instance_handle(id), save_counter(1));
    // The child takes the lock as the store would, then stops itself, as SIGSTOP would stop a host
    // in the middle of a command.
    const pid_t child = spawn([&] {
        const int fd = ::open((dir / "store.lock").c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0 || ::flock(fd, LOCK_EX) != 0) return 1;
        ::raise(SIGSTOP);
        return 0;
    });
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(child, &status, WUNTRACED) == child);
    BOOST_TEST_REQUIRE(WIFSTOPPED(status));

    error_code ec;
    diagnostics diag;
    store->execute(store->create_instance_handle(id), cmd::load_workflow{}, ec, diag);
    BOOST_TEST((ec == errc::store_unavailable), ec.message());
    BOOST_TEST(diag.message.find("held by process " + std::to_string(child)) != std::string::npos, diag.message);

    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    BOOST_TEST(counter_of(store->execute(store->create_instance_handle(id), cmd::load_workflow{})) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
