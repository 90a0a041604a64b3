#pragma once
// Sample property bags that exercise every value kind and option.

#include <durable/instance_value.hpp>

#include <cstdint>
#include <limits>

namespace durable::test {

inline property_bag every_kind_bag() {
    using namespace std::chrono_literals;
    property_bag bag;
    const std::string ns = "urn:durable:test";
    bag[{ns, "null"}] = instance_value(std::monostate{});
    bag[{ns, "bool"}] = instance_value(true);
    bag[{ns, "int64"}] = instance_value(std::int64_t{-9'007'199'254'740'993});
    bag[{ns, "double"}] = instance_value(3.141592653589793);
    bag[{ns, "string"}] = instance_value(std::string("grüße, \"quoted\" <xml> & \n newline"));
    bag[{ns, "bytes"}] = instance_value(bytes{0, 1, 2, 0xff, 0x7f});
    bag[{ns, "uuid"}] = instance_value(*parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    bag[{ns, "timestamp"}] = instance_value(timestamp{duration{1'795'000'000'123'456}});
    bag[{ns, "duration"}] = instance_value(duration{-90s});
    bag[{ns, "name"}] = instance_value(name{"urn:other", "local"});
    bag[{ns, "opaque"}] = instance_value(opaque{"application/json", bytes{'{', '}'}});
    bag[{"", "optional"}] = instance_value(std::string("maybe"), value_options::optional);
    bag[{"", "empty string"}] = instance_value(std::string());
    // Text a file format can mangle: XML parsers turn \r into \n and may drop white space.
    bag[{"", "carriage returns"}] = instance_value(std::string("line\r\nnext\r"));
    bag[{"", "white space only"}] = instance_value(std::string(" \t\n "));
    bag[{"", "control character"}] = instance_value(std::string("bell\x07"));
    bag[{"", "markup"}] = instance_value(std::string("]]> --> <!-- &amp; ' \""));
    // The limits of every numeric kind: text forms and time arithmetic break here first.
    bag[{"", "int64 min"}] = instance_value(std::numeric_limits<std::int64_t>::min());
    bag[{"", "int64 max"}] = instance_value(std::numeric_limits<std::int64_t>::max());
    bag[{"", "timestamp min"}] = instance_value(timestamp::min());
    bag[{"", "timestamp max"}] = instance_value(timestamp::max());
    bag[{"", "duration min"}] = instance_value(duration::min());
    bag[{"", "duration max"}] = instance_value(duration::max());
    bag[{"", "negative zero"}] = instance_value(-0.0);
    bag[{"", "infinity"}] = instance_value(-std::numeric_limits<double>::infinity());
    bag[{"", "denormal"}] = instance_value(std::numeric_limits<double>::denorm_min());
    // Names that the old "{ns}local" text form could not carry.
    bag[{"{ns}", "{local}"}] = instance_value(name{"", "{x}y"});
    bag[{"", "empty name"}] = instance_value(name{});
    bag[{"", "NUL in a string"}] = instance_value(std::string("a\0b", 3));
    bag[{"", "invalid UTF-8"}] = instance_value(std::string("\xc0\x80 \xed\xa0\x80 \xff"));
    bag[{"", "opaque with NUL type"}] = instance_value(opaque{std::string("x\0y", 3), bytes{1}});
    return bag;
}

}  // namespace durable::test
