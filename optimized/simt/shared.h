// Shared memory declarations for the CPU build (the nvcc spellings are in common/device.cuh).
//   MM_SHARED(float, partial, [32]);       block-shared array, poisoned at each block start
//   MM_SHARED_DYN(float, buf);             the launch's dynamic shared memory (extern __shared__)
#pragma once
#include "runtime.h"

namespace mm::simt::detail {
// One arena slot per (declaration, instantiation): the lambda passed at the call site has a unique
// type, so `key` is unique per call site and per template instantiation of the kernel.
template <class A, size_t Align, class Tag>
A& shared_var(Tag) {
  static const char key = 0;
  return *static_cast<A*>(shared_static(&key, sizeof(A), Align > alignof(A) ? Align : alignof(A)));
}
}  // namespace mm::simt::detail

#define MM_SHARED_ALIGNED(align, T, name, ...) \
  auto& name = ::mm::simt::detail::shared_var<T __VA_ARGS__, (align)>([] {})
#define MM_SHARED(T, name, ...) MM_SHARED_ALIGNED(16, T, name, __VA_ARGS__)
#define MM_SHARED_DYN(T, name) T* name = static_cast<T*>(::mm::simt::detail::shared_dynamic())
