// CUDA atomics on global and shared memory via C++20 std::atomic_ref. CUDA atomics are relaxed;
// they must be real atomics because blocks may run on several OS threads.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace mm::simt::detail {
template <class T>
std::atomic_ref<T> aref(T* p) {
  return std::atomic_ref<T>(*p);
}
template <class T, class F>
T cas_loop(T* p, F f) {  // old value; f computes the new value from the old one
  auto a = aref(p);
  T old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, f(old), std::memory_order_relaxed)) {
  }
  return old;
}
}  // namespace mm::simt::detail

#define MM_SIMT_ATOMIC_RMW(name, T, expr)                                                     \
  inline T name(T* p, T v) { return ::mm::simt::detail::expr; }
MM_SIMT_ATOMIC_RMW(atomicAdd, int, aref(p).fetch_add(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAdd, unsigned, aref(p).fetch_add(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAdd, unsigned long long, aref(p).fetch_add(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAdd, float, aref(p).fetch_add(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAdd, double, aref(p).fetch_add(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicSub, int, aref(p).fetch_sub(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicSub, unsigned, aref(p).fetch_sub(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicExch, int, aref(p).exchange(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicExch, unsigned, aref(p).exchange(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicExch, unsigned long long, aref(p).exchange(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicExch, float, aref(p).exchange(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAnd, int, aref(p).fetch_and(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicAnd, unsigned, aref(p).fetch_and(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicOr, int, aref(p).fetch_or(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicOr, unsigned, aref(p).fetch_or(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicXor, int, aref(p).fetch_xor(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicXor, unsigned, aref(p).fetch_xor(v, std::memory_order_relaxed))
MM_SIMT_ATOMIC_RMW(atomicMax, int, cas_loop(p, [v](int o) { return o > v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMax, unsigned, cas_loop(p, [v](unsigned o) { return o > v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMax, long long, cas_loop(p, [v](long long o) { return o > v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMax, unsigned long long, cas_loop(p, [v](unsigned long long o) { return o > v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMin, int, cas_loop(p, [v](int o) { return o < v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMin, unsigned, cas_loop(p, [v](unsigned o) { return o < v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMin, long long, cas_loop(p, [v](long long o) { return o < v ? o : v; }))
MM_SIMT_ATOMIC_RMW(atomicMin, unsigned long long, cas_loop(p, [v](unsigned long long o) { return o < v ? o : v; }))
// atomicInc/Dec wrap at v exactly as the PTX atom.inc/dec definitions.
MM_SIMT_ATOMIC_RMW(atomicInc, unsigned, cas_loop(p, [v](unsigned o) { return o >= v ? 0u : o + 1; }))
MM_SIMT_ATOMIC_RMW(atomicDec, unsigned, cas_loop(p, [v](unsigned o) { return (o == 0 || o > v) ? v : o - 1; }))
#undef MM_SIMT_ATOMIC_RMW

inline int atomicCAS(int* p, int cmp, int v) {
  ::mm::simt::detail::aref(p).compare_exchange_strong(cmp, v, std::memory_order_relaxed);
  return cmp;
}
inline unsigned atomicCAS(unsigned* p, unsigned cmp, unsigned v) {
  ::mm::simt::detail::aref(p).compare_exchange_strong(cmp, v, std::memory_order_relaxed);
  return cmp;
}
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long cmp, unsigned long long v) {
  ::mm::simt::detail::aref(p).compare_exchange_strong(cmp, v, std::memory_order_relaxed);
  return cmp;
}

// Packed 16-bit float adds: a CAS loop on the 32-bit word, each half rounded as the hardware does
// (convert, add in fp32, round to nearest even).
inline __nv_bfloat162 atomicAdd(__nv_bfloat162* p, __nv_bfloat162 v) {
  static_assert(sizeof(__nv_bfloat162) == 4);
  uint32_t* w = reinterpret_cast<uint32_t*>(p);
  const uint32_t old = ::mm::simt::detail::cas_loop(w, [v](uint32_t o) {
    __nv_bfloat162 x;
    std::memcpy(static_cast<void*>(&x), &o, 4);
    const __nv_bfloat162 r = __floats2bfloat162_rn(__low2float(x) + __low2float(v), __high2float(x) + __high2float(v));
    uint32_t n;
    std::memcpy(&n, &r, 4);
    return n;
  });
  __nv_bfloat162 r;
  std::memcpy(static_cast<void*>(&r), &old, 4);
  return r;
}
inline __nv_bfloat16 atomicAdd(__nv_bfloat16* p, __nv_bfloat16 v) {
  static_assert(sizeof(__nv_bfloat16) == 2);
  auto a = std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(p));
  uint16_t o = a.load(std::memory_order_relaxed), n;
  do {
    n = __bfloat16_as_ushort(__float2bfloat16(__bfloat162float(__ushort_as_bfloat16(o)) + __bfloat162float(v)));
  } while (!a.compare_exchange_weak(o, n, std::memory_order_relaxed));
  return __ushort_as_bfloat16(o);
}
