// One emulated CUDA thread = one fiber: a Boost.Context fcontext (about 5 ns per switch, against about
// 230 ns for glibc swapcontext, which makes a sigprocmask syscall) on a pooled guarded stack.
// The scheduler calls resume(); the fiber calls suspend() or finish(). Both directions carry the
// ASan stack-switch and TSan fiber annotations.
#pragma once
#include <boost/context/detail/fcontext.hpp>

#include "stack_pool.h"

namespace mm::simt {

class Fiber {
 public:
  using Entry = void (*)(void* arg);

  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Prepares the fiber to run entry(arg) on `stack`; nothing runs until resume().
  void start(Stack stack, Entry entry, void* arg);
  // Scheduler side: runs the fiber until it suspends (returns true) or finishes (returns false).
  bool resume();
  // Fiber side: back to the scheduler; returns when the scheduler resumes this fiber.
  void suspend();
  // Fiber side: back to the scheduler for good. The stack may be reused afterwards.
  [[noreturn]] void finish();

  const Stack& stack() const { return stack_; }
  void* tsan_fiber() const { return tsan_fiber_; }
  // Frees the TSan fiber of a finished fiber (its stack goes back to the pool separately).
  void retire();

 private:
  static void trampoline(boost::context::detail::transfer_t t);

  boost::context::detail::fcontext_t ctx_ = nullptr;     // where the fiber resumes
  boost::context::detail::fcontext_t caller_ = nullptr;  // where the scheduler resumes
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  Stack stack_{};
  void* tsan_fiber_ = nullptr;
  void* tsan_caller_ = nullptr;
  void* asan_fake_stack_ = nullptr;         // fiber's fake stack while it is switched out
  void* asan_caller_fake_stack_ = nullptr;  // scheduler's fake stack while the fiber runs
  const void* caller_stack_bottom_ = nullptr;
  size_t caller_stack_size_ = 0;
};

}  // namespace mm::simt
