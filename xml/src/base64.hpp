#pragma once
// Base64 (RFC 4648, with padding) for the binary values of the XML files: the bulk of a large
// instance file, so both directions work a table at a time rather than a character at a time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace durable::xml {

/// Appends the base64 text of `size` bytes to `out`.
void append_base64(std::string& out, const std::uint8_t* data, std::size_t size);

/// Decodes base64 into `out`, skipping white space (a person may have wrapped the text). False
/// on any other character outside the alphabet; `out` is then unspecified.
bool decode_base64(std::string_view in, std::vector<std::uint8_t>& out);

}  // namespace durable::xml
