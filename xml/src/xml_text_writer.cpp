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
}  // namespace

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
    close_start_tag_for_child();
    indent(stack_.size());
    out_ += '<';
    out_ += element;
    stack_.push_back({element, state::start_tag_open});
}

void xml_text_writer::escaped(std::string_view s, bool in_attribute) {
    // Runs of plain characters are appended whole; only the few special ones are looked at.
    std::size_t plain_from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        const char* entity = nullptr;
        char numeric[8];
        switch (c) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = in_attribute ? "&quot;" : nullptr; break;
        case '\n':
        case '\t':
            // Kept in text; an attribute's value would have them normalised to spaces.
            if (in_attribute) entity = c == '\n' ? "&#10;" : "&#9;";
            break;
        default:
            // A parser turns a raw \r into \n, and other control characters may not appear raw.
            if (c < 0x20) {
                auto [end, ec] = std::to_chars(numeric + 2, numeric + sizeof numeric - 1, static_cast<int>(c));
                (void)ec;
                numeric[0] = '&';
                numeric[1] = '#';
                *end++ = ';';
                *end = '\0';
                entity = numeric;
            }
        }
        if (entity == nullptr) continue;
        out_.append(s.data() + plain_from, i - plain_from);
        out_ += entity;
        plain_from = i + 1;
    }
    out_.append(s.data() + plain_from, s.size() - plain_from);
}

void xml_text_writer::attribute(std::string_view name, std::string_view value) {
    if (stack_.empty() || stack_.back().now != state::start_tag_open)
        throw std::logic_error("xml_text_writer: attributes go right after open_element()");
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
    if (content.find("--") != std::string_view::npos) throw std::logic_error("xml_text_writer: a comment cannot contain --");
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
