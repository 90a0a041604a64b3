#include <durable/name.hpp>

namespace durable {

std::string name::to_string() const {
    if (ns.empty()) return local;
    std::string text;
    text.reserve(ns.size() + local.size() + 2);
    text.append("{").append(ns).append("}").append(local);
    return text;
}

}  // namespace durable
