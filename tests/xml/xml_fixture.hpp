#pragma once
#include <durable/commands/command.hpp>
#include <durable/store_error.hpp>
#include <durable/xml/testing.hpp>
#include <durable/xml_instance_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

namespace durable::xml::test {

namespace fs = std::filesystem;
namespace cmd = durable::commands;

/// A unique temp directory, removed at the end; helpers that use the blocking API.
struct xml_fixture {
    fs::path dir = fs::temp_directory_path() / ("durable-xml-" + to_string(random_uuid()));
    boost::asio::io_context ioc;

    ~xml_fixture() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    /// A store over `directory` with a fresh owner, to which its handles bind; background tasks
    /// off. A fault hook, when given, is called before each step of every durable write.
    static std::unique_ptr<xml_instance_store> open_with_owner(boost::asio::io_context& context, const fs::path& directory,
                                                               store_options options = {}, xml_store_settings settings = {},
                                                               testing::fault_hook hook = {}) {
        options.run_background_tasks = false;
        auto store = hook ? testing::seam::open(context.get_executor(), directory, std::move(options), std::move(settings),
                                                std::move(hook))
                          : std::make_unique<xml_instance_store>(context.get_executor(), directory, std::move(options),
                                                                 std::move(settings));
        auto handle = store->create_instance_handle();
        cmd::create_workflow_owner create;
        create.workflow_host_type = name{"urn:durable:test", "XmlHost"};
        store->execute(handle, create);
        return store;
    }

    std::unique_ptr<xml_instance_store> open(store_options options = {}, xml_store_settings settings = {},
                                             testing::fault_hook hook = {}) {
        return open_with_owner(ioc, dir, std::move(options), std::move(settings), std::move(hook));
    }

    /// Commit journals in the store directory (present only while a commit is being applied).
    std::size_t journal_files() const {
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
            const auto name = e.path().filename().string();
            n += name.starts_with("journal.") && name.ends_with(".xml");
        }
        return n;
    }

    static void write_file(const fs::path& file, const std::string& text) {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << text;
    }
    static std::string read_file(const fs::path& file) {
        std::ifstream in(file, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
};

/// Runs `body` in a child process; the child never returns into the test framework.
template <class Body>
pid_t spawn(Body body) {
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        int code = 0;
        try {
            code = body();
        } catch (...) {
            code = 99;
        }
        std::_Exit(code);
    }
    return pid;
}

inline int wait_exit_code(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline cmd::save_workflow save_counter(std::int64_t n, bool unlock = true) {
    cmd::save_workflow save;
    save.instance_data = property_bag{{"counter", instance_value(n)}};
    save.unlock_instance = unlock;
    return save;
}

inline std::int64_t counter_of(const instance_view& v) { return std::get<std::int64_t>(v.data.at("counter").get()); }

}  // namespace durable::xml::test
