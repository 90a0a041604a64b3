// Records <-> XML text, format version 2 (namespace urn:durable:xml-store:2).
//
// Every value the API accepts comes back exactly, and every file is well-formed XML 1.0 that any
// conforming parser accepts:
//  - Strings. A string that is valid UTF-8 made only of XML 1.0 Chars (is_xml_text) is written
//    as it is, escaped (\t \n \r as character references wherever a parser would normalise
//    them). Any other string (NUL and the other C0 controls, invalid or overlong UTF-8,
//    surrogates, U+FFFE, U+FFFF) is written as the base64 of its bytes: attribute `foo="..."`
//    becomes `foo-base64="..."`, and a string value's element gets `encoding="base64"`. This
//    holds for every string position: names' parts, content types, the machine name, status
//    texts, identity name and package. Readers accept either form, never both.
//  - Names are two strings, never the ambiguous "{ns}local" text: the local part in `foo`, the
//    namespace in `foo-ns` (absent when empty), each with its -base64 form. foo is `name` for
//    property names, `host-type` for host types and `value` for name values (which, unlike
//    the others, may have an empty local part).
//  - Numbers are written with std::to_chars and read with std::from_chars, whatever the
//    process locale. A double is its shortest round-trip text ("0.5", "-0", "inf"); a NaN also
//    carries `bits`, its 64-bit pattern in 16 hex digits, which is read in preference to the
//    text so that its sign and payload survive.
//  - Timestamps and durations are integer microseconds; the `utc` and `*-utc` attributes are
//    for people and are not read.
//  - An instance lists the ids of its keys, ascending, as <key id=".."/> children.
//  - An instance's promoted values (durable/promotion.hpp) are one <promoted promotion="..">
//    element per promotion that has values, holding <property> elements as a bag does, after
//    the <data> elements. They came with format 2 unchanged: the element is optional (a file
//    without it has no promoted values), and a reader of an earlier build passes over it, so
//    files stay readable both ways. Such a reader drops the element when it rewrites the
//    instance; that build cannot promote, and the next save with data of a promoting store
//    writes the values again.

#include "xml_format.hpp"

#include "base64.hpp"
#include "xml_text_writer.hpp"

#include <durable/codec.hpp>
#include <durable/extension/record_store.hpp>

#include <pugixml.hpp>

#include <bit>
#include <charconv>
#include <cmath>

