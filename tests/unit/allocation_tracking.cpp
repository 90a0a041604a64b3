// Records the largest single heap allocation made while tracking is on, so that a test can
// prove a decoder allocates no more than its input can really hold. It must see the
// compression libraries' buffers too, which never pass through operator new, so it watches
// malloc itself: through glibc's documented malloc replacement in a plain build, and through
// the sanitizer runtime's allocation hooks where a sanitizer owns malloc (a replacement there
// would bypass, and break, the sanitizer's own).

#include <atomic>
#include <cstddef>
#include <cstdlib>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define DURABLE_SANITIZER_OWNS_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DURABLE_SANITIZER_OWNS_MALLOC 1
#endif

namespace durable::test {
namespace {

std::atomic<bool> tracking{false};
std::atomic<std::size_t> largest{0};

// Runs inside malloc: it must not allocate, lock or throw.
void note(std::size_t n) noexcept {
    if (!tracking.load(std::memory_order_relaxed)) return;
    std::size_t seen = largest.load(std::memory_order_relaxed);
    while (n > seen && !largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
}

}  // namespace
}  // namespace durable::test

#if defined(DURABLE_SANITIZER_OWNS_MALLOC)

// Declared here because g++ ships no <sanitizer/allocator_interface.h>; both runtimes define it.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                        void (*free_hook)(const volatile void*));

namespace durable::test {
namespace {
void on_malloc(const volatile void*, std::size_t n) { note(n); }
void on_free(const volatile void*) {}
// The hooks must be installed before any other thread starts, hence at static initialisation.
const bool hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
}  // namespace
bool allocation_tracking_available() noexcept { return hooks_installed; }
}  // namespace durable::test

#elif defined(__GLIBC__)

// glibc lets a program replace malloc, calloc, realloc and free together; these forward to
// glibc's own allocator, so memory from memalign and friends (not replaced) stays compatible.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
    durable::test::note(n);
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) noexcept {
    std::size_t total = 0;
    durable::test::note(__builtin_mul_overflow(count, n, &total) ? std::size_t(-1) : total);
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) noexcept {
    durable::test::note(n);
    return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
}

namespace durable::test {
bool allocation_tracking_available() noexcept { return true; }
}  // namespace durable::test

#else

namespace durable::test {
bool allocation_tracking_available() noexcept { return false; }
}  // namespace durable::test

#endif

namespace durable::test {

void start_allocation_tracking() noexcept {
    largest.store(0, std::memory_order_relaxed);
    tracking.store(true, std::memory_order_seq_cst);
}

std::size_t stop_allocation_tracking() noexcept {
    tracking.store(false, std::memory_order_seq_cst);
    return largest.load(std::memory_order_relaxed);
}

}  // namespace durable::test
