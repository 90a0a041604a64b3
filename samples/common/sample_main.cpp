#include "sample_main.hpp"

#include "sample_store.hpp"

#include <durable/instance_store.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/co_spawn.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

namespace durable::samples {

const std::string& command_line::required(std::string_view name) const {
    const auto found = options.find(name);
    if (found == options.end()) throw usage_error("'" + command + "' needs --" + std::string(name));
    return found->second;
}

std::string command_line::get(std::string_view name, std::string fallback) const {
    const auto found = options.find(name);
    return found == options.end() ? fallback : found->second;
}

duration command_line::get_duration(std::string_view name, duration fallback) const {
    const auto found = options.find(name);
    if (found == options.end()) return fallback;
    const std::string& text = found->second;
    long long amount = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    if (ec != std::errc{} || amount < 0 || end == text.data())
        throw usage_error("--" + std::string(name) + " " + text + ": expected a duration such as 3s, 500ms or 2m");
    using namespace std::chrono;
    if (unit.empty() || unit == "s") return duration_cast<duration>(seconds{amount});
    if (unit == "ms") return duration_cast<duration>(milliseconds{amount});
    if (unit == "m" || unit == "min") return duration_cast<duration>(minutes{amount});
    if (unit == "h") return duration_cast<duration>(hours{amount});
    throw usage_error("--" + std::string(name) + " " + text + ": unknown unit '" + std::string(unit) +
                      "' (use ms, s, m or h)");
}

long command_line::get_count(std::string_view name, long fallback, long minimum) const {
    const auto found = options.find(name);
    if (found == options.end()) return fallback;
    const std::string& text = found->second;
    long n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < minimum)
        throw usage_error("--" + std::string(name) + " " + text + ": expected a whole number of at least " +
                          std::to_string(minimum));
    return n;
}

command_line parse_command_line(int argc, char** argv, std::string default_store) {
    command_line line;
    line.store = std::move(default_store);
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.starts_with("--")) {
            std::string name(arg.substr(2));
            std::string value;
            if (const auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            } else if (name == "help") {
                value = "yes";
            } else {
                if (i + 1 >= argc) throw usage_error("--" + name + " needs a value");
                value = argv[++i];
            }
            if (name.empty()) throw usage_error("an option without a name: " + std::string(arg));
            if (name == "store")
                line.store = std::move(value);
            else
                line.options[name] = std::move(value);
        } else if (arg == "-h") {
            line.options["help"] = "yes";
        } else if (line.command.empty()) {
            line.command = arg;
        } else {
            throw usage_error("unexpected argument '" + std::string(arg) + "'");
        }
    }
    if (line.store.empty()) throw usage_error("--store needs a directory or a PostgreSQL connection string");
    return line;
}

std::string format_duration(duration d) {
    using namespace std::chrono;
    if (d < seconds{1}) return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
    const auto total = duration_cast<seconds>(d).count();
    if (total < 60) return std::to_string(total) + " s";
    std::string text = std::to_string(total / 60) + " min";
    if (total % 60 != 0) text += " " + std::to_string(total % 60) + " s";
    return text;
}

std::string format_time(timestamp t) {
    using namespace std::chrono;
    const auto since_epoch = t.time_since_epoch();
    const std::time_t seconds_part = static_cast<std::time_t>(duration_cast<seconds>(since_epoch).count());
    const auto millis = duration_cast<milliseconds>(since_epoch).count() % 1000;
    std::tm local{};
    localtime_r(&seconds_part, &local);
    char text[32];
    std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03d", local.tm_hour, local.tm_min, local.tm_sec,
                  static_cast<int>(millis));
    return text;
}

timestamp now() {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
}

std::string describe_exception(const std::exception& e) {
    return e.what();
}

int sample_main(const sample_info& info, int argc, char** argv, const store_options& options, const sample_body& body) {
    command_line args;
    try {
        args = parse_command_line(argc, argv, info.default_store);
    } catch (const usage_error& e) {
        std::cerr << info.name << ": " << e.what() << "\n\n" << info.usage;
        return 2;
    }
    if (args.has("help")) {
        std::cout << info.usage;
        return 0;
    }
    if (args.command.empty()) {
        std::cerr << info.name << ": no command given\n\n" << info.usage;
        return 2;
    }

    boost::asio::io_context ioc;
    const std::string description = describe_store(args.store);
    std::unique_ptr<instance_store> store;
    try {
        store = open_store(ioc.get_executor(), args.store, options);
    } catch (const std::exception& e) {
        std::cerr << info.name << ": could not open " << description << ": " << describe_exception(e) << "\n";
        return 1;
    }

    sample_context context{ioc, args, *store, description};
    int exit_code = 1;
    boost::asio::co_spawn(ioc, body(context), [&](std::exception_ptr failure, int code) {
        exit_code = code;
        if (failure) {
            exit_code = 1;
            try {
                std::rethrow_exception(failure);
            } catch (const usage_error& e) {
                std::cerr << info.name << ": " << e.what() << "\n\n" << info.usage;
                exit_code = 2;
            } catch (const sample_failure& e) {
                std::cerr << info.name << ": " << e.what() << "\n";
            } catch (const std::exception& e) {
                std::cerr << info.name << ": failed: " << describe_exception(e) << "\n";
            }
        }
        ioc.stop();
    });
    ioc.run();
    return exit_code;
}

}  // namespace durable::samples
