#include <durable/diagnostics.hpp>

namespace durable {

std::string diagnostics::to_string() const {
    std::string text = command.empty() ? std::string("durable") : command;
    if (!message.empty()) text += ": " + message;
    auto field = [&text](const char* label, const std::string& v) { text.append(" [").append(label).append(" ").append(v).append("]"); };
    if (instance_id) field("instance", durable::to_string(*instance_id));
    if (key) field("key", durable::to_string(*key));
    if (conflicting_instance_id) field("conflicting instance", durable::to_string(*conflicting_instance_id));
    if (lock_holder) field("held by owner", durable::to_string(*lock_holder));
    if (instance_version >= 0) field("version", std::to_string(instance_version));
    if (!server.sqlstate.empty() || !server.message.empty()) {
        text += " (server";
        if (!server.sqlstate.empty()) text += " " + server.sqlstate;
        if (!server.message.empty()) text += ": " + server.message;
        if (!server.detail.empty()) text += "; " + server.detail;
        text += ")";
    }
    return text;
}

}  // namespace durable
