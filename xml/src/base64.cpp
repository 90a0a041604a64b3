#include "base64.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace durable::xml {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two characters of every 12-bit group as they lie in memory, so that six bytes become
/// eight characters with four lookups and one store.
constexpr std::array<std::uint16_t, 4096> pair_table = [] {
    std::array<std::uint16_t, 4096> table{};
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto first = static_cast<std::uint8_t>(alphabet[i >> 6]), second = static_cast<std::uint8_t>(alphabet[i & 63]);
        table[i] = std::endian::native == std::endian::little ? static_cast<std::uint16_t>(first | second << 8)
                                                               : static_cast<std::uint16_t>(first << 8 | second);
    }
    return table;
}();

/// The 6-bit value of each character; -1 for anything outside the alphabet.
constexpr std::array<std::int8_t, 256> values = [] {
    std::array<std::int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}();

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DURABLE_BASE64_AVX2 1

/// 24 bytes to 32 characters per step with AVX2 (the method of Muła and Lemire, "Faster Base64
/// Encoding and Decoding Using AVX2 Instructions", 2018). Returns the bytes it consumed; the
/// caller encodes the rest. Used only where the CPU has AVX2.
__attribute__((target("avx2"))) std::size_t encode_avx2(const std::uint8_t* data, std::size_t size, char* out) {
    // Each 3-byte group b0 b1 b2 becomes the 32-bit word (b1, b0, b2, b1), from which two
    // multiplications pull the four sextets into the four bytes.
    const __m256i spread = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                                            1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    // Sextet to character: the offset to add, picked by range (A-Z, a-z, 0-9, '+', '/').
    const __m256i offsets = _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,  //
                                             65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
    std::size_t i = 0;
    for (; i + 28 <= size; i += 24, out += 32) {  // each 16-byte load uses 12 bytes
        const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
        const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i + 12));
        const __m256i in = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1), spread);
        const __m256i a_c = _mm256_mulhi_epu16(_mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00)), _mm256_set1_epi32(0x04000040));
        const __m256i b_d = _mm256_mullo_epi16(_mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
        const __m256i sextets = _mm256_or_si256(a_c, b_d);
        __m256i range = _mm256_subs_epu8(sextets, _mm256_set1_epi8(51));
        range = _mm256_sub_epi8(range, _mm256_cmpgt_epi8(sextets, _mm256_set1_epi8(25)));
        const __m256i chars = _mm256_add_epi8(sextets, _mm256_shuffle_epi8(offsets, range));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), chars);
    }
    return i;
}

bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
}
#endif

}  // namespace

void append_base64(std::string& out, const std::uint8_t* data, std::size_t size) {
    const std::size_t start = out.size();
    out.resize(start + (size + 2) / 3 * 4);
    char* o = out.data() + start;
    std::size_t i = 0;
#ifdef DURABLE_BASE64_AVX2
    if (cpu_has_avx2()) {
        i = encode_avx2(data, size, o);
        o += i / 3 * 4;
    }
#endif
    // Six bytes at a time, read as one big-endian 64-bit word (two bytes of it unused).
    for (; i + 8 <= size; i += 6, o += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, sizeof word);
        if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
        const std::uint16_t chars[4] = {pair_table[(word >> 52) & 0xfff], pair_table[(word >> 40) & 0xfff],
                                        pair_table[(word >> 28) & 0xfff], pair_table[(word >> 16) & 0xfff]};
        std::memcpy(o, chars, sizeof chars);
    }
    for (; i + 3 <= size; i += 3, o += 4) {
        const std::uint32_t n = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
        const std::uint16_t chars[2] = {pair_table[n >> 12], pair_table[n & 0xfff]};
        std::memcpy(o, chars, sizeof chars);
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
