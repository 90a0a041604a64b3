#pragma once
// A backend that runs another and checks every outcome against the command-result contract
// (store_backend.hpp), in every build type: the conformance suite runs the memory store through
// it, so the reference store's results are held to the text a custom store author codes against.
// A broken rule aborts the test program with the rule's text: no assertion can be missed on a
// background thread.

#include <durable/store_backend.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>

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
        // Only the checked copy of the request is kept, and only of what the check reads.
        command_request checked = request;
        inner_->async_run_command(
            std::move(request),
            asio::bind_cancellation_slot(slot, [checked = std::move(checked), handler = std::move(handler)](
                                                   error_code ec, command_outcome outcome) mutable {
                require_contract(checked, ec, outcome);
                std::move(handler)(ec, std::move(outcome));
            }));
    }

private:
    void attached() override { inner_->attach(context()); }
    void on_shut_down() noexcept override { inner_->shut_down(); }

    static void require_contract(const command_request& request, error_code ec, const command_outcome& outcome) {
        if (auto broken = check_command_outcome(request, ec, outcome); !broken.empty()) {
            std::fprintf(stderr, "conformance: the backend broke the command-result contract: %s\n", broken.c_str());
            std::abort();
        }
    }

    std::shared_ptr<store_backend> inner_;
};

}  // namespace durable::conformance
