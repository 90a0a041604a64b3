#include <durable/diagnostics.hpp>
#include <durable/error.hpp>
#include <durable/store_error.hpp>

#include <boost/test/unit_test.hpp>

using namespace durable;

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(codes_keep_the_original_numbers) {
    const std::pair<errc, int> original[] = {
        {errc::instance_not_found, 1},      {errc::instance_locked, 2},         {errc::key_collision, 3},
        {errc::key_not_found, 4},           {errc::instance_exists, 5},         {errc::instance_lock_lost, 6},
        {errc::instance_completed, 7},      {errc::key_completed, 8},           {errc::stale_instance_version, 10},
        {errc::owner_lease_expired, 11},    {errc::owner_not_found, 12},        {errc::maintenance_in_progress, 13},
        {errc::identity_not_found, 15},
    };
    for (const auto& [code, number] : original) BOOST_TEST(static_cast<int>(code) == number);
}

BOOST_AUTO_TEST_CASE(every_code_has_a_message) {
    for (int v : {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 100, 101, 102, 103, 104, 110, 111, 112, 113, 120, 121}) {
        const auto msg = error_code(v, store_category()).message();
        BOOST_TEST(msg.find("unknown durable.store error") == std::string::npos, v << ": " << msg);
    }
    BOOST_TEST(error_code(9, store_category()).message().find("unknown durable.store error") != std::string::npos);
    BOOST_TEST(std::string(store_category().name()) == "durable.store");
}

BOOST_AUTO_TEST_CASE(conditions_group_codes) {
    BOOST_TEST((make_error_code(errc::instance_lock_lost) == condition::lock_lost));
    BOOST_TEST((make_error_code(errc::stale_instance_version) == condition::lock_lost));
    BOOST_TEST((make_error_code(errc::instance_locked) != condition::lock_lost));
    BOOST_TEST((make_error_code(errc::owner_lease_expired) == condition::owner_invalid));
    BOOST_TEST((make_error_code(errc::owner_not_found) == condition::owner_invalid));
    BOOST_TEST((make_error_code(errc::store_unavailable) == condition::transient));
    BOOST_TEST((make_error_code(errc::commit_in_doubt) != condition::transient));
}

BOOST_AUTO_TEST_CASE(store_error_carries_diagnostics) {
    diagnostics d;
    d.command = "load_workflow";
    d.message = "locked";
    d.lock_holder = random_uuid();
    d.server.sqlstate = "40001";
    const std::string text = d.to_string();
    BOOST_TEST(text.find("load_workflow: locked") == 0u);
    BOOST_TEST(text.find(to_string(*d.lock_holder)) != std::string::npos);
    BOOST_TEST(text.find("40001") != std::string::npos);
    try {
        throw_if_error(make_error_code(errc::instance_locked), d);
        BOOST_FAIL("throw_if_error did not throw");
    } catch (const store_error& e) {
        BOOST_TEST((e.code() == errc::instance_locked));
        BOOST_TEST((e.diag().lock_holder == d.lock_holder));
        BOOST_TEST(std::string(e.what()).find("load_workflow") != std::string::npos);
    }
    BOOST_CHECK_NO_THROW(throw_if_error({}, d));
}

BOOST_AUTO_TEST_SUITE_END()
