#pragma once
// with_diagnostics(token): a completion token adapter that carries a failed command's
// diagnostics into the exception. An operation whose handler takes (error_code, T) completes
// through it as (std::exception_ptr, T), the pointer holding a store_error, so that
// `co_await store.async_execute(...)` throws an error that says who holds the lock, and
// `with_diagnostics(asio::use_future)` makes a future that does. The store's default token is
// with_diagnostics(asio::deferred). Modelled on boost.mysql's with_diagnostics.
//
// Binders go inside: with_diagnostics(asio::bind_cancellation_slot(slot, asio::use_awaitable)).
// (Boost 1.81's binders cannot wrap a token whose async_result has only initiate(); that is a
// compile error, never a silent loss of the diagnostics.)

#include <durable/diagnostics.hpp>
#include <durable/error.hpp>
#include <durable/events.hpp>
#include <durable/instance_handle.hpp>
#include <durable/instance_view.hpp>
#include <durable/store_error.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/version.hpp>

#include <concepts>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace durable {

template <class Token>
struct with_diagnostics_t {
    constexpr with_diagnostics_t()
        requires std::default_initializable<Token>
    = default;
    template <class T>
        requires std::constructible_from<Token, T&&>
    constexpr explicit with_diagnostics_t(T&& inner) : token(std::forward<T>(inner)) {}

    Token token;
};

template <class Token>
constexpr with_diagnostics_t<std::decay_t<Token>> with_diagnostics(Token&& token) {
    return with_diagnostics_t<std::decay_t<Token>>(std::forward<Token>(token));
}

/// The token every asynchronous store operation takes when none is given.
using default_token = with_diagnostics_t<boost::asio::deferred_t>;

namespace detail {

/// The handler with_diagnostics hands to an initiation: it owns the diagnostics the store fills
/// and turns a failure into a store_error.
template <class Handler>
struct diagnostics_handler {
    explicit diagnostics_handler(Handler h) : handler(std::move(h)) {}

    /// (error_code, T) becomes (exception_ptr, T); (error_code) becomes (exception_ptr).
    template <class... T>
        requires(sizeof...(T) <= 1)
    void operator()(error_code ec, T... value) {
        std::exception_ptr error;
        if (ec) {
            if (copy_to != nullptr) *copy_to = *diag;
            error = std::make_exception_ptr(store_error(ec, std::move(*diag)));
        } else if (copy_to != nullptr) {
            copy_to->clear();
        }
        std::move(handler)(std::move(error), std::move(value)...);
    }

    Handler handler;
    std::unique_ptr<diagnostics> diag = std::make_unique<diagnostics>();
    diagnostics* copy_to = nullptr;  // the caller's own diagnostics, when it passed one too
};

template <class Handler>
diagnostics* diagnostics_target(Handler&, diagnostics* caller) noexcept {
    return caller;
}

/// Where the store writes a command's diagnostics: into the with_diagnostics handler when there
/// is one (which then also copies them to the caller's), else into the caller's, if any.
template <class Handler>
diagnostics* diagnostics_target(diagnostics_handler<Handler>& handler, diagnostics* caller) noexcept {
    handler.copy_to = caller;
    return handler.diag.get();
}

/// Initiates an operation of signature void(error_code, T...) through with_diagnostics: the
/// inner token sees void(std::exception_ptr, T...).
template <class... T>
struct with_diagnostics_result {
    template <class Initiation, class RawToken, class... Args>
    static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
        // The inner token keeps the value category of the outer one: an lvalue token is used,
        // not moved from (a token kept by the caller works again), a const one is copied.
        using inner_token_type = std::remove_reference_t<decltype((token.token))>;
        using inner = std::conditional_t<std::is_lvalue_reference_v<RawToken>, inner_token_type&, inner_token_type>;
        auto& inner_token = token.token;
        return boost::asio::async_initiate<inner, void(std::exception_ptr, T...)>(
            [inner = std::forward<Initiation>(initiation)](auto&& handler, auto&&... inner_args) mutable {
                using handler_type = std::decay_t<decltype(handler)>;
                std::move(inner)(diagnostics_handler<handler_type>(std::forward<decltype(handler)>(handler)),
                                 std::forward<decltype(inner_args)>(inner_args)...);
            },
            inner_token, std::forward<Args>(args)...);
    }
};

}  // namespace detail
}  // namespace durable

namespace boost::asio {

/// Operations that complete with (error_code, T) complete through with_diagnostics as
/// (std::exception_ptr, T); those that complete with (error_code) as (std::exception_ptr).
template <class Token, class T>
struct async_result<durable::with_diagnostics_t<Token>, void(durable::error_code, T)>
    : durable::detail::with_diagnostics_result<T> {};

template <class Token>
struct async_result<durable::with_diagnostics_t<Token>, void(durable::error_code)>
    : durable::detail::with_diagnostics_result<> {};

/// The handler's executor, allocator and cancellation slot are those of the handler it wraps.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, durable::detail::diagnostics_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const durable::detail::diagnostics_handler<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const durable::detail::diagnostics_handler<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

}  // namespace boost::asio

#if BOOST_VERSION <= 108100
// Boost 1.81's awaitable_async_op_handler<R(std::exception_ptr, T)>::resume tests `*result`, a
// struct, so `co_await op` does not compile for an operation whose handler takes
// (exception_ptr, T), such as every operation completed through with_diagnostics(deferred).
// These specialisations for the store's result types test the exception pointer instead; other
// libraries of this project (the host) use the macro for their own result types.
#define DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(T)                                                  \
    namespace boost::asio::detail {                                                                 \
    template <typename R, typename Executor>                                                        \
    class awaitable_async_op_handler<R(std::exception_ptr, T), Executor>                            \
        : public awaitable_thread<Executor> {                                                       \
    public:                                                                                         \
        struct result_type {                                                                        \
            std::exception_ptr* ex_;                                                                \
            T* value_;                                                                              \
        };                                                                                          \
        awaitable_async_op_handler(awaitable_thread<Executor>* h, result_type& result)              \
            : awaitable_thread<Executor>(std::move(*h)), result_(result) {}                         \
        void operator()(std::exception_ptr ex, T value) {                                           \
            result_.ex_ = &ex;                                                                      \
            result_.value_ = &value;                                                                \
            this->entry_point()->top_of_stack_->attach_thread(this);                                \
            this->entry_point()->top_of_stack_->clear_cancellation_slot();                          \
            this->pump();                                                                           \
        }                                                                                           \
        static T resume(result_type& result) {                                                      \
            if (*result.ex_) std::rethrow_exception(std::exchange(*result.ex_, nullptr));           \
            return std::move(*result.value_);                                                       \
        }                                                                                           \
                                                                                                    \
    private:                                                                                        \
        result_type& result_;                                                                       \
    };                                                                                              \
    }

DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(durable::instance_view)
DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(durable::instance_owner)
DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(std::vector<durable::persistence_event>)
#else
#define DURABLE_FIX_AWAITABLE_EXCEPTION_HANDLER(T)
#endif
