#include <durable/events.hpp>

namespace durable {

const char* to_string(persistence_event e) noexcept {
    switch (e) {
        case persistence_event::has_runnable_workflow: return "has_runnable_workflow";
        case persistence_event::has_activatable_workflow: return "has_activatable_workflow";
    }
    return "unknown_event";
}

}  // namespace durable
