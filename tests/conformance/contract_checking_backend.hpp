#pragma once
// A backend that runs another and checks every outcome against the command-result contract
// (store_backend.hpp), in every build type: the conformance suite runs the memory store through
// it, so the reference store's results are held to the text a custom store author codes against.
// A broken rule aborts the test program with the rule's text: no assertion can be missed on a
// background thread.

#include <durable/store_backend.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace durable::conformance {

class contract_checking_backend final : public store_backend {
public:
    explicit contract_checking_backend(std::shared_ptr<store_backend> inner) : inner_(std::move(inner)) {}

    error_code run_command(const command_request& request, command_outcome& outcome) override {
        const error_code ec = inner_->run_command(request, outcome);
        require_contract(request, ec, outcome);
        return ec;
    }

    void async_run_command(command_request request,
                           asio::any_completion_handler<void(error_code, command_outcome)> handler) override {
        auto slot = asio::get_associated_cancellation_slot(handler);
        command_request checked = what_the_check_reads(request);
        inner_->async_run_command(
            std::move(request),
            asio::bind_cancellation_slot(slot, [checked = std::move(checked), handler = std::move(handler)](
                                                   error_code ec, command_outcome outcome) mutable {
                require_contract(checked, ec, outcome);
                // Completed through the handler's own executor, as the contract asks of a backend.
                auto executor = asio::get_associated_executor(handler);
                asio::dispatch(executor, asio::append(std::move(handler), ec, std::move(outcome)));
            }));
    }

private:
    void attached() override { inner_->attach(context()); }
    void on_shut_down() noexcept override { inner_->shut_down(); }

    /// The request without a save's instance data, which the check does not read.
    static command_request what_the_check_reads(const command_request& request) {
        const auto* save = std::get_if<commands::save_workflow>(&request.command);
        if (save == nullptr) return request;
        commands::save_workflow kept;
        kept.unlock_instance = save->unlock_instance;
        kept.complete_instance = save->complete_instance;
        return command_request{std::move(kept), request.owner_id, request.instance_id, request.lock_version, {}, {}};
    }

    static void require_contract(const command_request& request, error_code ec, const command_outcome& outcome) {
        if (auto broken = check_command_outcome(request, ec, outcome); !broken.empty()) {
            std::fprintf(stderr, "conformance: the backend broke the command-result contract: %s\n", broken.c_str());
            std::abort();
        }
    }

    std::shared_ptr<store_backend> inner_;
};

}  // namespace durable::conformance
