#pragma once
// Definition identities (WF 4.5 versioning): which workflow definitions an owner can run.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace durable {

/// Major.minor[.build[.revision]], as System.Version.
struct definition_version {
    std::int64_t major = 0;
    std::int64_t minor = 0;
    std::optional<std::int64_t> build;
    std::optional<std::int64_t> revision;
    friend auto operator<=>(const definition_version&, const definition_version&) = default;
};

/// A workflow definition's identity: name, optional package, optional version.
struct workflow_identity {
    std::string name;
    std::string package;
    std::optional<definition_version> version;

    /// "name; Version=1.2.3.4; Package=pkg" (the .NET WorkflowIdentity text form).
    std::string to_string() const;
    /// The same identity with the revision dropped (the "any revision" match key). The
    /// original's quirk for a missing build number (version (minor, minor)) is not reproduced.
    workflow_identity without_revision() const;

    friend auto operator<=>(const workflow_identity&, const workflow_identity&) = default;
};

/// How an owner's identities select the instances it may load as runnable.
enum class identity_filter : std::uint8_t {
    exact = 0,         ///< the instance's identity is one of the owner's (no identity matches no identity)
    any = 1,           ///< every instance, whatever its identity
    any_revision = 2,  ///< equal once revisions are dropped
};

}  // namespace durable
