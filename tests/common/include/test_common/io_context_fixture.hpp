#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

namespace durable::test {

/// An io_context that must have no work left when the test ends: a leaked operation or a
/// handler that never ran shows up as a failure here.
struct io_context_fixture {
    boost::asio::io_context ioc;

    /// Call after destroying everything that may hold work (stores, timers).
    void check_no_work_left() {
        ioc.restart();
        ioc.poll();
        BOOST_TEST(ioc.stopped(), "work is still pending on the io_context");
    }
};

}  // namespace durable::test
