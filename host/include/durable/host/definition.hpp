#pragma once
// Workflow definitions: a name and a version (the definition identity) made of named steps.
//
// A step is a C++ callable, a plain function or a coroutine, that gets a step_context and says
// what happens next (a step_result). Between steps the host persists the instance as plain
// values: the current step, the variables, the bookmarks it waits for, its timer and status,
// so a step must keep everything it needs later in the context's variables.
//
// Steps run at least once: after a crash the host that takes the instance over runs the step
// that was running again. What a step writes to the variables is saved atomically with the
// step that follows, so an effect recorded in the variables happens exactly once in the store.

#include <durable/value.hpp>
#include <durable/workflow_identity.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace durable::host {

/// The values a workflow keeps (variables, inputs, outputs), by plain name.
using variables = std::map<std::string, value>;

/// The state a step sees and changes. Valid only during the step's call.
class step_context {
public:
    step_context(const uuid& instance_id, const workflow_identity& definition, variables& vars,
                 const value& payload, std::int64_t attempt, timestamp now) noexcept
        : instance_id_(instance_id), definition_(definition), variables_(vars), payload_(payload),
          attempt_(attempt), now_(now) {}

    const uuid& instance_id() const noexcept { return instance_id_; }
    const workflow_identity& definition() const noexcept { return definition_; }

    /// The instance's variables (the start inputs, then whatever steps set).
    variables& vars() noexcept { return variables_; }
    const variables& vars() const noexcept { return variables_; }
    /// The variable `name`; throws std::out_of_range naming it when there is none.
    const value& var(const std::string& name) const;
    /// The variable as T; throws std::invalid_argument naming it when it holds another kind.
    template <class T>
    const T& var_as(const std::string& name) const;
    /// Sets a variable; throws std::invalid_argument for an empty name.
    void set(const std::string& name, value v) {
        if (name.empty()) throw std::invalid_argument("a variable needs a name");
        variables_[name] = std::move(v);
    }

    /// The payload of the bookmark that resumed the instance into this step; null otherwise.
    const value& payload() const noexcept { return payload_; }
    /// 1 on the first try, 2 on the first retry, ...
    std::int64_t attempt() const noexcept { return attempt_; }
    /// The store clock's time when the step began (timers are judged by that clock).
    timestamp now() const noexcept { return now_; }

private:
    uuid instance_id_;
    const workflow_identity& definition_;
    variables& variables_;
    const value& payload_;
    std::int64_t attempt_;
    timestamp now_;
};

/// A bookmark the instance waits for, and the step that runs when it is resumed.
struct bookmark_route {
    std::string bookmark;
    std::string step;
};

/// What a step says happens next.
class step_result {
public:
    struct go_to_step {
        std::string step;
        bool persist_first = false;  ///< an explicit persistence point before the next step
    };
    struct wait {
        std::vector<bookmark_route> bookmarks;  ///< may be empty when there is a timer
        std::optional<duration> delay;          ///< fire after this long (store clock)...
        std::optional<timestamp> until;         ///< ...or at this time
        std::string timer_step;                 ///< the step the timer leads to
    };
    struct complete {
        variables outputs;
    };
    struct fail {
        std::string reason;
    };
    using kind = std::variant<go_to_step, wait, complete, fail>;

    /// Run `step` next, in the same persistence episode.
    static step_result go_to(std::string step) { return step_result{go_to_step{std::move(step), false}}; }
    /// Save the instance now (the original's explicit Persist), keeping it loaded, then run `step`.
    static step_result persist_then(std::string step) { return step_result{go_to_step{std::move(step), true}}; }
    /// Wait for one of `bookmarks`: the instance becomes idle (a persistence point). Throws
    /// std::invalid_argument for none, an empty name or a name listed twice.
    static step_result wait_for(std::vector<bookmark_route> bookmarks);
    /// Wait for one of `bookmarks`, or go to `timeout_step` when `timeout` passes first.
    static step_result wait_for(std::vector<bookmark_route> bookmarks, duration timeout, std::string timeout_step);
    /// A durable timer: `step` runs once `delay` has passed on the store's clock.
    static step_result sleep_for(duration delay, std::string step);
    /// A durable timer: `step` runs at `when` (store clock).
    static step_result sleep_until(timestamp when, std::string step);
    /// The instance completes with `outputs` (a persistence point: complete and unlock).
    static step_result complete_with(variables outputs = {}) { return step_result{complete{std::move(outputs)}}; }
    /// The instance faults with `reason`, as a step that throws with no retries left does.
    static step_result fail_with(std::string reason) { return step_result{fail{std::move(reason)}}; }

    const kind& get() const noexcept { return what_; }
    kind take() && noexcept { return std::move(what_); }

private:
    explicit step_result(kind what) : what_(std::move(what)) {}
    kind what_;
};

using plain_step = std::function<step_result(step_context&)>;
using coroutine_step = std::function<boost::asio::awaitable<step_result>(step_context&)>;

/// Retries of a step that throws. The attempt count is persisted and the back-off is a durable
/// timer, so a host that crashes between attempts neither forgets nor repeats the count.
struct retry_policy {
    int max_attempts = 1;  ///< 1: no retries
    duration initial_backoff = std::chrono::seconds{1};
    double backoff_multiplier = 2.0;
    duration max_backoff = std::chrono::minutes{10};

    /// The back-off before attempt `next_attempt` (2 = first retry).
    duration backoff_before(std::int64_t next_attempt) const;
    /// Throws std::invalid_argument naming what is out of range.
    void validate() const;
};

/// A workflow definition: its identity and its steps; the first step added runs first.
class workflow_definition {
public:
    struct step_entry {
        std::variant<plain_step, coroutine_step> body;
        retry_policy retry;
    };

    /// Throws std::invalid_argument for an empty name.
    workflow_definition(std::string name, definition_version version);

    /// Adds a step. Throws std::invalid_argument for an empty or repeated name, an empty
    /// callable or a retry policy out of range.
    workflow_definition& step(std::string name, plain_step body, retry_policy retry = {});
    workflow_definition& coroutine(std::string name, coroutine_step body, retry_policy retry = {});

    const workflow_identity& identity() const noexcept { return identity_; }
    const std::string& first_step() const;
    /// The step `name`, or null.
    const step_entry* find(const std::string& name) const noexcept;

private:
    workflow_definition& add(std::string name, step_entry entry);

    workflow_identity identity_;
    std::string first_step_;
    std::map<std::string, step_entry> steps_;
};

template <class T>
const T& step_context::var_as(const std::string& name) const {
    const value& v = var(name);
    if (const T* typed = std::get_if<T>(&v)) return *typed;
    throw std::invalid_argument("variable '" + name + "' holds a value of kind " + to_string(kind_of(v)));
}

}  // namespace durable::host
