#pragma once
// Time arithmetic that clamps instead of overflowing. The API accepts the extremes on purpose (a
// pending_timer of duration::max() is the original's TimeSpan.MaxValue, "never"; a renewal period
// of seconds::max() is a lease that does not run out), and signed overflow in std::chrono
// arithmetic is undefined behaviour, not a large number.

#include <durable/value.hpp>

#include <chrono>
#include <limits>
#include <ratio>
#include <type_traits>

namespace durable::detail {

// 128 bits hold the product of any 64-bit count and any ratio between chrono's units.
__extension__ using wide_count = __int128;

template <class Rep>
constexpr Rep clamp_count(wide_count v) noexcept {
    static_assert(std::is_integral_v<Rep>);
    constexpr auto lo = static_cast<wide_count>(std::numeric_limits<Rep>::min());
    constexpr auto hi = static_cast<wide_count>(std::numeric_limits<Rep>::max());
    return static_cast<Rep>(v < lo ? lo : v > hi ? hi : v);
}

/// `d` in the units of `To`, clamped to what `To` can hold (truncated towards zero, like
/// duration_cast, when `To` is coarser).
template <class To, class Rep, class Period>
constexpr To saturating_cast(std::chrono::duration<Rep, Period> d) noexcept {
    using ratio = std::ratio_divide<Period, typename To::period>;
    return To{clamp_count<typename To::rep>(wide_count{d.count()} * ratio::num / ratio::den)};
}

template <class Rep, class Period>
constexpr std::chrono::duration<Rep, Period> saturating_add(std::chrono::duration<Rep, Period> a,
                                                            std::chrono::duration<Rep, Period> b) noexcept {
    return std::chrono::duration<Rep, Period>{clamp_count<Rep>(wide_count{a.count()} + wide_count{b.count()})};
}

/// t + d, clamped to the range of timestamp: timestamp::max() is a time that never comes.
constexpr timestamp saturating_add(timestamp t, duration d) noexcept {
    return timestamp{saturating_add(t.time_since_epoch(), d)};
}

/// a - b, clamped.
constexpr duration saturating_difference(timestamp a, timestamp b) noexcept {
    return duration{clamp_count<duration::rep>(wide_count{a.time_since_epoch().count()} -
                                               wide_count{b.time_since_epoch().count()})};
}

}  // namespace durable::detail
