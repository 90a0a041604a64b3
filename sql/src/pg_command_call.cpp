#include "pg_command_call.hpp"

#include <durable/codec.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace durable::pg::detail {

namespace {

// command_result columns (docs/sql.md), zero-based.
enum column : int {
    c_result_code,
    c_message,
    c_store_time,
    c_owner_id,
    c_instance_id,
    c_lock_version,
    c_instance_state,
    c_primitive_data,
    c_complex_data,
    c_metadata,
    c_metadata_changes,
    c_key_ids,
    c_key_is_associated,
    c_key_properties,
    c_diagnostic_key_id,
    c_conflicting_instance_id,
    c_lock_holder_id,
    c_lock_holder_machine_name,
    c_lock_holder_metadata,
    c_diagnostic_version,
    c_next_runnable_time,
    c_activatable_namespaces,
    c_activatable_names,
    c_activatable_counts,
    column_count
};

constexpr std::array<std::pair<const char*, int>, statement_count> functions{{
    {"create_lock_owner", 16},
    {"delete_lock_owner", 1},
    {"extend_lock", 2},
    {"recover_instance_locks", 1},
    {"unlock_instance", 3},
    {"load_instance", 9},
    {"save_instance", 35},
    {"try_load_runnable_instance", 3},
    {"detect_runnable_instances", 1},
    {"get_activatable_workflows", 1},
    {"read_promoted_properties", 2},
    {"get_store_version", 0},
}};

/// A command that cannot be sent, or a row that cannot be read: the code and our words.
struct call_failed : std::runtime_error {
    call_failed(errc c, const std::string& what) : std::runtime_error(what), code(c) {}
    errc code;
};

std::string need_text(const row_reader& r, int column) {
    auto t = r.text(column);
    if (!t) throw call_failed(errc::corrupt_data, "a NULL where the result needs text");
    return std::move(*t);
}

std::size_t payload_bytes(const bytes& blob) {
    if (blob.empty()) return 0;
    bag_header header;
    std::string why;
    return read_bag_header(blob, header, why) ? 0 : header.payload_bytes;
}

/// The size limit applies to a bag before compression (as in the engine), so it means the same
/// whatever the encoding.
void require_within_limit(std::size_t bytes_before_compression, const store_options& options, const std::string& what) {
    if (bytes_before_compression > options.max_bag_bytes)
        throw call_failed(errc::value_too_large, what + " takes " + std::to_string(bytes_before_compression) +
                                                     " bytes before compression, more than store_options::max_bag_bytes (" +
                                                     std::to_string(options.max_bag_bytes) + ")");
}

/// The entries `include` accepts (all when empty); no blob (NULL) when there are none.
bytes encode_part(const property_bag& bag, const store_options& options,
                  const std::function<bool(const instance_value&)>& include = {}) {
    if (std::none_of(bag.begin(), bag.end(), [&](const auto& e) { return !include || include(e.second); })) return {};
    return encode_bag_if(bag, options.instance_encoding, include);
}

bytes encode_checked(const property_bag& bag, const store_options& options, const std::string& what,
                     const std::function<bool(const instance_value&)>& include = {}) {
    bytes blob = encode_part(bag, options, include);
    require_within_limit(payload_bytes(blob), options, what);
    return blob;
}

property_bag decode(const std::optional<bytes>& blob, const store_options& options, const std::string& what) {
    property_bag bag;
    if (!blob || blob->empty()) return bag;
    std::string why;
    // A stored blob is untrusted: the limit bounds what it can make a load allocate.
    if (auto ec = decode_bag(*blob, bag, why, options.max_bag_bytes))
        throw call_failed(static_cast<errc>(ec.value()), what + ": " + why);
    return bag;
}

const uuid& owner_of(const command_request& request) {
    if (!request.owner_id) throw call_failed(errc::invalid_command, "the command needs a handle bound to an owner");
    return *request.owner_id;
}

const uuid& instance_of(const command_request& request) {
    if (!request.instance_id) throw call_failed(errc::invalid_command, "the command needs a handle bound to an instance");
    return *request.instance_id;
}

/// An identity's version as the four nullable bigint parameters the SQL takes (major, minor,
/// build, revision), all NULL for an identity without a version.
std::array<std::optional<std::int64_t>, 4> version_parameters(const workflow_identity& identity) {
    if (!identity.version) return {};
    const auto& v = *identity.version;
    return {v.major, v.minor, v.build, v.revision};
}

void add_host_type(param_list& p, const std::optional<name>& host_type) {
    if (host_type) {
        p.add_text(host_type->ns);
        p.add_text(host_type->local);
    } else {
        p.add_null();
        p.add_null();
    }
}

void add_released(param_list& p, const command_request& request) {
    std::vector<uuid> ids;
    std::vector<std::optional<std::int64_t>> versions;
    for (const auto& r : request.released_locks) {
        ids.push_back(r.instance_id);
        versions.emplace_back(r.version);
    }
    p.add_uuid_array(ids);
    p.add_int8_array(versions);
}

void add_keys_to_associate(param_list& p, const std::map<uuid, property_bag>& keys, const store_options& options) {
    std::vector<uuid> ids;
    std::vector<bytes> metadata;
    for (const auto& [id, bag] : keys) {
        ids.push_back(id);
        metadata.push_back(encode_checked(bag, options, "key metadata"));
    }
    p.add_uuid_array(ids);
    p.add_bytea_array(metadata);
}

// ---- promoted values ----------------------------------------------------------------------------

/// Appends `s` as a JSON string. promote_values has refused NUL and invalid UTF-8, so every
/// byte is either escaped here or valid UTF-8 that jsonb keeps as it is.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xfu];
        } else {
            out += ch;
        }
    }
    out += '"';
}

