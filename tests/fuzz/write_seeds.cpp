// Writes the fuzz targets' seed corpora: valid blobs of every encoding and value kind, and valid
// record files of every kind, produced by the code under test so that the seeds follow its
// formats as they change. Usage: durable_fuzz_seeds <dir>; it fills <dir>/<target>/.

#include "xml_format.hpp"

#include <durable/codec.hpp>
#include <test_common/values.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace {

using namespace durable;
namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, std::string_view content) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

void write(const fs::path& dir, const std::string& name, const bytes& content) {
    write(dir, name, std::string_view(reinterpret_cast<const char*>(content.data()), content.size()));
}

void codec_seeds(const fs::path& dir) {
    const auto every_kind = test::every_kind_bag();
    property_bag changes;
    changes["set"] = instance_value(std::int64_t{7}, value_options::write_only | value_options::optional);
    changes["gone"] = instance_value::deleted();
    property_bag repetitive;
    repetitive["text"] = instance_value(std::string(4000, 'a'));
    for (const encoding enc : {encoding::none, encoding::gzip, encoding::zstd}) {
        const std::string suffix = std::string("-") + to_string(enc);
        write(dir, "empty" + suffix, encode_bag({}, enc));
        write(dir, "every-kind" + suffix, encode_bag(every_kind, enc));
        write(dir, "changes" + suffix, encode_bag(changes, enc));
        write(dir, "repetitive" + suffix, encode_bag(repetitive, enc));
        // One entry per value, so that a mutation of one value is not lost among the others.
        int n = 0;
        for (const auto& [key, v] : every_kind) write(dir, "single-" + std::to_string(++n) + suffix, encode_bag({{key, v}}, enc));
    }
}

void xml_seeds(const fs::path& dir) {
    const bytes every_kind = encode_bag(test::every_kind_bag(), encoding::none);
    const bytes small = encode_bag({{"step", instance_value(std::int64_t{2})}}, encoding::none);
    const workflow_identity identity{"OrderFlow", "urn:example:orders", definition_version{1, 2, 3, 4}};

    extension::owner_record owner;
    owner.id = *parse_uuid("6b1f3c0e-8a52-4c31-9d0e-2f6a1c9b7e41");
    owner.lease_expires = timestamp{duration{1'795'000'060'000'000}};
    owner.created = timestamp{duration{1'795'000'000'000'000}};
    owner.workflow_host_type = name{"urn:example", "OrderHost"};
    owner.machine_name = "host-1";
    owner.identities = {identity, workflow_identity{"Unversioned", "", std::nullopt}};
    owner.metadata = small;
    owner.write_only_metadata = small;
    write(dir, "owner", xml::render_owner(owner));
    write(dir, "owner-minimal", xml::render_owner(extension::owner_record{}));

    extension::instance_record instance;
    instance.id = *parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e");
    instance.lock_owner = owner.id;
    instance.version = 3;
    instance.initialized = true;
    instance.suspended = true;
    instance.pending_timer = timestamp{duration{1'795'000'300'000'000}};
    instance.runnable_time = instance.pending_timer;
    instance.workflow_host_type = owner.workflow_host_type;
    instance.identity = identity;
    instance.creation_time = owner.created;
    instance.last_updated = owner.lease_expires;
    instance.read_write_primitive = every_kind;
    instance.read_write_complex = small;
    instance.write_only_primitive = small;
    instance.write_only_complex = small;
    instance.metadata = small;
    instance.execution_status = "Idle";
    instance.blocking_bookmarks = "approve";
    instance.suspension_reason = "waiting for a person";
    instance.suspension_exception_name = "none";
    instance.last_machine_run_on = "host-1";
    write(dir, "instance", xml::render_instance(instance));
    write(dir, "instance-minimal", xml::render_instance(extension::instance_record{}));

    extension::key_record key;
    key.id = *parse_uuid("3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a");
    key.instance_id = instance.id;
    write(dir, "key-no-metadata", xml::render_key(key));
    key.metadata = bytes{};
    write(dir, "key-empty-metadata", xml::render_key(key));
    key.associated = false;
    key.metadata = small;
    write(dir, "key-completed", xml::render_key(key));

    write(dir, "store", xml::render_store_header(1));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    try {
        const fs::path root = argv[1];
        fs::create_directories(root / "durable_fuzz_codec");
        fs::create_directories(root / "durable_fuzz_xml_records");
        codec_seeds(root / "durable_fuzz_codec");
        xml_seeds(root / "durable_fuzz_xml_records");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "durable_fuzz_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
