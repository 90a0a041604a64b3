#include <durable/workflow_identity.hpp>

namespace durable {

std::string workflow_identity::to_string() const {
    std::string text = name;
    if (version) {
        text += "; Version=" + std::to_string(version->major) + "." + std::to_string(version->minor);
        if (version->build) {
            text += "." + std::to_string(*version->build);
            if (version->revision) text += "." + std::to_string(*version->revision);
        }
    }
    if (!package.empty()) text += "; Package=" + package;
    return text;
}

workflow_identity workflow_identity::without_revision() const {
    workflow_identity copy = *this;
    if (copy.version) copy.version->revision.reset();
    return copy;
}

}  // namespace durable