namespace durable::xml {
namespace {

using extension::record_error;
constexpr const char* xmlns = "urn:durable:xml-store:2";

// ---- scalar text forms -----------------------------------------------------------------

/// Appends `v` in decimal, its digits zero-padded to `width`.
void append_padded(std::string& out, std::int64_t v, std::size_t width) {
    char buf[24];  // any int64
    std::string_view digits(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    if (v < 0) {
        out += '-';
        digits.remove_prefix(1);
    }
    if (digits.size() < width) out.append(width - digits.size(), '0');
    out += digits;
}

/// ISO 8601 text of a timestamp, for people reading the files. Integer arithmetic throughout
/// (H. Hinnant's civil_from_days), so it is defined for every int64 count of microseconds
/// (years -290308 to 294247), which gmtime and int-sized fields are not.
std::string utc_text(timestamp t) {
    constexpr std::int64_t micros_per_day = 86'400'000'000;
    const std::int64_t micros = t.time_since_epoch().count();
    // Floored, so that a time before 1970 still has a positive time of day.
    std::int64_t days = micros / micros_per_day;
    std::int64_t of_day = micros % micros_per_day;
    if (of_day < 0) {
        days -= 1;
        of_day += micros_per_day;
    }
    // Eras of 400 years starting on 0000-03-01, so that leap days fall at the end of a year.
    const std::int64_t z = days + 719'468;
    const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
    const std::int64_t day_of_era = z - era * 146'097;
    const std::int64_t year_of_era = (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
    const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t month_from_march = (5 * day_of_year + 2) / 153;
    const std::int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    const std::int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
    std::string text;
    text.reserve(32);
    append_padded(text, year, 4);
    text += '-';
    append_padded(text, month, 2);
    text += '-';
    append_padded(text, day, 2);
    text += 'T';
    append_padded(text, of_day / 3'600'000'000, 2);
    text += ':';
    append_padded(text, of_day / 60'000'000 % 60, 2);
    text += ':';
    append_padded(text, of_day / 1'000'000 % 60, 2);
    text += '.';
    append_padded(text, of_day % 1'000'000, 6);
    text += 'Z';
    return text;
}

template <class Int>
bool parse_int(std::string_view s, Int& out, int base = 10) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc{} && p == s.data() + s.size();
}

/// A NaN's bit pattern in 16 hex digits: to_chars writes every NaN as "nan" or "-nan".
std::string nan_bits_text(double d) {
    auto bits = std::bit_cast<std::uint64_t>(d);
    std::string text(16, '0');
    for (auto digit = text.rbegin(); digit != text.rend(); ++digit, bits >>= 4) *digit = "0123456789abcdef"[bits & 15];
    return text;
}

// ---- errors ------------------------------------------------------------------------------

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
    throw record_error(errc::corrupt_data, file + ": " + what);
}

/// An element path for messages, e.g. "/instance/data/property[3]".
std::string path_of(const pugi::xml_node& node) { return node.path('/'); }

std::string required_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    const auto a = node.attribute(attr);
    if (!a) corrupt(file, "element " + path_of(node) + " lacks the required attribute '" + attr + "'");
    return a.value();
}

std::int64_t int_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    std::int64_t v = 0;
    const auto text = required_attribute(node, attr, file);
    if (!parse_int(text, v)) corrupt(file, "attribute '" + std::string(attr) + "' of " + path_of(node) + " is not an integer: \"" + text + "\"");
    return v;
}

bool bool_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    const auto text = required_attribute(node, attr, file);
    if (text == "true") return true;
    if (text == "false") return false;
    corrupt(file, "attribute '" + std::string(attr) + "' of " + path_of(node) + " is not true or false: \"" + text + "\"");
}

uuid uuid_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    const auto text = required_attribute(node, attr, file);
    auto id = parse_uuid(text);
    if (!id) corrupt(file, "attribute '" + std::string(attr) + "' of " + path_of(node) + " is not a uuid: \"" + text + "\"");
    return *id;
}

std::optional<uuid> optional_uuid(const pugi::xml_node& node, const char* attr, const std::string& file) {
    if (!node.attribute(attr)) return std::nullopt;
    return uuid_attribute(node, attr, file);
}

void time_attributes(xml_text_writer& w, std::string_view attr, timestamp t) {
    w.integer_attribute(attr, std::int64_t{t.time_since_epoch().count()});
    w.attribute(std::string(attr) + "-utc", utc_text(t));  // for people; not read
}

timestamp time_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    return timestamp{duration{int_attribute(node, attr, file)}};
}

std::optional<timestamp> optional_time(const pugi::xml_node& node, const char* attr, const std::string& file) {
    if (!node.attribute(attr)) return std::nullopt;
    return time_attribute(node, attr, file);
}