void append_base64(std::string& out, const bytes& data) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out += '"';
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(n >> shift) & 0x3fu];
    }
    if (const auto rest = data.size() - i; rest > 0) {
        std::uint32_t n = std::uint32_t{data[i]} << 16;
        if (rest == 2) n |= std::uint32_t{data[i + 1]} << 8;
        out += alphabet[(n >> 18) & 0x3fu];
        out += alphabet[(n >> 12) & 0x3fu];
        out += rest == 2 ? alphabet[(n >> 6) & 0x3fu] : '=';
        out += '=';
    }
    out += '"';
}

template <class Integer>
void append_integer(std::string& out, Integer v) {
    char buf[24];
    out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

/// A value as insert_promoted_properties reads it (logic.sql, docs/sql.md "Promoted values").
void append_json_value(std::string& out, const value& v) {
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                out += "null";
            } else if constexpr (std::is_same_v<T, bool>) {
                out += x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                append_integer(out, x);
            } else if constexpr (std::is_same_v<T, double>) {
                // float8 text in a JSON string: a JSON number cannot be NaN, an infinity or -0.
                if (std::isnan(x)) {
                    out += "\"NaN\"";
                } else if (std::isinf(x)) {
                    out += x > 0 ? "\"Infinity\"" : "\"-Infinity\"";
                } else {
                    char buf[32];
                    out += '"';
                    out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, x).ptr - buf));
                    out += '"';
                }
            } else if constexpr (std::is_same_v<T, std::string>) {
                append_json_string(out, x);
            } else if constexpr (std::is_same_v<T, bytes>) {
                append_base64(out, x);
            } else if constexpr (std::is_same_v<T, uuid>) {
                append_json_string(out, to_string(x));
            } else if constexpr (std::is_same_v<T, timestamp>) {
                append_integer(out, std::int64_t{x.time_since_epoch().count()});
            } else if constexpr (std::is_same_v<T, duration>) {
                append_integer(out, std::int64_t{x.count()});
            } else if constexpr (std::is_same_v<T, name>) {
                out += "{\"namespace\":";
                append_json_string(out, x.ns);
                out += ",\"name\":";
                append_json_string(out, x.local);
                out += '}';
            } else if constexpr (std::is_same_v<T, opaque>) {
                out += "{\"content_type\":";
                append_json_string(out, x.content_type);
                out += ",\"data\":";
                append_base64(out, x.data);
                out += '}';
            }
        },
        v);
}

