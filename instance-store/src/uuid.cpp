#include <durable/uuid.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace durable {

uuid random_uuid() {
    // random_generator seeds from the OS once; one per thread avoids a lock on every id.
    thread_local boost::uuids::random_generator generator;
    return generator();
}

std::string to_string(const uuid& id) { return boost::uuids::to_string(id); }

namespace {
int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::optional<uuid> parse_uuid(std::string_view text) noexcept {
    if (text.size() != 36) return std::nullopt;
    uuid id{};
    std::size_t byte = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return std::nullopt;
            ++i;
            continue;
        }
        const int high = hex_digit(text[i]);
        const int low = hex_digit(text[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        id.data[byte++] = static_cast<std::uint8_t>(high * 16 + low);
        i += 2;
    }
    return id;
}

}  // namespace durable