/// Writes `value` as attribute `attr`, or as `attr-base64` when XML 1.0 cannot carry it.
void string_attribute(xml_text_writer& w, std::string_view attr, std::string_view value) {
    if (is_xml_text(value)) {
        w.attribute(attr, value);
        return;
    }
    std::string encoded;
    append_base64(encoded, reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
    w.attribute(std::string(attr) + "-base64", encoded);
}

[[noreturn]] void missing_string(const pugi::xml_node& node, std::string_view attr, const std::string& file) {
    corrupt(file, "element " + path_of(node) + " lacks the required attribute '" + std::string(attr) + "' (or '" +
                      std::string(attr) + "-base64')");
}

/// Reads what string_attribute wrote: `attr` or `attr-base64`; nullopt when neither is there.
std::optional<std::string> optional_string(const pugi::xml_node& node, std::string_view attr, const std::string& file) {
    const std::string plain_name(attr);
    const std::string encoded_name = plain_name + "-base64";
    const auto plain = node.attribute(plain_name.c_str());
    const auto encoded = node.attribute(encoded_name.c_str());
    if (plain && encoded) corrupt(file, "element " + path_of(node) + " has both '" + plain_name + "' and '" + encoded_name + "'");
    if (plain) return std::string(plain.value());
    if (!encoded) return std::nullopt;
    bytes b;
    if (!decode_base64(encoded.value(), b))
        corrupt(file, "attribute '" + encoded_name + "' of " + path_of(node) + " is not base64");
    return std::string(b.begin(), b.end());
}

std::string required_string(const pugi::xml_node& node, std::string_view attr, const std::string& file) {
    auto s = optional_string(node, attr, file);
    if (!s) missing_string(node, attr, file);
    return std::move(*s);
}

/// A name as two string attributes, `attr` (local part) and `attr-ns` (namespace, when not empty).
void name_attributes(xml_text_writer& w, std::string_view attr, const name& n) {
    string_attribute(w, attr, n.local);
    if (!n.ns.empty()) string_attribute(w, std::string(attr) + "-ns", n.ns);
}

std::optional<name> optional_name(const pugi::xml_node& node, std::string_view attr, const std::string& file) {
    auto local = optional_string(node, attr, file);
    auto ns = optional_string(node, std::string(attr) + "-ns", file);
    if (!local) {
        if (ns) missing_string(node, attr, file);  // a namespace without a local part
        return std::nullopt;
    }
    return name{ns.value_or(std::string()), std::move(*local)};
}

name required_name(const pugi::xml_node& node, std::string_view attr, const std::string& file) {
    auto n = optional_name(node, attr, file);
    if (!n) missing_string(node, attr, file);
    return std::move(*n);
}

// ---- bags --------------------------------------------------------------------------------

/// A <property> element's value: its kind and any attributes that go with it, then its text.
/// Taken straight from the encoded bag, so large values go from the blob into the document
/// without a copy in between.
void render_value(xml_text_writer& w, const bag_entry_ref& entry) {
    w.attribute("kind", to_string(entry.kind));
    switch (entry.kind) {
        case value_kind::string: {
            const std::string_view text(reinterpret_cast<const char*>(entry.payload.data()), entry.payload.size());
            if (is_xml_text(text)) {
                w.text(text);
            } else {
                w.attribute("encoding", "base64");
                w.base64_text(entry.payload.data(), entry.payload.size());
            }
            return;
        }
        case value_kind::binary:
            w.base64_text(entry.payload.data(), entry.payload.size());
            return;
        case value_kind::opaque:
            string_attribute(w, "content-type", entry.content_type);
            w.base64_text(entry.payload.data(), entry.payload.size());
            return;
        default:
            break;
    }
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) {
                w.text(x ? "true" : "false");
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                w.integer_text(x);
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isnan(x)) w.attribute("bits", nan_bits_text(x));
                char buf[32];  // the longest shortest form is 24 characters: "-2.2250738585072014e-308"
                w.text(std::string_view(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, x).ptr - buf)));
            } else if constexpr (std::is_same_v<T, uuid>) {
                w.text(to_string(x));
            } else if constexpr (std::is_same_v<T, timestamp>) {
                w.attribute("utc", utc_text(x));
                w.integer_text(std::int64_t{x.time_since_epoch().count()});
            } else if constexpr (std::is_same_v<T, duration>) {
                w.integer_text(std::int64_t{x.count()});
            } else if constexpr (std::is_same_v<T, name>) {
                name_attributes(w, "value", x);
            }
            // null and names have no text; strings, bytes and opaque data were rendered from the payload
        },
        entry.small);
}

