#include <durable/instance_value.hpp>

namespace durable {

bag_partition partition(const property_bag& bag) {
    bag_partition parts;
    for (const auto& [key, v] : bag) {
        const bool primitive = is_primitive(v.get());
        auto& target = v.is_write_only() ? (primitive ? parts.write_only_primitive : parts.write_only_complex)
                                         : (primitive ? parts.read_write_primitive : parts.read_write_complex);
        target.emplace(key, v);
    }
    return parts;
}

void apply_changes(property_bag& target, const property_bag& changes) {
    for (const auto& [key, v] : changes) {
        if (v.is_deleted())
            target.erase(key);
        else
            target.insert_or_assign(key, v);
    }
}

property_bag readable_part(const property_bag& bag) {
    property_bag out;
    for (const auto& [key, v] : bag)
        if (!v.is_write_only() && !v.is_deleted()) out.emplace(key, v);
    return out;
}

}  // namespace durable
