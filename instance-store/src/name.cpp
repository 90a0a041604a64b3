#include <durable/name.hpp>

#include <stdexcept>

namespace durable {

std::string name::to_string() const {
    if (ns.empty()) return local;
    std::string text;
    text.reserve(ns.size() + local.size() + 2);
    text.append("{").append(ns).append("}").append(local);
    return text;
}

name name::parse(std::string_view text) {
    if (!text.empty() && text.front() == '{') {
        const auto close = text.find('}');
        if (close == std::string_view::npos)
            throw std::invalid_argument("name: unterminated '{' in \"" + std::string(text) + "\"");
        name n{std::string(text.substr(1, close - 1)), std::string(text.substr(close + 1))};
        if (n.local.empty()) throw std::invalid_argument("name: empty local part in \"" + std::string(text) + "\"");
        return n;
    }
    if (text.empty()) throw std::invalid_argument("name: empty");
    return name{std::string(text)};
}

}  // namespace durable
