#include "base64.hpp"

#include <array>
#include <cstring>

namespace durable::xml {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two characters of every 12-bit group, so that three bytes take two lookups.
constexpr std::array<std::array<char, 2>, 4096> pair_table = [] {
    std::array<std::array<char, 2>, 4096> table{};
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = {alphabet[i >> 6], alphabet[i & 63]};
    return table;
}();

/// The 6-bit value of each character; -1 for anything outside the alphabet.
constexpr std::array<std::int8_t, 256> values = [] {
    std::array<std::int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}();

}  // namespace

void append_base64(std::string& out, const std::uint8_t* data, std::size_t size) {
    const std::size_t start = out.size();
    out.resize(start + (size + 2) / 3 * 4);
    char* o = out.data() + start;
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3, o += 4) {
        const std::uint32_t n = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
        std::memcpy(o, pair_table[n >> 12].data(), 2);
        std::memcpy(o + 2, pair_table[n & 0xfff].data(), 2);
    }
    if (i < size) {  // one or two bytes left: two or three characters and padding
        const bool two = i + 1 < size;
        const std::uint32_t n = std::uint32_t{data[i]} << 16 | (two ? std::uint32_t{data[i + 1]} << 8 : 0u);
        o[0] = alphabet[(n >> 18) & 63];
        o[1] = alphabet[(n >> 12) & 63];
        o[2] = two ? alphabet[(n >> 6) & 63] : '=';
        o[3] = '=';
    }
}

bool decode_base64(std::string_view in, std::vector<std::uint8_t>& out) {
    out.assign(in.size() / 4 * 3, 0);
    std::size_t o = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        // Fast path: four plain characters make three bytes.
        if (bits == 0 && i + 4 <= in.size()) {
            const int a = values[static_cast<unsigned char>(in[i])];
            const int b = values[static_cast<unsigned char>(in[i + 1])];
            const int c = values[static_cast<unsigned char>(in[i + 2])];
            const int d = values[static_cast<unsigned char>(in[i + 3])];
            if ((a | b | c | d) >= 0) {
                const auto n = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
                out[o++] = static_cast<std::uint8_t>(n >> 16);
                out[o++] = static_cast<std::uint8_t>(n >> 8);
                out[o++] = static_cast<std::uint8_t>(n);
                i += 3;
                continue;
            }
        }
        // Slow path: padding, white space, or garbage.
        const char ch = in[i];
        if (ch == '=' || ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') continue;
        const int v = values[static_cast<unsigned char>(ch)];
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == out.size()) out.push_back(0);
            out[o++] = static_cast<std::uint8_t>((acc >> bits) & 0xff);
        }
    }
    out.resize(o);
    return true;
}

}  // namespace durable::xml
