#define BOOST_TEST_MODULE durable XML store tests
#include <boost/test/unit_test.hpp>
