#include "xml_text_writer.hpp"

#include "base64.hpp"

#include <charconv>
#include <stdexcept>

namespace durable::xml {
namespace {
/// The decimal digits of an integer, in a buffer of its own.
class decimal {
public:
    explicit decimal(std::int64_t v) : end_(std::to_chars(digits_, digits_ + sizeof digits_, v).ptr) {}  // 24 hold any int64
    std::string_view view() const { return {digits_, static_cast<std::size_t>(end_ - digits_)}; }

private:
    char digits_[24];
    char* end_;
};

/// The length of the character that starts `s` (not empty) when it is well-formed UTF-8 and an
/// XML 1.0 Char, else 0. Well-formed means the shortest form of a scalar value (Unicode table
/// 3-7): no overlong forms (C0 80), no surrogates (ED A0 80), nothing past U+10FFFF, no
/// truncated sequence and no stray continuation byte.
std::size_t xml_char_length(std::string_view s) noexcept {
    const auto byte = [s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return lead >= 0x20 || lead == '\t' || lead == '\n' || lead == '\r' ? 1 : 0;
    // The lead byte bounds the second byte: that is where overlong forms, surrogates and
    // values past U+10FFFF are told apart.
    std::size_t length = 0;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) second_min = 0xA0;
        if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) second_min = 0x90;
        if (lead == 0xF4) second_max = 0x8F;
    } else {
        return 0;
    }
    if (s.size() < length || byte(1) < second_min || byte(1) > second_max) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    if (lead == 0xEF && byte(1) == 0xBF && byte(2) >= 0xBE) return 0;  // U+FFFE, U+FFFF: not Chars
    return length;
}

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/// Element and attribute names are the format's own ASCII words ("host-type-ns-base64"); this
/// catches a name that would make the document unreadable, not every name XML allows.
void check_name(std::string_view name) {
    bool ok = !name.empty() && is_name_start(name.front());
    for (const char c : name) ok = ok && (is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.');
    if (!ok) throw std::logic_error("xml_text_writer: \"" + std::string(name) + "\" is not an element or attribute name it writes");
}
}  // namespace

bool is_xml_text(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x80) {  // most text: no need to decode
            ++i;
            continue;
        }
        const auto length = xml_char_length(s.substr(i));
        if (length == 0) return false;
        i += length;
    }
    return true;
}

xml_text_writer::xml_text_writer(std::size_t expected_size) { out_.reserve(expected_size); }

void xml_text_writer::declaration() { out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }

void xml_text_writer::indent(std::size_t depth) { out_.append(2 * depth, ' '); }

void xml_text_writer::close_start_tag_for_child() {
    if (stack_.empty()) return;
    auto& parent = stack_.back();
    if (parent.now == state::has_text) throw std::logic_error("xml_text_writer: an element with text takes no children");
    if (parent.now == state::start_tag_open) out_ += ">\n";
    parent.now = state::has_children;
}

void xml_text_writer::close_start_tag_for_text() {
    if (stack_.empty() || stack_.back().now != state::start_tag_open)
        throw std::logic_error("xml_text_writer: text goes right after an element's attributes");
    out_ += '>';
    stack_.back().now = state::has_text;
}

void xml_text_writer::open_element(std::string_view element) {
    check_name(element);
    close_start_tag_for_child();
    indent(stack_.size());
    out_ += '<';
    out_ += element;
    stack_.push_back({element, state::start_tag_open});
}

void xml_text_writer::escaped(std::string_view s, bool in_attribute) {
    // Runs of plain characters are appended whole; only the few special ones are looked at.
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const char* entity = nullptr;
        switch (c) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;  // text may not contain "]]>"
        case '"': entity = in_attribute ? "&quot;" : nullptr; break;
        // A parser turns a raw \t or \n in an attribute value into a space, and a raw \r
        // anywhere (alone or before \n) into \n; references reach the application unchanged.
        case '\t': entity = in_attribute ? "&#9;" : nullptr; break;
        case '\n': entity = in_attribute ? "&#10;" : nullptr; break;
        case '\r': entity = "&#13;"; break;
        default:
            if (c >= 0x20 && c < 0x80) break;
            if (const auto length = xml_char_length(s.substr(i))) {
                i += length;
                continue;
            }
            // Whatever was appended so far makes a broken document: the caller must drop it.
            throw std::logic_error("xml_text_writer: byte " + std::to_string(c) + " at offset " + std::to_string(i) +
                                   " does not start an XML 1.0 character in UTF-8; encode such strings");
        }
        if (entity != nullptr) {
            out_.append(s.data() + plain_from, i - plain_from);
            out_ += entity;
            plain_from = i + 1;
        }
        ++i;
    }
    out_.append(s.data() + plain_from, s.size() - plain_from);
}

void xml_text_writer::attribute(std::string_view name, std::string_view value) {
    if (stack_.empty() || stack_.back().now != state::start_tag_open)
        throw std::logic_error("xml_text_writer: attributes go right after open_element()");
    check_name(name);
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    escaped(value, true);
    out_ += '"';
}

void xml_text_writer::integer_attribute(std::string_view name, std::int64_t value) { attribute(name, decimal(value).view()); }

void xml_text_writer::boolean_attribute(std::string_view name, bool value) { attribute(name, value ? "true" : "false"); }

void xml_text_writer::text(std::string_view content) {
    close_start_tag_for_text();
    escaped(content, false);
}

void xml_text_writer::integer_text(std::int64_t content) { text(decimal(content).view()); }

void xml_text_writer::base64_text(const std::uint8_t* data, std::size_t size) {
    close_start_tag_for_text();
    append_base64(out_, data, size);  // the alphabet needs no escaping
}

void xml_text_writer::comment(std::string_view content) {
    if (content.find("--") != std::string_view::npos || content.ends_with('-') || !is_xml_text(content))
        throw std::logic_error("xml_text_writer: a comment holds XML 1.0 characters, without -- or a final -");
    close_start_tag_for_child();
    indent(stack_.size());
    out_ += "<!--";
    out_ += content;
    out_ += "-->\n";
}

void xml_text_writer::close_element() {
    if (stack_.empty()) throw std::logic_error("xml_text_writer: no element is open");
    const auto [name, now] = stack_.back();
    stack_.pop_back();
    switch (now) {
    case state::start_tag_open:
        out_ += " />\n";
        return;
    case state::has_children:
        indent(stack_.size());
        break;
    case state::has_text:
        break;
    }
    out_ += "</";
    out_ += name;
    out_ += ">\n";
}

std::string xml_text_writer::finish() {
    if (!stack_.empty()) throw std::logic_error("xml_text_writer: <" + std::string(stack_.back().name) + "> is still open");
    return std::move(out_);
}

}  // namespace durable::xml
