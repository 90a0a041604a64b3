#pragma once
// The staged transaction a command runs in: reads see the command's own staged writes and are
// remembered, so a command that looks at a record twice (the owner, in save) costs the store one
// read; commit() hands all writes to the store in one go, and a command that fails commits
// nothing.

#include <durable/extension/record_store.hpp>

#include <utility>

namespace durable::extension {

class engine_transaction {
public:
    explicit engine_transaction(record_store& base) : base_(base) {}

    record_store& base() { return base_; }

    std::optional<owner_record> owner(const uuid& id) {
        return read(changes_.owners, owners_read_, id, [&] { return base_.find_owner(id); });
    }
    /// `with_data` false: the caller replaces the data (see record_store::find_instance).
    std::optional<instance_record> instance(const uuid& id, bool with_data = true) {
        if (with_data)  // a record read earlier without its data does not do now
            if (auto it = instances_read_.find(id); it != instances_read_.end() && it->second && it->second->data_omitted)
                instances_read_.erase(it);
        return read(changes_.instances, instances_read_, id, [&] { return base_.find_instance(id, with_data); });
    }
    std::optional<key_record> key(const uuid& id) {
        return read(changes_.keys, keys_read_, id, [&] { return base_.find_key(id); });
    }

    void put(const owner_record& r) { changes_.owners[r.id] = r; }
    void put(instance_record r) {
        const uuid id = r.id;
        changes_.instances[id] = std::move(r);  // its data can be large: moved, never copied
    }
    void put(const key_record& r) { changes_.keys[r.id] = r; }
    void erase_owner(const uuid& id) { changes_.owners[id] = std::nullopt; }
    void erase_instance(const uuid& id) { changes_.instances[id] = std::nullopt; }
    void erase_key(const uuid& id) { changes_.keys[id] = std::nullopt; }
    /// Drops what was staged for an instance, for a command that gives up on it and goes on
    /// with another (a try-load passing over a damaged candidate).
    void unstage_instance(const uuid& id) { changes_.instances.erase(id); }

    record_store::commit_completion commit() {
        if (changes_.empty()) return {};
        return base_.commit(std::move(changes_));  // the transaction is done with them
    }

private:
    template <class Map, class Fallback>
    static auto read(const Map& staged, Map& already_read, const uuid& id, Fallback fallback) -> decltype(fallback()) {
        if (auto it = staged.find(id); it != staged.end()) return it->second;
        if (auto it = already_read.find(id); it != already_read.end()) return it->second;
        return already_read.emplace(id, fallback()).first->second;
    }

    record_store& base_;
    change_set changes_;
    decltype(change_set::owners) owners_read_;
    decltype(change_set::instances) instances_read_;
    decltype(change_set::keys) keys_read_;
};

}  // namespace durable::extension
