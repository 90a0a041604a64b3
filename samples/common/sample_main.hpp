#pragma once
// What every sample's main() shares: the command line ([--store S] COMMAND [--option value]...),
// opening the store, running one coroutine on an io_context, and turning a failure into a
// message for people and a non-zero exit status.

#include <durable/store_options.hpp>
#include <durable/value.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace durable {
class instance_store;
}

namespace durable::samples {

/// A mistake on the command line; sample_main prints it with the usage text and exits 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A failure the sample has already put in words; sample_main prints it and exits 1.
struct sample_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct command_line {
    std::string store;    ///< --store, or the sample's default directory
    std::string command;  ///< the first word that is not an option
    std::map<std::string, std::string, std::less<>> options;  ///< --name value or --name=value

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    /// The option's value; throws usage_error naming it when it is missing.
    const std::string& required(std::string_view name) const;
    std::string get(std::string_view name, std::string fallback) const;
    /// A duration like 3s, 500ms, 2m, 1h (a bare number is seconds); throws usage_error.
    duration get_duration(std::string_view name, duration fallback) const;
    /// A whole number >= minimum; throws usage_error.
    long get_count(std::string_view name, long fallback, long minimum = 1) const;
};

/// Parses argv after the program name. Throws usage_error.
command_line parse_command_line(int argc, char** argv, std::string default_store);

/// A duration for people: "3 s", "250 ms", "2 min 5 s".
std::string format_duration(duration d);
/// A time of day in local time, to the millisecond: "14:03:07.250".
std::string format_time(timestamp t);
timestamp now();

struct sample_context {
    boost::asio::io_context& ioc;
    const command_line& args;
    instance_store& store;
    std::string store_description;  ///< "the XML store in ...", for messages
};

struct sample_info {
    std::string name;   ///< the program's name, prefixed to its errors
    std::string usage;  ///< printed for --help and after a usage error
    std::string default_store;  ///< the XML store directory used without --store
};

using sample_body = std::function<boost::asio::awaitable<int>(sample_context&)>;

/// Parses the command line, opens the store, runs `body` on an io_context until it finishes,
/// and returns its exit status. `--help` prints the usage; a usage error exits 2; a failure
/// that escapes `body` (a store_error, a sample_failure, anything else) is printed as one line
/// and exits 1. The io_context stops when `body` finishes, so work the store may still have
/// queued (a stopped host has none) cannot keep the process alive.
int sample_main(const sample_info& info, int argc, char** argv, const store_options& options, const sample_body& body);

/// One line for an exception: a store_error with its code's name and diagnostics.
std::string describe_exception(const std::exception& e);

}  // namespace durable::samples