/// p_promoted_properties: one JSON object per promoted value, at its place in its promotion
/// (primitive values 1-32, binary values 33-64, in the order store_options::promote was given).
std::string promoted_json(const promoted_values& promoted, const store_options& options) {
    std::string out = "[";
    for (const auto& p : options.promotions) {
        const auto values = promoted.find(p.name);
        if (values == promoted.end()) continue;
        const auto add = [&](const std::vector<name>& group, int first_position) {
            for (std::size_t i = 0; i < group.size(); ++i) {
                const auto v = values->second.find(group[i]);
                if (v == values->second.end()) continue;
                if (out.size() > 1) out += ',';
                out += "{\"promotion_name\":";
                append_json_string(out, p.name);
                out += ",\"value_position\":";
                append_integer(out, first_position + static_cast<int>(i));
                out += ",\"property_namespace\":";
                append_json_string(out, group[i].ns);
                out += ",\"property_name\":";
                append_json_string(out, group[i].local);
                out += ",\"value_kind\":";
                append_integer(out, static_cast<int>(kind_of(v->second.get())));
                out += ",\"value\":";
                append_json_value(out, v->second.get());
                out += '}';
            }
        };
        add(p.primitive_values, 1);
        add(p.binary_values, 1 + static_cast<int>(max_promoted_values_per_group));
    }
    return out + "]";
}

// read_promoted_properties columns (logic.sql), zero-based.
enum promoted_column : int {
    pc_result_code,
    pc_message,
    pc_promotion_name,
    pc_value_position,
    pc_property_namespace,
    pc_property_name,
    pc_value_kind,
    pc_boolean,
    pc_int64,
    pc_real,
    pc_string,
    pc_binary,
    pc_uuid,
    pc_timestamp,
    pc_duration,
    pc_name_namespace,
    pc_content_type,
    promoted_column_count
};

value read_promoted_value(const row_reader& r) {
    const auto kind = r.int2(pc_value_kind).value_or(-1);
    const auto need = [&](auto v) {
        if (!v) throw call_failed(errc::corrupt_data, "a promoted value of kind " + std::to_string(kind) + " lacks its column");
        return std::move(*v);
    };
    switch (kind) {
        case 0: return std::monostate{};
        case 1: return need(r.boolean(pc_boolean));
        case 2: return need(r.int8(pc_int64));
        case 3: return need(r.float8(pc_real));
        case 4: return need(r.text(pc_string));
        case 5: return need(r.bytea(pc_binary));
        case 6: return need(r.uuid_value(pc_uuid));
        case 7: return need(r.timestamptz(pc_timestamp));
        case 8: return duration{need(r.int8(pc_duration))};
        case 9: return name{need(r.text(pc_name_namespace)), need(r.text(pc_string))};
        case 10: return opaque{need(r.text(pc_content_type)), need(r.bytea(pc_binary))};
        default: throw call_failed(errc::corrupt_data, "promoted value_kind " + std::to_string(kind) + " out of range");
    }
}

/// read_promoted_properties' rows: one owner-check failure, or the values.
error_code read_promoted_outcome(const PGresult* result, command_outcome& out) {
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQnfields(result) < promoted_column_count)
        throw call_failed(errc::schema_mismatch,
                          "read_promoted_properties did not return its rows: the schema is not the one this build knows");
    for (int i = 0; i < PQntuples(result); ++i) {
        const row_reader r(result, i);
        if (const int code = r.int4(pc_result_code).value_or(-1); code != 0) {
            out.diag.message = r.text(pc_message).value_or("result code " + std::to_string(code));
            return static_cast<errc>(code);
        }
        out.view.promoted_properties[need_text(r, pc_promotion_name)].insert_or_assign(
            name{need_text(r, pc_property_namespace), need_text(r, pc_property_name)}, read_promoted_value(r));
    }
    return {};
}