value parse_value(const pugi::xml_node& p, const std::string& file) {
    const std::string kind = required_attribute(p, "kind", file);
    const std::string_view text = p.text().get();  // no copy: large values are base64 text
    auto bad = [&]() -> value {
        corrupt(file, path_of(p) + ": \"" + std::string(text.substr(0, 40)) + "\" is not a valid " + kind);
    };
    auto blob = [&] {
        bytes b;
        if (!decode_base64(text, b)) bad();
        return b;
    };
    if (kind == "null") return std::monostate{};
    if (kind == "bool") return text == "true" ? value(true) : text == "false" ? value(false) : bad();
    if (kind == "int64") {
        std::int64_t v = 0;
        return parse_int(text, v) ? value(v) : bad();
    }
    if (kind == "double") {
        double d = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) bad();
        const auto bits = p.attribute("bits");
        if (!bits) return d;
        std::uint64_t pattern = 0;
        const std::string_view bits_text = bits.value();
        if (bits_text.size() != 16 || !parse_int(bits_text, pattern, 16) || !std::isnan(std::bit_cast<double>(pattern)) || !std::isnan(d))
            corrupt(file, path_of(p) + ": bits=\"" + std::string(bits_text.substr(0, 20)) +
                              "\" is not the 16 hex digits of a NaN, or the value is not nan");
        return std::bit_cast<double>(pattern);
    }
    if (kind == "string") {
        const auto encoding = p.attribute("encoding");
        if (!encoding) return std::string(text);
        if (std::string_view(encoding.value()) != "base64")
            corrupt(file, path_of(p) + ": unknown encoding \"" + encoding.value() + "\"");
        const auto b = blob();
        return std::string(b.begin(), b.end());
    }
    if (kind == "bytes") return blob();
    if (kind == "uuid") {
        auto id = parse_uuid(text);
        return id ? value(*id) : bad();
    }
    if (kind == "timestamp" || kind == "duration") {
        std::int64_t v = 0;
        if (!parse_int(text, v)) bad();
        return kind == "timestamp" ? value(timestamp{duration{v}}) : value(duration{v});
    }
    if (kind == "name") return required_name(p, "value", file);
    if (kind == "opaque") return opaque{required_string(p, "content-type", file), blob()};
    corrupt(file, path_of(p) + ": unknown value kind \"" + kind + "\"");
}

/// The <property> children of an open element, one per entry of `blob`.
void render_bag_entries(xml_text_writer& w, const bytes& blob) {
    std::string why;
    const auto ec = decode_bag_entries(
        blob,
        [&w](const bag_entry_ref& entry) -> const char* {
            w.open_element("property");
            name_attributes(w, "name", entry.key);
            if (has_option(entry.options, value_options::optional)) w.boolean_attribute("optional", true);
            if (has_option(entry.options, value_options::write_only)) w.boolean_attribute("write-only", true);
            if (entry.deleted)
                w.boolean_attribute("deleted", true);
            else
                render_value(w, entry);
            w.close_element();
            return nullptr;
        },
        why);
    if (ec) throw record_error(errc::corrupt_data, std::string("cannot render bag: ") + why);
}

void render_bag(xml_text_writer& w, const char* element, const bytes& blob, const char* part = nullptr) {
    if (blob.empty()) return;
    w.open_element(element);
    if (part != nullptr) w.attribute("part", part);
    render_bag_entries(w, blob);
    w.close_element();
}

