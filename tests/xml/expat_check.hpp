#pragma once
// A second opinion on the files: expat, a strict, independent XML 1.0 parser. pugixml (the
// store's own parser) accepts much that XML forbids, such as raw control characters, &#1; and
// invalid UTF-8, so a file it reads back is not thereby a file other tools can read.

#include <expat.h>

#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace durable::xml::test {

/// Empty when `document` is well-formed XML 1.0 to expat, else expat's error and where.
inline std::string expat_error(std::string_view document) {
    const std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr), &XML_ParserFree);
    if (!parser) return "expat: out of memory";
    if (document.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return "document too large for one XML_Parse";
    if (XML_Parse(parser.get(), document.data(), static_cast<int>(document.size()), XML_TRUE) == XML_STATUS_OK) return {};
    return std::string(XML_ErrorString(XML_GetErrorCode(parser.get()))) + " at line " +
           std::to_string(XML_GetCurrentLineNumber(parser.get())) + ", column " +
           std::to_string(XML_GetCurrentColumnNumber(parser.get())) + " (byte " +
           std::to_string(XML_GetCurrentByteIndex(parser.get())) + ")";
}

/// An element as an application sees it through expat: attribute values after normalisation
/// and references, and the character data directly inside it.
struct expat_element {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::string text;
};

/// The elements of a well-formed document, in document order; empty when it is not.
inline std::vector<expat_element> expat_read(std::string_view document) {
    struct state {
        std::vector<expat_element> elements;
        std::vector<std::size_t> open;
    } st;
    const std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr), &XML_ParserFree);
    XML_SetUserData(parser.get(), &st);
    XML_SetElementHandler(
        parser.get(),
        [](void* data, const XML_Char* element, const XML_Char** attributes) {
            auto& s = *static_cast<state*>(data);
            expat_element e{element, {}, {}};
            for (auto a = attributes; *a != nullptr; a += 2) e.attributes.emplace_back(a[0], a[1]);
            s.open.push_back(s.elements.size());
            s.elements.push_back(std::move(e));
        },
        [](void* data, const XML_Char*) { static_cast<state*>(data)->open.pop_back(); });
    XML_SetCharacterDataHandler(parser.get(), [](void* data, const XML_Char* text, int size) {
        auto& s = *static_cast<state*>(data);
        s.elements[s.open.back()].text.append(text, static_cast<std::size_t>(size));
    });
    if (XML_Parse(parser.get(), document.data(), static_cast<int>(document.size()), XML_TRUE) != XML_STATUS_OK) return {};
    return std::move(st.elements);
}

}  // namespace durable::xml::test