// ---- calls ------------------------------------------------------------------------------------

struct call_builder {
    const command_request& request;
    const store_options& options;
    const held_instances& held;
    command_call& call;

    void operator()(const commands::create_workflow_owner& cmd) {
        call.which = st_create_lock_owner;
        // The id is ours, so a retry after a lost connection is recognised (23505: it exists).
        call.owner_id = random_uuid();
        call.retry_when_in_doubt = true;
        auto& p = call.params;
        p.add_int8(options.lease_duration().count());
        p.add_text(options.machine_name);
        add_host_type(p, cmd.workflow_host_type);
        p.add_bytea(encode_checked(cmd.owner_metadata, options, "owner metadata",
                                   [](const instance_value& v) { return !v.is_write_only(); }));
        p.add_bytea(encode_checked(cmd.owner_metadata, options, "owner metadata",
                                   [](const instance_value& v) { return v.is_write_only(); }));
        p.add_bool(options.completion_action == instance_completion_action::delete_all);
        p.add_bool(cmd.activation_service);
        p.add_int4(static_cast<std::int32_t>(cmd.filter));
        std::vector<std::string> names, packages;
        std::vector<std::optional<std::int64_t>> majors, minors, builds, revisions;
        for (const auto& id : cmd.definition_identities) {
            names.push_back(id.name);
            packages.push_back(id.package);
            const auto version = version_parameters(id);
            majors.push_back(version[0]);
            minors.push_back(version[1]);
            builds.push_back(version[2]);
            revisions.push_back(version[3]);
        }
        p.add_text_array(names);
        p.add_text_array(packages);
        p.add_int8_array(majors);
        p.add_int8_array(minors);
        p.add_int8_array(builds);
        p.add_int8_array(revisions);
        p.add_uuid(call.owner_id);
    }

    void operator()(const commands::delete_workflow_owner&) {
        call.which = st_delete_lock_owner;
        call.retry_when_in_doubt = true;  // expiring an owner twice is expiring it once
        call.params.add_uuid(owner_of(request));
    }

    void operator()(const commands::extend_lock&) {
        call.which = st_extend_lock;
        call.retry_when_in_doubt = true;
        call.params.add_uuid(owner_of(request));
        call.params.add_int8(options.lease_duration().count());
    }

    void operator()(const commands::recover_instance_locks&) {
        call.which = st_recover_instance_locks;
        call.retry_when_in_doubt = true;
        call.params.add_uuid(owner_of(request));
    }

    void operator()(const commands::detect_runnable_instances&) {
        call.which = st_detect_runnable_instances;
        call.retry_when_in_doubt = true;
        call.params.add_uuid(owner_of(request));
    }

    void operator()(const commands::query_activatable_workflows&) {
        call.which = st_get_activatable_workflows;
        call.retry_when_in_doubt = true;
        call.params.add_uuid(owner_of(request));
    }

    void operator()(const commands::query_promoted_properties& cmd) {
        call.which = st_read_promoted_properties;
        call.retry_when_in_doubt = true;  // reads only
        call.params.add_uuid(owner_of(request));
        call.params.add_uuid(cmd.instance_id);
    }

    void operator()(const commands::unlock_instance& cmd) {
        call.which = st_unlock_instance;
        call.retry_when_in_doubt = true;  // names the version: a second unlock changes nothing
        call.params.add_uuid(owner_of(request));
        call.params.add_uuid(cmd.instance_id);
        call.params.add_int8(cmd.instance_version);
    }

    void operator()(const commands::load_workflow& cmd) {
        call.which = st_load_instance;
        auto& p = call.params;
        p.add_uuid(owner_of(request));
        p.add_uuid(instance_of(request));
        p.add_null();
        p.add_bool(cmd.accept_uninitialized_instance);
        p.add_int8(request.lock_version);
        p.add_null();
        p.add_null();
        add_released(p, request);
    }

