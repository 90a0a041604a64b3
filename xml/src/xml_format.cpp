#include "xml_format.hpp"

#include <durable/codec.hpp>
#include <durable/detail/record_store.hpp>

#include <pugixml.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace durable::xml {
namespace {

using detail::record_error;
constexpr const char* xmlns = "urn:durable:xml-store:1";

// ---- scalar text forms -----------------------------------------------------------------

constexpr char base64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string to_base64(const bytes& in) {
    std::string out((in.size() + 2) / 3 * 4, '=');
    std::size_t o = 0, i = 0;
    for (; i + 3 <= in.size(); i += 3) {  // whole 3-byte groups, no branches
        const std::uint32_t n = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
        out[o++] = base64_chars[(n >> 18) & 63];
        out[o++] = base64_chars[(n >> 12) & 63];
        out[o++] = base64_chars[(n >> 6) & 63];
        out[o++] = base64_chars[n & 63];
    }
    if (i < in.size()) {  // the last one or two bytes; '=' padding is already in place
        std::uint32_t n = std::uint32_t{in[i]} << 16;
        if (i + 1 < in.size()) n |= std::uint32_t{in[i + 1]} << 8;
        out[o++] = base64_chars[(n >> 18) & 63];
        out[o++] = base64_chars[(n >> 12) & 63];
        if (i + 1 < in.size()) out[o] = base64_chars[(n >> 6) & 63];
    }
    return out;
}

/// Decoding table: the 6-bit value of each base64 character, -1 for anything else.
constexpr std::array<std::int8_t, 256> base64_values = [] {
    std::array<std::int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(base64_chars[i])] = static_cast<std::int8_t>(i);
    return table;
}();

