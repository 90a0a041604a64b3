#pragma once
// Records <-> XML text. Bags are written as one <property> element per value, in a form a
// person can read and edit; parsing validates every required element and attribute and names
// the file and the parse offset or element when something is wrong. Every document is
// well-formed XML 1.0 and every value reads back exactly; the top of xml_format.cpp says how.

#include <durable/extension/records.hpp>

#include <string>
#include <string_view>

namespace durable::xml {

std::string render_owner(const extension::owner_record& r);
std::string render_instance(const extension::instance_record& r);
std::string render_key(const extension::key_record& r);
std::string render_store_header(int format_version);

// Each throws extension::record_error (corrupt_data or unsupported_format) naming `file`.
extension::owner_record parse_owner(std::string_view text, const std::string& file);
/// `with_data` false leaves the <data> elements unparsed and sets data_omitted; the control
/// fields, the instance's keys and its metadata are read either way.
extension::instance_record parse_instance(std::string_view text, const std::string& file, bool with_data = true);
extension::key_record parse_key(std::string_view text, const std::string& file);
int parse_store_header(std::string_view text, const std::string& file);

}  // namespace durable::xml