    void operator()(const commands::load_workflow_by_instance_key& cmd) {
        call.which = st_load_instance;
        auto& p = call.params;
        p.add_uuid(owner_of(request));
        p.add_optional_uuid(cmd.associate_instance_key_to_instance_id);
        p.add_uuid(cmd.lookup_instance_key);
        p.add_bool(cmd.accept_uninitialized_instance);
        p.add_int8(-1);
        add_keys_to_associate(p, cmd.instance_keys_to_associate, options);
        add_released(p, request);
    }

    void operator()(const commands::try_load_runnable_workflow&) {
        call.which = st_try_load_runnable_instance;
        call.params.add_uuid(owner_of(request));
        add_released(call.params, request);
    }

    void operator()(const commands::save_workflow& cmd) {
        call.which = st_save_instance;
        const uuid& id = instance_of(request);
        const bool bound = request.lock_version >= 0;
        // A bound save's command id makes its retry recognisable; an unbound one would meet its
        // own new lock on a retry, so its outcome stays in doubt.
        call.retry_when_in_doubt = bound;
        auto& p = call.params;
        p.add_uuid(owner_of(request));
        p.add_uuid(id);
        p.add_int8(request.lock_version);
        p.add_bool(cmd.instance_data.has_value());
        if (cmd.instance_data) {
            const auto part = [&](bool write_only, bool primitive) {
                return encode_part(*cmd.instance_data, options, [=](const instance_value& v) {
                    return v.is_write_only() == write_only && is_primitive(v.get()) == primitive;
                });
            };
            std::array<bytes, 4> parts{part(false, true), part(false, false), part(true, true), part(true, false)};
            require_within_limit(payload_bytes(parts[0]) + payload_bytes(parts[1]) + payload_bytes(parts[2]) +
                                     payload_bytes(parts[3]),
                                 options, "instance data");
            for (const auto& blob : parts) p.add_bytea(blob);
        } else {
            for (int i = 0; i < 4; ++i) p.add_null();
        }

        // Metadata (docs/sql.md, "Metadata"): with the handle's whole metadata at hand, the new
        // bag replaces the stored one and its pending changes; otherwise the change bag is
        // appended. Write-only values are never stored, so in a change bag they delete the name.
        const auto& changes = cmd.instance_metadata_changes;
        const auto mine = bound ? held.find(id, request.lock_version) : std::nullopt;
        if (!changes.empty() && mine) {
            property_bag metadata = mine->metadata;
            apply_changes(metadata, changes);
            metadata = readable_part(metadata);
            p.add_bool(true);
            p.add_bytea(encode_checked(metadata, options, "instance metadata"));
            call.new_metadata = std::move(metadata);
        } else if (!changes.empty()) {
            property_bag change_bag;
            for (const auto& [k, v] : changes) change_bag.emplace(k, v.is_write_only() ? instance_value::deleted() : v);
            p.add_bool(false);
            p.add_bytea(encode_checked(change_bag, options, "instance metadata changes"));
        } else {
            p.add_bool(false);
            p.add_null();
        }

        p.add_optional_int8(cmd.pending_timer ? std::optional<std::int64_t>(cmd.pending_timer->count()) : std::nullopt);
        p.add_bool(cmd.ready_to_run);
        p.add_text(cmd.execution_status);
        p.add_text(cmd.blocking_bookmarks);
        p.add_int4(static_cast<std::int32_t>(cmd.suspension));
        p.add_text(cmd.suspension_reason);
        p.add_text(cmd.suspension_exception_name);
        add_host_type(p, cmd.workflow_host_type);
        if (cmd.definition_identity) {
            const auto& ident = *cmd.definition_identity;
            p.add_text(ident.name);
            p.add_text(ident.package);
            for (const auto& part : version_parameters(ident)) p.add_optional_int8(part);
        } else {
            for (int i = 0; i < 6; ++i) p.add_null();
        }
        add_keys_to_associate(p, cmd.instance_keys_to_associate, options);
        p.add_uuid_array(cmd.instance_keys_to_complete);
        p.add_uuid_array(cmd.instance_keys_to_free);
        p.add_bool(cmd.unlock_instance);
        p.add_bool(cmd.complete_instance);
        // Every save with data replaces the instance's promoted values: [] removes them.
        if (cmd.instance_data)
            p.add_jsonb(promoted_json(request.promoted, options));
        else
            p.add_null();
        add_released(p, request);
        p.add_uuid(random_uuid());
    }
};

