#define BOOST_TEST_MODULE durable host tests
#include <boost/test/unit_test.hpp>