bytes parse_bag(const pugi::xml_node& node, const std::string& file) {
    if (!node) return {};
    property_bag bag;
    for (const auto& p : node.children()) {
        if (p.type() != pugi::node_element) continue;
        if (std::string_view(p.name()) != "property") corrupt(file, "unexpected element " + path_of(p));
        name key = required_name(p, "name", file);
        if (key.local.empty()) corrupt(file, path_of(p) + ": a property name's local part may not be empty");
        value_options options = value_options::none;
        if (p.attribute("optional").as_bool()) options = options | value_options::optional;
        if (p.attribute("write-only").as_bool()) options = options | value_options::write_only;
        instance_value v = p.attribute("deleted").as_bool() ? instance_value::deleted()
                                                              : instance_value(parse_value(p, file), options);
        if (!bag.emplace(std::move(key), std::move(v)).second) corrupt(file, path_of(p) + " repeats a property name");
    }
    return bag.empty() ? bytes{} : encode_bag(bag, encoding::none);
}

// ---- documents ---------------------------------------------------------------------------

/// A writer with the declaration and the root element open, sized for `payload` bytes of
/// values (base64 makes four characters of three bytes).
xml_text_writer new_document(const char* root, std::size_t payload = 0) {
    xml_text_writer w(1024 + payload / 3 * 4);
    w.declaration();
    w.open_element(root);
    w.attribute("xmlns", xmlns);
    return w;
}

std::string finish_document(xml_text_writer& w) {
    w.close_element();
    return w.finish();
}

pugi::xml_node load_root(pugi::xml_document& doc, std::string_view text, const char* element, const std::string& file) {
    if (text.empty()) corrupt(file, "the file is empty");
    // parse_ws_pcdata_single keeps a value that is all white space, such as a string of one space.
    const auto result = doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
    if (!result)
        corrupt(file, "XML parse error at offset " + std::to_string(result.offset) + ": " + result.description());
    auto root = doc.document_element();
    if (std::string_view(root.name()) != element)
        corrupt(file, "the root element is <" + std::string(root.name()) + ">, expected <" + element + ">");
    if (std::string_view(root.attribute("xmlns").value()) != xmlns)
        throw record_error(errc::unsupported_format, file + ": namespace \"" + root.attribute("xmlns").value() +
                                                         "\" is not " + xmlns + " (a foreign file, or one of another format version)");
    return root;
}

void render_identity(xml_text_writer& w, const workflow_identity& id) {
    w.open_element("identity");
    string_attribute(w, "name", id.name);
    if (!id.package.empty()) string_attribute(w, "package", id.package);
    if (id.version) {
        w.integer_attribute("major", std::int64_t{id.version->major});
        w.integer_attribute("minor", std::int64_t{id.version->minor});
        if (id.version->build) w.integer_attribute("build", std::int64_t{*id.version->build});
        if (id.version->revision) w.integer_attribute("revision", std::int64_t{*id.version->revision});
    }
    w.close_element();
}

workflow_identity parse_identity(const pugi::xml_node& node, const std::string& file) {
    workflow_identity id;
    id.name = required_string(node, "name", file);
    id.package = optional_string(node, "package", file).value_or(std::string());
    if (node.attribute("major")) {
        definition_version v;
        v.major = int_attribute(node, "major", file);
        v.minor = int_attribute(node, "minor", file);
        if (node.attribute("build")) v.build = int_attribute(node, "build", file);
        if (node.attribute("revision")) v.revision = int_attribute(node, "revision", file);
        id.version = v;
    }
    return id;
}

}  // namespace

std::string render_owner(const extension::owner_record& r) {
    auto w = new_document("owner", r.metadata.size() + r.write_only_metadata.size());
    w.attribute("id", to_string(r.id));
    time_attributes(w, "lease-expires", r.lease_expires);
    time_attributes(w, "created", r.created);
    if (r.workflow_host_type) name_attributes(w, "host-type", *r.workflow_host_type);
    string_attribute(w, "machine", r.machine_name);
    w.boolean_attribute("activation-service", r.activation_service);
    w.boolean_attribute("deletes-instances-on-completion", r.deletes_instances_on_completion);
    w.integer_attribute("identity-filter", std::int64_t{static_cast<int>(r.filter)});
    for (const auto& id : r.identities) render_identity(w, id);
    render_bag(w, "metadata", r.metadata);
    render_bag(w, "write-only-metadata", r.write_only_metadata);
    return finish_document(w);
}