// ---- outcomes ---------------------------------------------------------------------------------

std::map<uuid, instance_key_view> read_keys(const row_reader& r, const store_options& options) {
    std::map<uuid, instance_key_view> keys;
    const auto ids = r.uuid_array(c_key_ids);
    if (!ids) return keys;
    const auto associated = r.bool_array(c_key_is_associated);
    const auto properties = r.bytea_array(c_key_properties);
    for (std::size_t i = 0; i < ids->size(); ++i) {
        if (!(*ids)[i]) throw call_failed(errc::corrupt_data, "a NULL key id in the result");
        instance_key_view view;
        view.key = *(*ids)[i];
        const bool is_associated = associated && i < associated->size() && (*associated)[i].value_or(true);
        view.state = is_associated ? instance_key_state::associated : instance_key_state::completed;
        if (properties && i < properties->size())
            view.metadata = decode((*properties)[i], options, "metadata of key " + to_string(view.key));
        view.metadata_consistency = value_consistency::none;
        keys.emplace(view.key, std::move(view));
    }
    return keys;
}

/// The base bag with the change bags applied in turn, without its write-only entries (the
/// engine's apply_changes + readable_part).
property_bag read_metadata(const row_reader& r, const store_options& options) {
    property_bag metadata = decode(r.bytea(c_metadata), options, "instance metadata");
    if (const auto changes = r.bytea_array(c_metadata_changes))
        for (const auto& change : *changes) apply_changes(metadata, decode(change, options, "instance metadata changes"));
    return readable_part(metadata);
}

instance_state state_of(const row_reader& r) {
    const auto s = r.int2(c_instance_state).value_or(0);
    if (s < 0 || s > 3) throw call_failed(errc::corrupt_data, "instance_state " + std::to_string(s) + " out of range");
    return static_cast<instance_state>(s);
}

/// What a load reports: data, metadata and keys, all authoritative.
void read_loaded(const row_reader& r, const store_options& options, command_outcome& out, held_instances& held) {
    auto& v = out.view;
    v.instance_id = r.uuid_value(c_instance_id);
    v.lock_version = r.int8(c_lock_version).value_or(-1);
    v.state = state_of(r);
    const std::string what = "instance " + to_string(*v.instance_id);
    v.data = decode(r.bytea(c_primitive_data), options, what + " data");
    v.data.merge(decode(r.bytea(c_complex_data), options, what + " data"));
    v.data_consistency = value_consistency::none;
    v.metadata = read_metadata(r, options);
    v.metadata_consistency = value_consistency::none;
    v.keys = read_keys(r, options);
    v.keys_consistency = value_consistency::none;
    if (v.lock_version >= 0) held.put(*v.instance_id, {v.lock_version, v.metadata, v.keys});
}

