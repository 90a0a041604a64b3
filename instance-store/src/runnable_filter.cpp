#include <durable/extension/records.hpp>

#include <algorithm>

namespace durable::extension {

bool runnable_filter::matches(const std::optional<name>& host_type,
                              const std::optional<workflow_identity>& identity) const {
    // Instances without a host type are never runnable (the original's equality filter on NULL).
    if (!host_type || *host_type != workflow_host_type) return false;
    switch (filter) {
        case identity_filter::any: return true;
        case identity_filter::exact:
            if (!identity) return identities.empty();
            return std::find(identities.begin(), identities.end(), *identity) != identities.end();
        case identity_filter::any_revision: {
            if (!identity) return identities.empty();
            const auto wanted = identity->without_revision();
            return std::any_of(identities.begin(), identities.end(),
                               [&](const workflow_identity& i) { return i.without_revision() == wanted; });
        }
    }
    return false;
}

}  // namespace durable::extension