extension::owner_record parse_owner(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "owner", file);
    extension::owner_record r;
    r.id = uuid_attribute(root, "id", file);
    r.lease_expires = time_attribute(root, "lease-expires", file);
    r.created = time_attribute(root, "created", file);
    r.workflow_host_type = optional_name(root, "host-type", file);
    r.machine_name = required_string(root, "machine", file);
    r.activation_service = bool_attribute(root, "activation-service", file);
    r.deletes_instances_on_completion = bool_attribute(root, "deletes-instances-on-completion", file);
    const auto filter = int_attribute(root, "identity-filter", file);
    if (filter < 0 || filter > 2) corrupt(file, "identity-filter " + std::to_string(filter) + " is not 0, 1 or 2");
    r.filter = static_cast<identity_filter>(filter);
    for (const auto& node : root.children("identity")) r.identities.push_back(parse_identity(node, file));
    r.metadata = parse_bag(root.child("metadata"), file);
    r.write_only_metadata = parse_bag(root.child("write-only-metadata"), file);
    return r;
}

std::string render_instance(const extension::instance_record& r) {
    if (r.data_omitted)  // writing it would drop the instance's data
        throw record_error(errc::store_unavailable, "internal error: instance " + to_string(r.id) +
                                                        " was read without its data and not given new data");
    auto w = new_document("instance", r.read_write_primitive.size() + r.read_write_complex.size() +
                                          r.write_only_primitive.size() + r.write_only_complex.size() + r.metadata.size());
    w.attribute("id", to_string(r.id));
    w.integer_attribute("version", r.version);
    if (r.lock_owner) w.attribute("lock-owner", to_string(*r.lock_owner));
    w.boolean_attribute("initialized", r.initialized);
    w.boolean_attribute("completed", r.completed);
    w.boolean_attribute("suspended", r.suspended);
    w.boolean_attribute("ready-to-run", r.ready_to_run);
    if (r.pending_timer) time_attributes(w, "pending-timer", *r.pending_timer);
    if (r.runnable_time) time_attributes(w, "runnable-time", *r.runnable_time);
    if (r.workflow_host_type) name_attributes(w, "host-type", *r.workflow_host_type);
    time_attributes(w, "created", r.creation_time);
    if (r.last_updated) time_attributes(w, "last-updated", *r.last_updated);
    if (r.identity) render_identity(w, *r.identity);
    w.open_element("status");
    string_attribute(w, "execution", r.execution_status);
    string_attribute(w, "bookmarks", r.blocking_bookmarks);
    string_attribute(w, "suspension-reason", r.suspension_reason);
    string_attribute(w, "suspension-exception", r.suspension_exception_name);
    string_attribute(w, "last-machine", r.last_machine_run_on);
    w.close_element();
    for (const auto& key : r.keys) {
        w.open_element("key");
        w.attribute("id", to_string(key));
        w.close_element();
    }
    render_bag(w, "data", r.read_write_primitive, "read-write-primitive");
    render_bag(w, "data", r.read_write_complex, "read-write-complex");
    render_bag(w, "data", r.write_only_primitive, "write-only-primitive");
    render_bag(w, "data", r.write_only_complex, "write-only-complex");
    for (const auto& [promotion_name, values] : r.promoted) {
        w.open_element("promoted");
        string_attribute(w, "promotion", promotion_name);
        render_bag_entries(w, values);
        w.close_element();
    }
    render_bag(w, "metadata", r.metadata);
    return finish_document(w);
}