bool from_base64(std::string_view in, bytes& out) {
    out.assign(in.size() / 4 * 3, 0);
    std::size_t o = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        // Fast path: four plain characters make three bytes.
        if (bits == 0 && i + 4 <= in.size()) {
            const int a = base64_values[static_cast<unsigned char>(in[i])];
            const int b = base64_values[static_cast<unsigned char>(in[i + 1])];
            const int c = base64_values[static_cast<unsigned char>(in[i + 2])];
            const int d = base64_values[static_cast<unsigned char>(in[i + 3])];
            if ((a | b | c | d) >= 0) {
                const auto n = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
                out[o++] = static_cast<std::uint8_t>(n >> 16);
                out[o++] = static_cast<std::uint8_t>(n >> 8);
                out[o++] = static_cast<std::uint8_t>(n);
                i += 3;
                continue;
            }
        }
        // Slow path: padding, white space (a person may have wrapped the text), or garbage.
        const char ch = in[i];
        if (ch == '=' || ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') continue;
        const int v = base64_values[static_cast<unsigned char>(ch)];
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

/// XML 1.0 cannot carry most control characters; such strings are written as base64.
bool xml_safe(std::string_view s) {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return true;
}

std::string utc_text(timestamp t) {
    const auto micros = t.time_since_epoch().count();
    const std::time_t secs = static_cast<std::time_t>(micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros - static_cast<std::int64_t>(secs) * 1'000'000));
    return buf;
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
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

void set_time(pugi::xml_node node, const char* attr, timestamp t) {
    node.append_attribute(attr) = std::to_string(t.time_since_epoch().count()).c_str();
    node.append_attribute((std::string(attr) + "-utc").c_str()) = utc_text(t).c_str();  // for people; not read
}

timestamp time_attribute(const pugi::xml_node& node, const char* attr, const std::string& file) {
    return timestamp{duration{int_attribute(node, attr, file)}};
}

std::optional<timestamp> optional_time(const pugi::xml_node& node, const char* attr, const std::string& file) {
    if (!node.attribute(attr)) return std::nullopt;
    return time_attribute(node, attr, file);
}

std::optional<name> optional_name(const pugi::xml_node& node, const char* attr, const std::string& file) {
    if (!node.attribute(attr)) return std::nullopt;
    try {
        return name::parse(node.attribute(attr).value());
    } catch (const std::invalid_argument& e) {
        corrupt(file, "attribute '" + std::string(attr) + "' of " + path_of(node) + ": " + e.what());
    }
}

// ---- bags --------------------------------------------------------------------------------

void render_value(pugi::xml_node p, const value& v) {
    p.append_attribute("kind") = to_string(kind_of(v));
    std::visit(
        [&p](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
            } else if constexpr (std::is_same_v<T, bool>) {
                p.text() = x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                p.text() = std::to_string(x).c_str();
            } else if constexpr (std::is_same_v<T, double>) {
                char buf[40];
                std::snprintf(buf, sizeof buf, "%.17g", x);
                p.text() = buf;
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (xml_safe(x)) {
                    p.text() = x.c_str();
                } else {
                    p.append_attribute("encoding") = "base64";
                    p.text() = to_base64(bytes(x.begin(), x.end())).c_str();
                }
            } else if constexpr (std::is_same_v<T, bytes>) {
                p.text() = to_base64(x).c_str();
            } else if constexpr (std::is_same_v<T, uuid>) {
                p.text() = to_string(x).c_str();
            } else if constexpr (std::is_same_v<T, timestamp>) {
                p.append_attribute("utc") = utc_text(x).c_str();
                p.text() = std::to_string(x.time_since_epoch().count()).c_str();
            } else if constexpr (std::is_same_v<T, duration>) {
                p.text() = std::to_string(x.count()).c_str();
            } else if constexpr (std::is_same_v<T, name>) {
                p.text() = x.to_string().c_str();
            } else if constexpr (std::is_same_v<T, opaque>) {
                p.append_attribute("content-type") = x.content_type.c_str();
                p.text() = to_base64(x.data).c_str();
            }
        },
        v);
}

value parse_value(const pugi::xml_node& p, const std::string& file) {
    const std::string kind = required_attribute(p, "kind", file);
    const std::string_view text = p.text().get();  // no copy: large values are base64 text
    auto bad = [&]() -> value {
        corrupt(file, path_of(p) + ": \"" + std::string(text.substr(0, 40)) + "\" is not a valid " + kind);
    };
    auto blob = [&] {
        bytes b;
        if (!from_base64(text, b)) bad();
        return b;
    };
    if (kind == "null") return std::monostate{};
    if (kind == "bool") return text == "true" ? value(true) : text == "false" ? value(false) : bad();
    if (kind == "int64") {
        std::int64_t v = 0;
        return parse_int(text, v) ? value(v) : bad();
    }
    if (kind == "double") {
        char* end = nullptr;
        const double d = std::strtod(text.data(), &end);  // pugixml's text is NUL-terminated
        return (end == text.data() + text.size() && !text.empty()) ? value(d) : bad();
    }
    if (kind == "string") {
        if (std::string_view(p.attribute("encoding").value()) == "base64") {
            const auto b = blob();
            return std::string(b.begin(), b.end());
        }
        return std::string(text);
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
    if (kind == "name") {
        try {
            return name::parse(text);
        } catch (const std::invalid_argument&) {
            return bad();
        }
    }
    if (kind == "opaque") return opaque{required_attribute(p, "content-type", file), blob()};
    corrupt(file, path_of(p) + ": unknown value kind \"" + kind + "\"");
}

void render_bag(pugi::xml_node parent, const char* element, const bytes& blob, const char* part = nullptr) {
    if (blob.empty()) return;
    property_bag bag;
    std::string why;
    if (decode_bag(blob, bag, why)) throw record_error(errc::corrupt_data, std::string("cannot render bag: ") + why);
    auto node = parent.append_child(element);
    if (part != nullptr) node.append_attribute("part") = part;
    for (const auto& [key, v] : bag) {
        auto p = node.append_child("property");
        p.append_attribute("name") = key.to_string().c_str();
        if (v.is_optional()) p.append_attribute("optional") = "true";
        if (v.is_write_only()) p.append_attribute("write-only") = "true";
        if (v.is_deleted()) {
            p.append_attribute("deleted") = "true";
            continue;
        }
        render_value(p, v.get());
    }
}

bytes parse_bag(const pugi::xml_node& node, const std::string& file) {
    if (!node) return {};
    property_bag bag;
    for (const auto& p : node.children()) {
        if (p.type() != pugi::node_element) continue;
        if (std::string_view(p.name()) != "property") corrupt(file, "unexpected element " + path_of(p));
        name key;
        try {
            key = name::parse(required_attribute(p, "name", file));
        } catch (const std::invalid_argument& e) {
            corrupt(file, path_of(p) + ": " + e.what());
        }
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

std::string to_text(const pugi::xml_document& doc) {
    struct string_writer final : pugi::xml_writer {
        std::string out;
        void write(const void* data, std::size_t size) override { out.append(static_cast<const char*>(data), size); }
    } writer;
    doc.save(writer, "  ", pugi::format_default, pugi::encoding_utf8);
    return std::move(writer.out);
}

pugi::xml_node new_root(pugi::xml_document& doc, const char* element) {
    auto decl = doc.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    auto root = doc.append_child(element);
    root.append_attribute("xmlns") = xmlns;
    return root;
}

pugi::xml_node load_root(pugi::xml_document& doc, std::string_view text, const char* element, const std::string& file) {
    if (text.empty()) corrupt(file, "the file is empty");
    const auto result = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result)
        corrupt(file, "XML parse error at offset " + std::to_string(result.offset) + ": " + result.description());
    auto root = doc.document_element();
    if (std::string_view(root.name()) != element)
        corrupt(file, "the root element is <" + std::string(root.name()) + ">, expected <" + element + ">");
    if (std::string_view(root.attribute("xmlns").value()) != xmlns)
        throw record_error(errc::unsupported_format, file + ": namespace \"" + root.attribute("xmlns").value() +
                                                         "\" is not " + xmlns + " (a foreign or newer file)");
    return root;
}

void render_identity(pugi::xml_node parent, const workflow_identity& id) {
    auto node = parent.append_child("identity");
    node.append_attribute("name") = id.name.c_str();
    if (!id.package.empty()) node.append_attribute("package") = id.package.c_str();
    if (id.version) {
        node.append_attribute("major") = std::to_string(id.version->major).c_str();
        node.append_attribute("minor") = std::to_string(id.version->minor).c_str();
        if (id.version->build) node.append_attribute("build") = std::to_string(*id.version->build).c_str();
        if (id.version->revision) node.append_attribute("revision") = std::to_string(*id.version->revision).c_str();
    }
}

workflow_identity parse_identity(const pugi::xml_node& node, const std::string& file) {
    workflow_identity id;
    id.name = required_attribute(node, "name", file);
    id.package = node.attribute("package").value();
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

std::string render_owner(const detail::owner_record& r) {
    pugi::xml_document doc;
    auto root = new_root(doc, "owner");
    root.append_attribute("id") = to_string(r.id).c_str();
    set_time(root, "lease-expires", r.lease_expires);
    set_time(root, "created", r.created);
    if (r.workflow_host_type) root.append_attribute("host-type") = r.workflow_host_type->to_string().c_str();
    root.append_attribute("machine") = r.machine_name.c_str();
    root.append_attribute("activation-service") = r.activation_service;
    root.append_attribute("deletes-instances-on-completion") = r.deletes_instances_on_completion;
    root.append_attribute("identity-filter") = static_cast<int>(r.filter);
    for (const auto& id : r.identities) render_identity(root, id);
    render_bag(root, "metadata", r.metadata);
    render_bag(root, "write-only-metadata", r.write_only_metadata);
    return to_text(doc);
}

detail::owner_record parse_owner(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "owner", file);
    detail::owner_record r;
    r.id = uuid_attribute(root, "id", file);
    r.lease_expires = time_attribute(root, "lease-expires", file);
    r.created = time_attribute(root, "created", file);
    r.workflow_host_type = optional_name(root, "host-type", file);
    r.machine_name = required_attribute(root, "machine", file);
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

std::string render_instance(const detail::instance_record& r) {
    if (r.data_omitted)  // writing it would drop the instance's data
        throw record_error(errc::store_unavailable, "internal error: instance " + to_string(r.id) +
                                                        " was read without its data and not given new data");
    pugi::xml_document doc;
    auto root = new_root(doc, "instance");
    root.append_attribute("id") = to_string(r.id).c_str();
    root.append_attribute("version") = std::to_string(r.version).c_str();
    if (r.lock_owner) root.append_attribute("lock-owner") = to_string(*r.lock_owner).c_str();
    root.append_attribute("initialized") = r.initialized;
    root.append_attribute("completed") = r.completed;
    root.append_attribute("suspended") = r.suspended;
    root.append_attribute("ready-to-run") = r.ready_to_run;
    if (r.pending_timer) set_time(root, "pending-timer", *r.pending_timer);
    if (r.runnable_time) set_time(root, "runnable-time", *r.runnable_time);
    if (r.workflow_host_type) root.append_attribute("host-type") = r.workflow_host_type->to_string().c_str();
    set_time(root, "created", r.creation_time);
    if (r.last_updated) set_time(root, "last-updated", *r.last_updated);
    if (r.identity) render_identity(root, *r.identity);
    auto status = root.append_child("status");
    status.append_attribute("execution") = r.execution_status.c_str();
    status.append_attribute("bookmarks") = r.blocking_bookmarks.c_str();
    status.append_attribute("suspension-reason") = r.suspension_reason.c_str();
    status.append_attribute("suspension-exception") = r.suspension_exception_name.c_str();
    status.append_attribute("last-machine") = r.last_machine_run_on.c_str();
    render_bag(root, "data", r.read_write_primitive, "read-write-primitive");
    render_bag(root, "data", r.read_write_complex, "read-write-complex");
    render_bag(root, "data", r.write_only_primitive, "write-only-primitive");
    render_bag(root, "data", r.write_only_complex, "write-only-complex");
    render_bag(root, "metadata", r.metadata);
    return to_text(doc);
}

detail::instance_record parse_instance(std::string_view text, const std::string& file, bool with_data) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "instance", file);
    detail::instance_record r;
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
    r.execution_status = status.attribute("execution").value();
    r.blocking_bookmarks = status.attribute("bookmarks").value();
    r.suspension_reason = status.attribute("suspension-reason").value();
    r.suspension_exception_name = status.attribute("suspension-exception").value();
    r.last_machine_run_on = status.attribute("last-machine").value();
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
    r.metadata = parse_bag(root.child("metadata"), file);
    return r;
}

std::string render_key(const detail::key_record& r) {
    pugi::xml_document doc;
    auto root = new_root(doc, "key");
    root.append_attribute("id") = to_string(r.id).c_str();
    root.append_attribute("instance") = to_string(r.instance_id).c_str();
    root.append_attribute("state") = r.associated ? "associated" : "completed";
    if (r.metadata) {
        if (r.metadata->empty())
            root.append_child("metadata");
        else
            render_bag(root, "metadata", *r.metadata);
    }
    return to_text(doc);
}

detail::key_record parse_key(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "key", file);
    detail::key_record r;
    r.id = uuid_attribute(root, "id", file);
    r.instance_id = uuid_attribute(root, "instance", file);
    const std::string state = required_attribute(root, "state", file);
    if (state != "associated" && state != "completed") corrupt(file, "key state \"" + state + "\" is not associated or completed");
    r.associated = state == "associated";
    if (auto md = root.child("metadata")) r.metadata = parse_bag(md, file);
    return r;
}

std::string render_store_header(int format_version) {
    pugi::xml_document doc;
    auto root = new_root(doc, "store");
    root.append_attribute("format-version") = format_version;
    root.append_child(pugi::node_comment).set_value(" durable XML instance store: see xml/include/durable/xml_instance_store.hpp ");
    return to_text(doc);
}

int parse_store_header(std::string_view text, const std::string& file) {
    pugi::xml_document doc;
    auto root = load_root(doc, text, "store", file);
    return static_cast<int>(int_attribute(root, "format-version", file));
}

}  // namespace durable::xml