void read_failure(const row_reader& r, const store_options& options, const command_request& request, int code,
                  command_outcome& out, held_instances& held) {
    auto& d = out.diag;
    d.message = r.text(c_message).value_or("result code " + std::to_string(code));
    d.instance_id = r.uuid_value(c_instance_id);
    d.key = r.uuid_value(c_diagnostic_key_id);
    d.conflicting_instance_id = r.uuid_value(c_conflicting_instance_id);
    d.lock_holder = r.uuid_value(c_lock_holder_id);
    try {
        d.lock_holder_metadata = decode(r.bytea(c_lock_holder_metadata), options, "lock holder metadata");
    } catch (const call_failed&) {
        // The decision stands; an unreadable holder's metadata only makes the message poorer.
    }
    d.instance_version = r.int8(c_diagnostic_version).value_or(-1);
    const auto e = static_cast<errc>(code);
    if ((e == errc::instance_lock_lost || e == errc::stale_instance_version || e == errc::instance_completed) &&
        request.instance_id)
        held.erase(*request.instance_id, request.lock_version);
}

}  // namespace

statement_texts::statement_texts(const std::string& schema) {
    for (std::size_t i = 0; i < functions.size(); ++i) {
        const auto& [function, arity] = functions[i];
        names[i] = std::string("durable_") + function;
        std::string text = i == st_get_store_version ? "SELECT \"" + schema + "\"." + function + "("
                                                      : "SELECT * FROM \"" + schema + "\"." + function + "(";
        for (int n = 1; n <= arity; ++n) text += (n > 1 ? ", $" : "$") + std::to_string(n);
        texts[i] = text + ")";
    }
}

std::optional<held_instance> held_instances::find(const uuid& id, std::int64_t version) const {
    std::scoped_lock lock(mutex_);
    const auto it = held_.find(id);
    if (it == held_.end() || it->second.version != version) return std::nullopt;
    return it->second;
}

void held_instances::put(const uuid& id, held_instance h) {
    std::scoped_lock lock(mutex_);
    held_[id] = std::move(h);
}

void held_instances::erase(const uuid& id, std::int64_t version) {
    std::scoped_lock lock(mutex_);
    const auto it = held_.find(id);
    if (it != held_.end() && (version < 0 || it->second.version == version)) held_.erase(it);
}

error_code make_call(const command_request& request, const store_options& options, const held_instances& held,
                     command_call& call, diagnostics& diag) {
    try {
        call.instance_id = request.instance_id;
        if (const auto* by_key = std::get_if<commands::load_workflow_by_instance_key>(&request.command))
            call.instance_id = by_key->associate_instance_key_to_instance_id;
        else if (const auto* unlock = std::get_if<commands::unlock_instance>(&request.command))
            call.instance_id = unlock->instance_id;
        std::visit(call_builder{request, options, held, call}, request.command);
        return {};
    } catch (const call_failed& e) {
        diag.message = e.what();
        return e.code;
    } catch (const std::length_error& e) {
        diag.message = std::string("a bag is too large for the codec: ") + e.what();
        return errc::value_too_large;
    }
}

command_call unlock_call(const command_request& request, const released_lock& lock) {
    command_call call;
    call.which = st_unlock_instance;
    call.retry_when_in_doubt = true;
    call.params.add_uuid(request.owner_id.value_or(nil_uuid));
    call.params.add_uuid(lock.instance_id);
    call.params.add_int8(lock.version);
    return call;
}

