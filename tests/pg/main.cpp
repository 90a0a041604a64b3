#define BOOST_TEST_MODULE durable PostgreSQL tests
#include <boost/test/unit_test.hpp>
