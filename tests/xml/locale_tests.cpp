// A host that calls setlocale(LC_ALL, "") in a locale with a decimal comma must write files that
// a process in any other locale reads back exactly, and read theirs. These machines have only
// the C and POSIX locales, so the test builds de_DE.UTF-8 itself (localedef, from the Debian
// package locales) in a temp directory and points LOCPATH at it.

#include "awkward_values.hpp"
#include "xml_fixture.hpp"

#include <bit>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

using namespace durable;
using namespace durable::xml;
using namespace durable::xml::test;

namespace {

/// de_DE.UTF-8, built in a temp directory. The process locale and LOCPATH are restored at the
/// end, whatever happens in between.
class decimal_comma_locale {
public:
    decimal_comma_locale() {
        if (const char* locpath = std::getenv("LOCPATH")) previous_locpath_ = locpath;
        fs::create_directories(dir_);
        const auto log = dir_ / "localedef.log";
        const auto command = "localedef -i de_DE -f UTF-8 '" + (dir_ / "de_DE.UTF-8").string() + "' >'" + log.string() + "' 2>&1";
        const int status = std::system(command.c_str());
        if (status != 0) why_not_ = "`" + command + "` failed (status " + std::to_string(status) + "): " + xml_fixture::read_file(log);
        setenv("LOCPATH", dir_.c_str(), 1);  // read by every setlocale call
    }
    ~decimal_comma_locale() {
        std::setlocale(LC_ALL, previous_locale_.c_str());
        if (previous_locpath_)
            setenv("LOCPATH", previous_locpath_->c_str(), 1);
        else
            unsetenv("LOCPATH");
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    decimal_comma_locale(const decimal_comma_locale&) = delete;
    decimal_comma_locale& operator=(const decimal_comma_locale&) = delete;

    /// Switches the whole process to de_DE.UTF-8, failing the test when that cannot be done:
    /// a test that silently stayed in "C" would prove nothing.
    void enter() {
        BOOST_TEST_REQUIRE(why_not_.empty(), "cannot build the de_DE.UTF-8 locale: " << why_not_);
        BOOST_TEST_REQUIRE(std::setlocale(LC_ALL, "de_DE.UTF-8") != nullptr, "setlocale(LC_ALL, \"de_DE.UTF-8\") failed with LOCPATH=" << dir_);
        BOOST_TEST_REQUIRE(std::string(std::localeconv()->decimal_point) == ",");
        char text[16];
        std::snprintf(text, sizeof text, "%g", 0.5);
        BOOST_TEST_REQUIRE(std::string(text) == "0,5", "the locale does not reach printf");
    }
    void leave() { BOOST_TEST_REQUIRE(std::setlocale(LC_ALL, "C") != nullptr); }

private:
    fs::path dir_ = fs::temp_directory_path() / ("durable-locale-" + to_string(random_uuid()));
    std::string previous_locale_ = std::setlocale(LC_ALL, nullptr);
    std::optional<std::string> previous_locpath_;
    std::string why_not_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(locale, xml_fixture)

BOOST_AUTO_TEST_CASE(doubles_saved_in_a_decimal_comma_locale_load_in_c_and_back) {
    decimal_comma_locale de;
    const property_bag values{
        {"half", instance_value(0.5)},
        {"large", instance_value(1e300)},
        {"negative zero", instance_value(-0.0)},
        {"nan", instance_value(std::numeric_limits<double>::quiet_NaN())},
        {"nan with payload", instance_value(std::bit_cast<double>(std::uint64_t{0xfff0000000c0ffee}))},
        {"tiny", instance_value(std::numeric_limits<double>::denorm_min())},
        {"infinity", instance_value(-std::numeric_limits<double>::infinity())},
    };
    for (const bool save_with_comma : {true, false}) {
        BOOST_TEST_CONTEXT((save_with_comma ? "saved in de_DE.UTF-8, loaded in C" : "saved in C, loaded in de_DE.UTF-8")) {
            const uuid id = random_uuid();
            save_with_comma ? de.enter() : de.leave();
            {
                auto store = open();
                cmd::save_workflow save;
                save.instance_data = values;
                save.unlock_instance = true;
                store->execute(store->create_instance_handle(id), save);
            }
            const auto text = read_file(dir / "instances" / (to_string(id) + ".xml"));
            BOOST_TEST(text.find(R"(kind="double">0.5<)") != std::string::npos, text);
            BOOST_TEST(text.find(R"(kind="double">1e+300<)") != std::string::npos, text);

            save_with_comma ? de.leave() : de.enter();
            auto store = open();  // a new store object: nothing comes from a cache
            const auto view = store->execute(store->create_instance_handle(id), cmd::load_workflow{});
            BOOST_TEST((bits_of(view.data) == bits_of(values)));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
