#pragma once
// Options every store understands (the original's SqlWorkflowInstanceStore properties).

#include <durable/codec.hpp>
#include <durable/error.hpp>
#include <durable/promotion.hpp>
#include <durable/store_clock.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace durable {

/// What happens to an instance's row and keys when it completes.
enum class instance_completion_action : std::uint8_t {
    delete_all = 0,      ///< the default: the instance and its keys are deleted
    delete_nothing = 1,  ///< kept; loading it says instance_completed
};

/// What a load does when another live owner holds the lock.
enum class locked_instance_retry : std::uint8_t {
    none = 0,        ///< fail at once with instance_locked (the default)
    basic = 1,       ///< retry every 5 s
    aggressive = 2,  ///< retry after 100 ms x random[1, 2^(n+1)-1), capped at 10 s
};

/// A record a store passed over because it cannot be read: a damaged, foreign or hand-edited
/// file, a corrupt row. Lock recovery, runnable detection, try-load and activation queries go on
/// without it; a command that needs the record itself fails with its error instead.
struct damaged_record {
    /// corrupt_data or unsupported_format; store_unavailable for a file the XML store could
    /// not read at all while it rebuilt its index
    error_code error;
    std::string message;  ///< names the record (and its file) and what is wrong with it
};

struct store_options {
    /// How often the owner's lease is renewed; the lease lasts this + 30 s. At least 1 s. Large
    /// values are fine: the lease saturates at the latest time the store can represent.
    std::chrono::seconds host_lock_renewal_period{30};
    /// How often an owner with a host type polls for runnable instances. At least 1 s.
    std::chrono::seconds runnable_instances_detection_period{5};
    instance_completion_action completion_action = instance_completion_action::delete_all;
    /// The default is zstd: fast enough to be free next to an fsync or a round trip, and
    /// instance state compresses well. Every blob records its own encoding.
    encoding instance_encoding = encoding::zstd;
    locked_instance_retry locked_retry = locked_instance_retry::none;
    /// Retries of a locked load stop once this much time has passed since the command began.
    std::chrono::milliseconds locked_retry_timeout{30'000};
    /// Retries of transient connection errors per command (PostgreSQL).
    int max_connection_retries = 4;
    /// Largest bag, measured before compression, that a save or owner creation may write and
    /// that a load will decode (value_too_large beyond, naming this option). Bounds the memory a
    /// damaged or hostile stored blob can make a load allocate.
    std::size_t max_bag_bytes = std::size_t{64} << 20;
    /// Lease renewal, lock recovery and runnable detection run in the background while an
    /// owner is live. Tests that drive those commands by hand turn this off.
    bool run_background_tasks = true;
    /// Recorded on owners and saves; defaults to the host name.
    std::string machine_name;
    /// Clock for the embedded stores; null means the system clock.
    std::shared_ptr<const store_clock> clock;
    /// Told of each damaged record a store passes over, from the thread that runs the command:
    /// must be thread-safe and quick. Empty: the store writes one line to stderr.
    std::function<void(const damaged_record&)> on_damaged_record;
    /// Promoted properties (promotion.hpp), in the order promote() added them. A store copies
    /// its options when it is made, so they are fixed from then on: the original's "frozen
    /// after the first handle", made structural. Every save with data replaces the instance's
    /// promoted values with what these promotions take from its data (none: it has none).
    std::vector<promotion> promotions;

    /// The original's Promote(name, variant names, binary names): adds a promotion. Throws
    /// std::invalid_argument, changing nothing, when the name is taken by another promotion or
    /// the promotion breaks a rule of validate_promotion (at most 32 values per group, each
    /// property at most once, names PostgreSQL text can hold).
    store_options& promote(std::string promotion_name, std::vector<name> primitive_values,
                           std::vector<name> binary_values = {});

    /// The lease an owner gets: renewal period + 30 s, saturated.
    duration lease_duration() const;
    /// Throws std::invalid_argument naming the option that is out of range.
    void validate() const;
};

/// Hands `damage` to options.on_damaged_record, or writes it to stderr when that is empty. For
/// stores: every damaged record a store passes over goes through here.
void report_damaged_record(const store_options& options, const damaged_record& damage);

}  // namespace durable
