#pragma once
// Records as this process last read or wrote them, so that a save neither reads nor parses the
// file it is about to replace. The XML record store keeps the entries true: it clears them when
// another process has committed (the generation in store.lock moved), and drops the entries of
// a commit that failed before they became durable.

#include <durable/extension/records.hpp>

#include <boost/container_hash/hash.hpp>

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace durable::xml {

/// A map of at most `capacity` records that forgets the least recently used one first.
template <class Record>
class lru_records {
public:
    explicit lru_records(std::size_t capacity) : capacity_(capacity) {}

    std::optional<Record> find(const uuid& id) {
        const auto it = where_.find(id);
        if (it == where_.end()) return std::nullopt;
        order_.splice(order_.begin(), order_, it->second);  // now the most recently used
        return it->second->second;
    }

    void put(const uuid& id, Record record) {
        if (capacity_ == 0) return;
        if (const auto it = where_.find(id); it != where_.end()) {
            it->second->second = std::move(record);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        order_.emplace_front(id, std::move(record));
        where_.emplace(id, order_.begin());
        if (order_.size() > capacity_) {
            where_.erase(order_.back().first);
            order_.pop_back();
        }
    }

    void erase(const uuid& id) {
        if (const auto it = where_.find(id); it != where_.end()) {
            order_.erase(it->second);
            where_.erase(it);
        }
    }

    void clear() {
        where_.clear();
        order_.clear();
    }

    std::size_t size() const noexcept { return order_.size(); }

private:
    using entry = std::pair<uuid, Record>;
    std::size_t capacity_;
    std::list<entry> order_;  // most recently used first
    std::unordered_map<uuid, typename std::list<entry>::iterator, boost::hash<uuid>> where_;
};

/// Owners, instances (control fields and metadata only: data is never cached) and keys.
struct record_cache {
    explicit record_cache(std::size_t capacity) : owners(capacity), instances(capacity), keys(capacity) {}

    /// The part of an instance record that is cached: everything but the four data blobs and
    /// the promoted values (part of the data), which are moved aside for the copy (so they are
    /// not copied) and then put back.
    static extension::instance_record control_part(extension::instance_record& full) {
        bytes* const data[] = {&full.read_write_primitive, &full.read_write_complex, &full.write_only_primitive,
                               &full.write_only_complex};
        // Move construction leaves each source empty (move assignment need not).
        bytes aside[4] = {std::move(*data[0]), std::move(*data[1]), std::move(*data[2]), std::move(*data[3])};
        auto promoted_aside = std::move(full.promoted);
        extension::instance_record control = full;
        for (int i = 0; i < 4; ++i) *data[i] = std::move(aside[i]);
        full.promoted = std::move(promoted_aside);
        control.data_omitted = true;
        return control;
    }

    /// What the cache keeps of a record: all of it, except an instance's data.
    static extension::owner_record cached_form(const extension::owner_record& r) { return r; }
    static extension::key_record cached_form(const extension::key_record& r) { return r; }
    static extension::instance_record cached_form(extension::instance_record& r) { return control_part(r); }

    void clear() {
        owners.clear();
        instances.clear();
        keys.clear();
    }

    lru_records<extension::owner_record> owners;
    lru_records<extension::instance_record> instances;
    lru_records<extension::key_record> keys;
};

}  // namespace durable::xml
