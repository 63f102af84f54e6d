// Block-wide synchronisation, fences and the clock built-ins.
#pragma once
#include <atomic>
#include <chrono>

#include "runtime.h"

inline void __syncthreads() { ::mm::simt::detail::block_barrier(::mm::simt::detail::BarrierOp::sync, 1); }
inline int __syncthreads_count(int p) { return ::mm::simt::detail::block_barrier(::mm::simt::detail::BarrierOp::count, p); }
inline int __syncthreads_and(int p) { return ::mm::simt::detail::block_barrier(::mm::simt::detail::BarrierOp::all, p); }
inline int __syncthreads_or(int p) { return ::mm::simt::detail::block_barrier(::mm::simt::detail::BarrierOp::any, p); }

// Fibers of one block never run at the same time, and blocks on different OS threads only meet
// through atomics, so fences need only stop compiler reordering (and order across OS threads).
inline void __threadfence_block() { std::atomic_signal_fence(std::memory_order_seq_cst); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }

inline long long clock64() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
inline void __nanosleep(unsigned) {}
