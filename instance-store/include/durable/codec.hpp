#pragma once
// The bag codec: a documented, versioned binary form of a property bag, used for instance data,
// metadata, key metadata and owner metadata. The format is specified in docs/codec.md; the
// numbers below are part of it.
//
//   header   "DRBG" | format version (u8) | encoding (u8) | payload length before
//            compression (u32, little endian)
//   payload  (compressed per encoding) entry count (varint), then per entry:
//            namespace (string) | local name (string) | options (u8) | kind (u8) | value
//
// Decoding never trusts the input: every length is bounds-checked, every allocation is bounded
// by what the bytes can really hold (never by a length they merely claim), and malformed bytes
// yield errc::corrupt_data, a newer format version or unknown encoding errc::unsupported_format.

#include <durable/error.hpp>
#include <durable/instance_value.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace durable {

/// How the payload is compressed. Stored in every blob, so blobs of mixed encodings coexist.
enum class encoding : std::uint8_t { none = 0, gzip = 1, zstd = 2 };

const char* to_string(encoding e) noexcept;

inline constexpr std::uint8_t codec_format_version = 1;
/// The format's limit on a payload (uncompressed): encoding a larger bag throws
/// std::length_error, and a header claiming more is errc::corrupt_data.
inline constexpr std::size_t codec_max_payload_bytes = std::size_t{1} << 30;

/// Encodes `bag`. Deleted markers are encoded too (they matter in change bags).
bytes encode_bag(const property_bag& bag, encoding enc);
/// Encodes the entries of `bag` that `include` accepts (all when it is empty), without copying
/// them into a bag of their own first.
bytes encode_bag_if(const property_bag& bag, encoding enc, const std::function<bool(const instance_value&)>& include);

/// Decodes into `out` (cleared first). On failure `out` is empty and `what` says where the
/// bytes went wrong (e.g. "entry 3: string length 912 past end of payload at offset 40").
///
/// `max_payload_bytes` is the caller's limit on the decoded payload: a header claiming more is
/// errc::value_too_large, refused before anything is allocated or decompressed. A limit above
/// codec_max_payload_bytes has the effect of codec_max_payload_bytes.
error_code decode_bag(std::span<const std::uint8_t> blob, property_bag& out, std::string& what,
                      std::size_t max_payload_bytes = codec_max_payload_bytes);

/// One entry of an encoded bag, handed over without copying its payload: strings, bytes and
/// opaque data point into the blob (or into its decompressed form) while the visitor runs.
struct bag_entry_ref {
    name key;
    value_options options = value_options::none;
    bool deleted = false;
    value_kind kind = value_kind::null;
    value small;                            ///< the value, for kinds other than string, binary and opaque
    std::span<const std::uint8_t> payload;  ///< a string's characters, bytes, or opaque data
    std::string_view content_type;          ///< opaque only

    /// A copy of the value, of any kind.
    value to_value() const;
};
/// Returns nullptr to go on, or a short text saying what is wrong with the entry, which makes
/// the decoding fail with errc::corrupt_data.
using bag_entry_visitor = std::function<const char*(const bag_entry_ref&)>;

/// Walks an encoded bag entry by entry, with the same checks and limit as decode_bag (except
/// repeated names, which are the visitor's to refuse). For readers that do not need a
/// property_bag, such as a renderer of large values.
error_code decode_bag_entries(std::span<const std::uint8_t> blob, const bag_entry_visitor& visit, std::string& what,
                              std::size_t max_payload_bytes = codec_max_payload_bytes);

/// Reads only the header; for tools that report a blob's encoding and size.
struct bag_header {
    std::uint8_t format_version = 0;
    encoding enc = encoding::none;
    std::uint32_t payload_bytes = 0;
};
/// Checks the header as decode_bag does (the same errors for the same `max_payload_bytes`),
/// without looking at the payload.
error_code read_bag_header(std::span<const std::uint8_t> blob, bag_header& out, std::string& what,
                           std::size_t max_payload_bytes = codec_max_payload_bytes);

}  // namespace durable
