// Boost.Asio's separately compiled implementation, built once for every durable target.
#include <boost/asio/impl/src.hpp>
