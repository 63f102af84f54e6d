// Thin wrappers over the ThreadSanitizer fiber API and AddressSanitizer stack-switch annotations.
// Every call compiles to nothing in a build without that sanitizer, so the runtime can annotate
// unconditionally. Why these are needed: see docs/simt.md "Sanitizers".
#pragma once
#include <cstddef>

#if defined(__SANITIZE_THREAD__)
#define MM_SIMT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MM_SIMT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MM_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MM_SIMT_ASAN 1
#endif
#endif

#if MM_SIMT_TSAN
#include <sanitizer/tsan_interface.h>
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif
#if MM_SIMT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace mm::simt::san {

#if MM_SIMT_TSAN
inline constexpr bool tsan = true;
inline void* tsan_current_fiber() { return __tsan_get_current_fiber(); }
inline void* tsan_create_fiber() { return __tsan_create_fiber(0); }
inline void tsan_destroy_fiber(void* f) { __tsan_destroy_fiber(f); }
// Switches never carry happens-before: the scheduler is not a CUDA thread, and syncing through it
// would order every emulated thread after every other one and hide all races.
inline void tsan_switch_to(void* f) { __tsan_switch_to_fiber(f, __tsan_switch_to_fiber_no_sync); }
inline void tsan_release(void* addr) { __tsan_release(addr); }
inline void tsan_acquire(void* addr) { __tsan_acquire(addr); }
// The emulator's own bookkeeping (barrier counters, collective slots) is shared by fibers that are,
// by design, not ordered with each other; it is hidden from TSan so only kernel accesses are checked.
struct IgnoreScope {
  IgnoreScope() { AnnotateIgnoreReadsBegin(__FILE__, __LINE__); AnnotateIgnoreWritesBegin(__FILE__, __LINE__); }
  ~IgnoreScope() { AnnotateIgnoreWritesEnd(__FILE__, __LINE__); AnnotateIgnoreReadsEnd(__FILE__, __LINE__); }
  IgnoreScope(const IgnoreScope&) = delete;
  IgnoreScope& operator=(const IgnoreScope&) = delete;
};
#else
inline constexpr bool tsan = false;
inline void* tsan_current_fiber() { return nullptr; }
inline void* tsan_create_fiber() { return nullptr; }
inline void tsan_destroy_fiber(void*) {}
inline void tsan_switch_to(void*) {}
inline void tsan_release(void*) {}
inline void tsan_acquire(void*) {}
struct IgnoreScope {
  IgnoreScope() {}  // user-provided so that `IgnoreScope ig;` is not an unused-variable warning
};
#endif

#if MM_SIMT_ASAN
inline constexpr bool asan = true;
inline void asan_start_switch(void** fake_stack_save, const void* bottom, size_t size) {
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
}
inline void asan_finish_switch(void* fake_stack_save, const void** bottom_old, size_t* size_old) {
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
}
inline void asan_poison(const void* p, size_t n) { __asan_poison_memory_region(p, n); }
inline void asan_unpoison(const void* p, size_t n) { __asan_unpoison_memory_region(p, n); }
#else
inline constexpr bool asan = false;
inline void asan_start_switch(void**, const void*, size_t) {}
inline void asan_finish_switch(void*, const void**, size_t*) {}
inline void asan_poison(const void*, size_t) {}
inline void asan_unpoison(const void*, size_t) {}
#endif

}  // namespace mm::simt::san
