#include "xml_format.hpp"

#include "base64.hpp"
#include "xml_text_writer.hpp"

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

std::optional<name> optional_name(const pugi::xml_node& node, const char* attr, const std::string& file) {
    if (!node.attribute(attr)) return std::nullopt;
    try {
        return name::parse(node.attribute(attr).value());
    } catch (const std::invalid_argument& e) {
        corrupt(file, "attribute '" + std::string(attr) + "' of " + path_of(node) + ": " + e.what());
    }
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
            if (xml_safe(text)) {
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
            w.attribute("content-type", entry.content_type);
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
                char buf[40];
                std::snprintf(buf, sizeof buf, "%.17g", x);
                w.text(buf);
            } else if constexpr (std::is_same_v<T, uuid>) {
                w.text(to_string(x));
            } else if constexpr (std::is_same_v<T, timestamp>) {
                w.attribute("utc", utc_text(x));
                w.integer_text(std::int64_t{x.time_since_epoch().count()});
            } else if constexpr (std::is_same_v<T, duration>) {
                w.integer_text(std::int64_t{x.count()});
            } else if constexpr (std::is_same_v<T, name>) {
                w.text(x.to_string());
            }
            // null has no text; strings, bytes and opaque data were rendered from the payload
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

void render_bag(xml_text_writer& w, const char* element, const bytes& blob, const char* part = nullptr) {
    if (blob.empty()) return;
    w.open_element(element);
    if (part != nullptr) w.attribute("part", part);
    std::string why;
    const auto ec = decode_bag_entries(
        blob,
        [&w](const bag_entry_ref& entry) -> const char* {
            w.open_element("property");
            w.attribute("name", entry.key.to_string());
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
    w.close_element();
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
                                                         "\" is not " + xmlns + " (a foreign or newer file)");
    return root;
}

void render_identity(xml_text_writer& w, const workflow_identity& id) {
    w.open_element("identity");
    w.attribute("name", id.name);
    if (!id.package.empty()) w.attribute("package", id.package);
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
    auto w = new_document("owner", r.metadata.size() + r.write_only_metadata.size());
    w.attribute("id", to_string(r.id));
    time_attributes(w, "lease-expires", r.lease_expires);
    time_attributes(w, "created", r.created);
    if (r.workflow_host_type) w.attribute("host-type", r.workflow_host_type->to_string());
    w.attribute("machine", r.machine_name);
    w.boolean_attribute("activation-service", r.activation_service);
    w.boolean_attribute("deletes-instances-on-completion", r.deletes_instances_on_completion);
    w.integer_attribute("identity-filter", std::int64_t{static_cast<int>(r.filter)});
    for (const auto& id : r.identities) render_identity(w, id);
    render_bag(w, "metadata", r.metadata);
    render_bag(w, "write-only-metadata", r.write_only_metadata);
    return finish_document(w);
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
    if (r.workflow_host_type) w.attribute("host-type", r.workflow_host_type->to_string());
    time_attributes(w, "created", r.creation_time);
    if (r.last_updated) time_attributes(w, "last-updated", *r.last_updated);
    if (r.identity) render_identity(w, *r.identity);
    w.open_element("status");
    w.attribute("execution", r.execution_status);
    w.attribute("bookmarks", r.blocking_bookmarks);
    w.attribute("suspension-reason", r.suspension_reason);
    w.attribute("suspension-exception", r.suspension_exception_name);
    w.attribute("last-machine", r.last_machine_run_on);
    w.close_element();
    render_bag(w, "data", r.read_write_primitive, "read-write-primitive");
    render_bag(w, "data", r.read_write_complex, "read-write-complex");
    render_bag(w, "data", r.write_only_primitive, "write-only-primitive");
    render_bag(w, "data", r.write_only_complex, "write-only-complex");
    render_bag(w, "metadata", r.metadata);
    return finish_document(w);
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
