// The host's error category, run_status names, option checks and correlation keys.

#include <durable/host/host_error.hpp>
#include <durable/host/host_options.hpp>
#include <durable/host/instance_status.hpp>
#include <durable/host/workflow_host.hpp>

#include <boost/uuid/name_generator_sha1.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace durable::host {

namespace {

class host_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "durable.host"; }
    std::string message(int code) const override {
        switch (static_cast<host_errc>(code)) {
            case host_errc::bookmark_not_found: return "the instance does not wait for that bookmark";
            case host_errc::definition_not_found: return "this host has no definition of the instance's name and version";
            case host_errc::instance_suspended: return "the instance is suspended";
            case host_errc::instance_not_running: return "the instance has completed, faulted or been terminated";
            case host_errc::host_stopped: return "the host is stopping or stopped";
            case host_errc::already_running: return "the host is already running";
        }
        return "unknown host error " + std::to_string(code);
    }
};

}  // namespace

const boost::system::error_category& host_category() noexcept {
    static const host_category_impl category;
    return category;
}

const char* to_string(run_status s) noexcept {
    switch (s) {
        case run_status::running: return "running";
        case run_status::waiting: return "waiting";
        case run_status::completed: return "completed";
        case run_status::faulted: return "faulted";
        case run_status::terminated: return "terminated";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, run_status s) { return out << to_string(s); }

void host_options::validate() const {
    if (host_type.local.empty()) throw std::invalid_argument("host_options::host_type must be set");
    if (max_runnable_in_flight == 0) throw std::invalid_argument("host_options::max_runnable_in_flight must be at least 1");
    if (unload_after_idle && *unload_after_idle < std::chrono::milliseconds::zero())
        throw std::invalid_argument("host_options::unload_after_idle is negative");
}

uuid key_for(std::string_view text) {
    // A fixed namespace of durable's own, so keys made from text never meet another library's.
    static constexpr uuid key_namespace{{0x6c, 0x1f, 0x3e, 0x0a, 0x52, 0x9b, 0x4d, 0x2e, 0x9a, 0x41, 0x0d, 0x7e, 0x35,
                                         0xb2, 0xc8, 0x19}};
    boost::uuids::name_generator_sha1 generate(key_namespace);
    return generate(text.data(), text.size());
}

}  // namespace durable::host
