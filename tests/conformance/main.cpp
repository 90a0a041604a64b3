#define BOOST_TEST_MODULE durable conformance suite
#include <boost/test/unit_test.hpp>
