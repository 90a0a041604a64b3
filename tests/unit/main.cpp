#define BOOST_TEST_MODULE durable unit tests
#include <boost/test/unit_test.hpp>
