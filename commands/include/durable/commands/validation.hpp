#pragma once
// The original's Validate rules: what each command requires of the handle and of itself.

#include <durable/commands/command.hpp>
#include <durable/error.hpp>

#include <string>

namespace durable::commands {

/// What the handle is bound to when the command starts.
struct handle_binding {
    bool owner = false;
    bool instance = false;
    bool lock = false;
};

/// errc::invalid_command with `why` set to the broken rule, or success.
error_code validate(const command& cmd, const handle_binding& binding, std::string& why);

}  // namespace durable::commands