error_code read_outcome(const command_request& request, const store_options& options, const PGresult* result,
                        const command_call& call, held_instances& held, command_outcome& out,
                        std::optional<released_lock>& undo) {
    std::optional<released_lock> taken;  // a lock this call took, until the outcome is handed over
    try {
        if (call.which == st_read_promoted_properties) return read_promoted_outcome(result, out);
        if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 || PQnfields(result) < column_count)
            throw call_failed(errc::schema_mismatch,
                              "the function did not return one command_result row: the schema is not the one this "
                              "build knows");
        const row_reader r(result, 0);
        const int code = r.int4(c_result_code).value_or(-1);
        if (code != 0) {
            read_failure(r, options, request, code, out, held);
            return static_cast<errc>(code);
        }
        auto& v = out.view;
        const auto& cmd = request.command;
        const bool loads = std::holds_alternative<commands::load_workflow>(cmd) ||
                           std::holds_alternative<commands::load_workflow_by_instance_key>(cmd) ||
                           std::holds_alternative<commands::try_load_runnable_workflow>(cmd);
        if (loads && request.lock_version < 0) {
            const auto id = r.uuid_value(c_instance_id);
            const auto version = r.int8(c_lock_version).value_or(-1);
            if (id && version >= 0) taken = released_lock{*id, version};
        }
        if (std::holds_alternative<commands::create_workflow_owner>(cmd)) {
            v.owner_id = r.uuid_value(c_owner_id).value_or(call.owner_id);
            v.owner_metadata = readable_part(std::get<commands::create_workflow_owner>(cmd).owner_metadata);
            v.owner_metadata_consistency = value_consistency::none;
        } else if (const auto* unlock = std::get_if<commands::unlock_instance>(&cmd)) {
            held.erase(unlock->instance_id, unlock->instance_version);
        } else if (std::holds_alternative<commands::detect_runnable_instances>(cmd)) {
            v.store_time = r.timestamptz(c_store_time);
            v.next_runnable_time = r.timestamptz(c_next_runnable_time);
        } else if (std::holds_alternative<commands::query_activatable_workflows>(cmd)) {
            const auto namespaces = r.text_array(c_activatable_namespaces);
            const auto names = r.text_array(c_activatable_names);
            const auto counts = r.int8_array(c_activatable_counts);
            if (namespaces && names && counts) {
                const auto n = std::min({namespaces->size(), names->size(), counts->size()});
                for (std::size_t i = 0; i < n; ++i)
                    v.activatable_workflows.push_back(
                        {name{(*namespaces)[i].value_or(""), (*names)[i].value_or("")}, (*counts)[i].value_or(0)});
            }
        } else if (std::holds_alternative<commands::load_workflow>(cmd) ||
                   std::holds_alternative<commands::load_workflow_by_instance_key>(cmd)) {
            read_loaded(r, options, out, held);
        } else if (std::holds_alternative<commands::try_load_runnable_workflow>(cmd)) {
            if (!r.is_null(c_instance_id)) read_loaded(r, options, out, held);
        } else if (const auto* save = std::get_if<commands::save_workflow>(&cmd)) {
            const uuid id = *request.instance_id;
            v.instance_id = id;
            v.lock_version = r.int8(c_lock_version).value_or(-1);
            v.state = state_of(r);
            const auto mine = request.lock_version >= 0 ? held.find(id, request.lock_version) : std::nullopt;
            if (save->complete_instance && options.completion_action == instance_completion_action::delete_all) {
                // Deleted with its keys: nothing else to report (as the engine).
                v.lock_version = -1;
                v.keys_consistency = value_consistency::none;
                held.erase(id, -1);
                return {};
            }
            if (!r.is_null(c_key_ids))
                v.keys = read_keys(r, options);
            else if (mine)
                v.keys = mine->keys;
            v.keys_consistency = value_consistency::none;
            if (!r.is_null(c_metadata_changes))
                v.metadata = read_metadata(r, options);
            else if (call.new_metadata)
                v.metadata = *call.new_metadata;
            else if (mine)
                v.metadata = mine->metadata;
            v.metadata_consistency = value_consistency::none;
            if (save->instance_data) {
                v.data = readable_part(*save->instance_data);
                v.data_consistency = value_consistency::none;
            }
            if (v.lock_version >= 0)
                held.put(id, {v.lock_version, v.metadata, v.keys});
            else
                held.erase(id, -1);
        }
        return {};
    } catch (const call_failed& e) {
        out.view = instance_view{};
        out.diag.message = e.what();
        undo = taken;
        if (taken) held.erase(taken->instance_id, taken->version);
        return e.code;
    } catch (const std::runtime_error& e) {
        out.view = instance_view{};
        out.diag.message = std::string("the result row could not be read: ") + e.what();
        undo = taken;
        if (taken) held.erase(taken->instance_id, taken->version);
        return errc::schema_mismatch;
    }
}

}  // namespace durable::pg::detail
