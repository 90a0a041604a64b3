// The plain encoding of an instance_record. Every name lives in a namespace of the host's own, so
// a workflow's variables can never collide with the host's fields.

#include "instance_record.hpp"

#include <durable/store_error.hpp>

#include <charconv>

namespace durable::host::detail {

namespace {

const std::string host_ns = "urn:durable:host";
const std::string variable_ns = "urn:durable:host:variable";
const std::string output_ns = "urn:durable:host:output";
const std::string bookmark_ns = "urn:durable:host:bookmark";
constexpr int record_format = 1;

name field(const char* local) { return name{host_ns, local}; }

const char* status_text(run_status s) { return to_string(s); }

std::string version_text(const std::optional<definition_version>& v) {
    if (!v) return {};
    std::string text = std::to_string(v->major) + "." + std::to_string(v->minor);
    if (v->build) text += "." + std::to_string(*v->build);
    if (v->build && v->revision) text += "." + std::to_string(*v->revision);
    return text;
}

std::optional<definition_version> parse_version(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::int64_t parts[4] = {};
    int count = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end && count < 4) {
        auto [next, ec] = std::from_chars(p, end, parts[count]);
        if (ec != std::errc{} || next == p) return std::nullopt;
        ++count;
        p = next;
        if (p < end && *p == '.') ++p;
        else break;
    }
    if (p != end || count < 2) return std::nullopt;
    definition_version v{parts[0], parts[1], std::nullopt, std::nullopt};
    if (count > 2) v.build = parts[2];
    if (count > 3) v.revision = parts[3];
    return v;
}

[[noreturn]] void corrupt(const uuid& id, const std::string& what) {
    diagnostics diag;
    diag.command = "workflow_host";
    diag.instance_id = id;
    diag.message = "instance " + to_string(id) + " holds no workflow this host can read: " + what;
    throw store_error(make_error_code(errc::corrupt_data), std::move(diag));
}

template <class T>
const T* get(const property_bag& data, const char* local) {
    const auto it = data.find(field(local));
    if (it == data.end()) return nullptr;
    return std::get_if<T>(&it->second.get());
}

template <class T>
const T& require(const property_bag& data, const char* local, const uuid& id) {
    const auto it = data.find(field(local));
    if (it == data.end()) corrupt(id, std::string("the value ") + field(local).to_string() + " is missing");
    const T* typed = std::get_if<T>(&it->second.get());
    if (typed == nullptr)
        corrupt(id, std::string("the value ") + field(local).to_string() + " is a " + to_string(kind_of(it->second.get())));
    return *typed;
}

run_status parse_status(const std::string& text, const uuid& id) {
    for (auto s : {run_status::running, run_status::waiting, run_status::completed, run_status::faulted,
                   run_status::terminated})
        if (text == to_string(s)) return s;
    corrupt(id, "unknown status '" + text + "'");
}

}  // namespace

property_bag encode(const instance_record& r) {
    property_bag bag;
    bag[field("format")] = instance_value(std::int64_t{record_format});
    bag[field("definition-name")] = instance_value(r.definition.name);
    if (!r.definition.package.empty()) bag[field("definition-package")] = instance_value(r.definition.package);
    bag[field("definition-version")] = instance_value(version_text(r.definition.version));
    bag[field("status")] = instance_value(std::string(status_text(r.status)));
    bag[field("step")] = instance_value(r.step);
    bag[field("attempt")] = instance_value(r.attempt);
    if (r.timer_due) {
        bag[field("timer-due")] = instance_value(*r.timer_due);
        bag[field("timer-step")] = instance_value(r.timer_step);
    }
    if (!std::holds_alternative<std::monostate>(r.payload)) bag[field("payload")] = instance_value(r.payload);
    if (r.suspended) {
        bag[field("suspended")] = instance_value(true);
        bag[field("suspension-reason")] = instance_value(r.suspension_reason);
    }
    if (!r.error.empty()) bag[field("error")] = instance_value(r.error);
    for (const auto& b : r.bookmarks) bag[name{bookmark_ns, b.bookmark}] = instance_value(b.step);
    for (const auto& [n, v] : r.vars) bag[name{variable_ns, n}] = instance_value(v);
    for (const auto& [n, v] : r.outputs) bag[name{output_ns, n}] = instance_value(v);
    return bag;
}

instance_record decode(const property_bag& data, const uuid& id) {
    instance_record r;
    const auto format = require<std::int64_t>(data, "format", id);
    if (format != record_format)
        corrupt(id, "its host record format is " + std::to_string(format) + ", this host reads format " +
                        std::to_string(record_format));
    r.definition.name = require<std::string>(data, "definition-name", id);
    if (const auto* package = get<std::string>(data, "definition-package")) r.definition.package = *package;
    const auto& version = require<std::string>(data, "definition-version", id);
    r.definition.version = parse_version(version);
    if (!version.empty() && !r.definition.version) corrupt(id, "the definition version '" + version + "' is malformed");
    r.status = parse_status(require<std::string>(data, "status", id), id);
    r.step = require<std::string>(data, "step", id);
    r.attempt = require<std::int64_t>(data, "attempt", id);
    if (const auto* due = get<timestamp>(data, "timer-due")) {
        r.timer_due = *due;
        r.timer_step = require<std::string>(data, "timer-step", id);
    }
    if (const auto it = data.find(field("payload")); it != data.end()) r.payload = it->second.get();
    if (const auto* suspended = get<bool>(data, "suspended")) r.suspended = *suspended;
    if (const auto* reason = get<std::string>(data, "suspension-reason")) r.suspension_reason = *reason;
    if (const auto* error = get<std::string>(data, "error")) r.error = *error;
    for (const auto& [n, v] : data) {
        if (n.ns == variable_ns) {
            r.vars[n.local] = v.get();
        } else if (n.ns == output_ns) {
            r.outputs[n.local] = v.get();
        } else if (n.ns == bookmark_ns) {
            const auto* step = std::get_if<std::string>(&v.get());
            if (step == nullptr) corrupt(id, "bookmark '" + n.local + "' names no step");
            r.bookmarks.push_back({n.local, *step});
        }
    }
    return r;
}

instance_status status_of(const uuid& id, const instance_record& r, bool loaded_here) {
    instance_status s;
    s.instance_id = id;
    s.definition = r.definition;
    s.status = r.status;
    s.step = r.step;
    s.bookmarks = r.bookmarks;
    s.timer_due = r.timer_due;
    s.timer_step = r.timer_step;
    s.attempt = r.attempt;
    s.suspended = r.suspended;
    s.suspension_reason = r.suspension_reason;
    s.error = r.error;
    s.vars = r.vars;
    s.outputs = r.outputs;
    s.loaded_here = loaded_here;
    return s;
}

}  // namespace durable::host::detail
