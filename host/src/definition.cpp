// Workflow definitions, step results and retry policies.

#include <durable/host/definition.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace durable::host {

const value& step_context::var(const std::string& name) const {
    const auto it = variables_.find(name);
    if (it == variables_.end()) throw std::out_of_range("the instance has no variable '" + name + "'");
    return it->second;
}

namespace {

void check_bookmarks(const std::vector<bookmark_route>& bookmarks) {
    if (bookmarks.empty()) throw std::invalid_argument("wait_for needs at least one bookmark");
    for (std::size_t i = 0; i < bookmarks.size(); ++i) {
        if (bookmarks[i].bookmark.empty()) throw std::invalid_argument("wait_for: a bookmark has an empty name");
        for (std::size_t j = 0; j < i; ++j)
            if (bookmarks[j].bookmark == bookmarks[i].bookmark)
                throw std::invalid_argument("wait_for: bookmark '" + bookmarks[i].bookmark + "' is listed twice");
    }
}

}  // namespace

step_result step_result::wait_for(std::vector<bookmark_route> bookmarks) {
    check_bookmarks(bookmarks);
    return step_result{wait{std::move(bookmarks), std::nullopt, std::nullopt, {}}};
}

step_result step_result::wait_for(std::vector<bookmark_route> bookmarks, duration timeout, std::string timeout_step) {
    check_bookmarks(bookmarks);
    if (timeout < duration::zero()) throw std::invalid_argument("wait_for: the timeout is negative");
    return step_result{wait{std::move(bookmarks), timeout, std::nullopt, std::move(timeout_step)}};
}

step_result step_result::sleep_for(duration delay, std::string step) {
    if (delay < duration::zero()) throw std::invalid_argument("sleep_for: the delay is negative");
    return step_result{wait{{}, delay, std::nullopt, std::move(step)}};
}

step_result step_result::sleep_until(timestamp when, std::string step) {
    return step_result{wait{{}, std::nullopt, when, std::move(step)}};
}

duration retry_policy::backoff_before(std::int64_t next_attempt) const {
    // attempt 2 waits initial_backoff, attempt 3 initial x multiplier, ... capped at max_backoff.
    const double factor = std::pow(backoff_multiplier, static_cast<double>(std::max<std::int64_t>(next_attempt - 2, 0)));
    const double micros = static_cast<double>(initial_backoff.count()) * factor;
    if (!(micros < static_cast<double>(max_backoff.count()))) return max_backoff;
    return duration{static_cast<duration::rep>(micros)};
}

void retry_policy::validate() const {
    if (max_attempts < 1) throw std::invalid_argument("retry_policy::max_attempts must be at least 1");
    if (initial_backoff < duration::zero()) throw std::invalid_argument("retry_policy::initial_backoff is negative");
    if (max_backoff < initial_backoff)
        throw std::invalid_argument("retry_policy::max_backoff is shorter than initial_backoff");
    if (!(backoff_multiplier >= 1.0) || !std::isfinite(backoff_multiplier))
        throw std::invalid_argument("retry_policy::backoff_multiplier must be a finite number of at least 1");
}

workflow_definition::workflow_definition(std::string name, definition_version version) {
    if (name.empty()) throw std::invalid_argument("a workflow definition needs a name");
    identity_.name = std::move(name);
    identity_.version = version;
}

workflow_definition& workflow_definition::step(std::string name, plain_step body, retry_policy retry) {
    if (!body) throw std::invalid_argument("step '" + name + "' of " + identity_.to_string() + " has no body");
    return add(std::move(name), step_entry{std::move(body), retry});
}

workflow_definition& workflow_definition::coroutine(std::string name, coroutine_step body, retry_policy retry) {
    if (!body) throw std::invalid_argument("step '" + name + "' of " + identity_.to_string() + " has no body");
    return add(std::move(name), step_entry{std::move(body), retry});
}

workflow_definition& workflow_definition::add(std::string name, step_entry entry) {
    if (name.empty()) throw std::invalid_argument("a step of " + identity_.to_string() + " has an empty name");
    entry.retry.validate();
    if (steps_.contains(name))
        throw std::invalid_argument("step '" + name + "' is defined twice in " + identity_.to_string());
    if (first_step_.empty()) first_step_ = name;
    steps_.emplace(std::move(name), std::move(entry));
    return *this;
}

const std::string& workflow_definition::first_step() const {
    if (first_step_.empty()) throw std::invalid_argument(identity_.to_string() + " has no steps");
    return first_step_;
}

const workflow_definition::step_entry* workflow_definition::find(const std::string& name) const noexcept {
    const auto it = steps_.find(name);
    return it == steps_.end() ? nullptr : &it->second;
}

}  // namespace durable::host
