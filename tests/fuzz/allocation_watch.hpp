#pragma once
// The largest single allocation made while a watch is open, seen through the sanitizer
// runtime's malloc hooks (the fuzz targets always run under ASan). libFuzzer's
// -malloc_limit_mb only catches allocations over a fixed size; a target compares this with
// what its input can justify, so that a small input claiming a large size is caught too.

#include <atomic>
#include <cstddef>

extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                        void (*free_hook)(const volatile void*));

namespace durable::fuzz {

class allocation_watch {
public:
    allocation_watch() noexcept {
        largest_.store(0, std::memory_order_relaxed);
        open_.store(true, std::memory_order_seq_cst);
    }
    ~allocation_watch() { open_.store(false, std::memory_order_seq_cst); }
    allocation_watch(const allocation_watch&) = delete;
    allocation_watch& operator=(const allocation_watch&) = delete;

    std::size_t largest() const noexcept { return largest_.load(std::memory_order_relaxed); }

    /// Call once, from LLVMFuzzerInitialize: the runtime wants hooks installed before threads start.
    static bool install() noexcept { return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0; }

private:
    // Runs inside malloc: it must not allocate, lock or throw.
    static void on_malloc(const volatile void*, std::size_t n) noexcept {
        if (!open_.load(std::memory_order_relaxed)) return;
        std::size_t seen = largest_.load(std::memory_order_relaxed);
        while (n > seen && !largest_.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    static void on_free(const volatile void*) noexcept {}

    static inline std::atomic<bool> open_{false};
    static inline std::atomic<std::size_t> largest_{0};
};

}  // namespace durable::fuzz
