#pragma once
// Writes an XML document straight into one string, escaping as it goes. Records are rendered on
// every save, so going through a DOM (build the tree, then serialise it into a growing string)
// cost more than the fsync at 64 KB; this writer reserves once and appends.
//
// Everything it writes is well-formed XML 1.0: text and attribute values must be valid UTF-8
// made of XML 1.0 Chars (is_xml_text), names must be plain ASCII XML names; anything else is a
// caller's bug and throws std::logic_error rather than producing a file a parser rejects.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace durable::xml {

/// Whether `s` is well-formed UTF-8 whose every code point is an XML 1.0 Char (#x9 | #xA | #xD |
/// [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]): the strings the writer accepts as
/// text or attribute values. Callers encode anything else (base64) before writing it.
bool is_xml_text(std::string_view s) noexcept;

class xml_text_writer {
public:
    /// `expected_size`: a guess at the document's length, reserved up front.
    explicit xml_text_writer(std::size_t expected_size = 1024);

    /// `<?xml version="1.0" encoding="UTF-8"?>`; call first, once.
    void declaration();
    /// Starts `<element`; attributes may follow until content or close_element(). The name is
    /// kept for the end tag, so it must outlive the element (element names are literals).
    void open_element(std::string_view element);
    // Distinct names, not overloads: a string literal would otherwise convert to bool.
    /// Throws std::logic_error when `value` is not is_xml_text.
    void attribute(std::string_view name, std::string_view value);
    void integer_attribute(std::string_view name, std::int64_t value);
    void boolean_attribute(std::string_view name, bool value);
    /// Character content of the element opened last; it then takes no child elements. Throws
    /// std::logic_error when `content` is not is_xml_text.
    void text(std::string_view content);
    void integer_text(std::int64_t content);
    /// The bytes as base64 character content, written without a temporary string.
    void base64_text(const std::uint8_t* data, std::size_t size);
    void comment(std::string_view content);
    /// Closes the element opened last: `/>` when it is empty.
    void close_element();

    /// The finished document; every element must be closed.
    std::string finish();

private:
    enum class state : std::uint8_t { start_tag_open, has_children, has_text };
    struct open {
        std::string_view name;  // element names are string literals
        state now;
    };
    void close_start_tag_for_child();
    void close_start_tag_for_text();
    void indent(std::size_t depth);
    void escaped(std::string_view s, bool in_attribute);

    std::string out_;
    std::vector<open> stack_;
};

}  // namespace durable::xml