extension::instance_record parse_instance(std::string_view text, const std::string& file, bool with_data) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "instance", file);
    extension::instance_record r;
    r.id = uuid_attribute(root, "id", file);
    r.version = int_attribute(root, "version", file);
    r.lock_owner = optional_uuid(root, "lock-owner", file);
    r.initialized = bool_attribute(root, "initialized", file);
    r.completed = bool_attribute(root, "completed", file);
    r.suspended = bool_attribute(root, "suspended", file);
    r.ready_to_run = bool_attribute(root, "ready-to-run", file);
    r.pending_timer = optional_time(root, "pending-timer", file);
    r.runnable_time = optional_time(root, "runnable-time", file);
    r.workflow_host_type = optional_name(root, "host-type", file);
    r.creation_time = time_attribute(root, "created", file);
    r.last_updated = optional_time(root, "last-updated", file);
    if (auto identity = root.child("identity")) r.identity = parse_identity(identity, file);
    const auto status = root.child("status");
    if (!status) corrupt(file, "the required element /instance/status is missing");
    r.execution_status = required_string(status, "execution", file);
    r.blocking_bookmarks = required_string(status, "bookmarks", file);
    r.suspension_reason = required_string(status, "suspension-reason", file);
    r.suspension_exception_name = required_string(status, "suspension-exception", file);
    r.last_machine_run_on = required_string(status, "last-machine", file);
    // Control fields, read with or without the data: the instance is the authority on its keys.
    for (const auto& node : root.children("key")) {
        const uuid key = uuid_attribute(node, "id", file);
        if (!r.keys.empty() && !(r.keys.back() < key))
            corrupt(file, path_of(node) + ": key " + to_string(key) +
                              (r.keys.back() == key ? " is listed twice" : " is out of ascending order"));
        r.keys.push_back(key);
    }
    r.data_omitted = !with_data;
    for (const auto& data : root.children("data")) {
        if (!with_data) break;
        const std::string part = required_attribute(data, "part", file);
        bytes* target = part == "read-write-primitive"   ? &r.read_write_primitive
                        : part == "read-write-complex"   ? &r.read_write_complex
                        : part == "write-only-primitive" ? &r.write_only_primitive
                        : part == "write-only-complex"   ? &r.write_only_complex
                                                         : nullptr;
        if (target == nullptr) corrupt(file, path_of(data) + ": unknown data part \"" + part + "\"");
        *target = parse_bag(data, file);
    }
    for (const auto& node : root.children("promoted")) {
        if (!with_data) break;
        std::string promotion_name = required_string(node, "promotion", file);
        if (!r.promoted.emplace(std::move(promotion_name), parse_bag(node, file)).second)
            corrupt(file, path_of(node) + " repeats a promotion");
    }
    r.metadata = parse_bag(root.child("metadata"), file);
    return r;
}

std::string render_key(const extension::key_record& r) {
    auto w = new_document("key", r.metadata ? r.metadata->size() : 0);
    w.attribute("id", to_string(r.id));
    w.attribute("instance", to_string(r.instance_id));
    w.attribute("state", r.associated ? "associated" : "completed");
    if (r.metadata) {
        if (r.metadata->empty()) {
            w.open_element("metadata");  // written, and empty: unlike no metadata yet
            w.close_element();
        } else {
            render_bag(w, "metadata", *r.metadata);
        }
    }
    return finish_document(w);
}

extension::key_record parse_key(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "key", file);
    extension::key_record r;
    r.id = uuid_attribute(root, "id", file);
    r.instance_id = uuid_attribute(root, "instance", file);
    const std::string state = required_attribute(root, "state", file);
    if (state != "associated" && state != "completed") corrupt(file, "key state \"" + state + "\" is not associated or completed");
    r.associated = state == "associated";
    if (auto md = root.child("metadata")) r.metadata = parse_bag(md, file);
    return r;
}

std::string render_store_header(int format_version) {
    auto w = new_document("store");
    w.integer_attribute("format-version", std::int64_t{format_version});
    w.comment(" durable XML instance store: see xml/include/durable/xml_instance_store.hpp ");
    return finish_document(w);
}

int parse_store_header(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "store", file);
    return static_cast<int>(int_attribute(root, "format-version", file));
}

}  // namespace durable::xml
