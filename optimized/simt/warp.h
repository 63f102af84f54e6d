// Warp-level intrinsics: __shfl*_sync, votes, __syncwarp, __reduce_*_sync, __match_*_sync,
// __activemask. Shuffle source lanes follow the PTX shfl.sync pseudo-code (segment mask from width,
// clamp per mode), so widths < 32 behave as on hardware.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime.h"

namespace mm::simt::detail {

struct ShflIn {
  uint64_t value;
  int src;  // source lane after the PTX clamp rule
};

// Reading a lane that did not take part (exited or outside the mask) is undefined on hardware; the
// emulator returns all-ones bytes (NaN for floats) so that such a read is visible.
inline void shfl_op(CollectiveData& d) {
  for (unsigned l = 0; l < 32; ++l) {
    if (!(d.present >> l & 1)) continue;
    ShflIn in;
    std::memcpy(&in, d.in[l], sizeof in);
    uint64_t v = ~uint64_t{0};
    if (d.present >> in.src & 1) std::memcpy(&v, d.in[in.src], sizeof v);
    std::memcpy(d.out[l], &v, sizeof v);
  }
}

enum class ShflMode { idx, up, down, bfly };

// PTX ISA, shfl.sync: c packs the segment mask (from width) and the clamp value.
inline int shfl_source(ShflMode mode, int lane, int b, int width) {
  const int seg = (32 - width) & 31;  // c[12:8]
  const int clamp = mode == ShflMode::up ? 0 : 31;
  const int max_lane = (lane & seg) | (clamp & ~seg);
  const int min_lane = lane & seg;
  int j = lane;
  bool ok = false;
  switch (mode) {
    case ShflMode::up: j = lane - b; ok = j >= max_lane; break;
    case ShflMode::down: j = lane + b; ok = j <= max_lane; break;
    case ShflMode::bfly: j = lane ^ b; ok = j <= max_lane; break;
    case ShflMode::idx: j = min_lane | (b & ~seg & 31); ok = j <= max_lane; break;
  }
  return ok ? j : lane;
}

template <class T>
T shfl(unsigned mask, T var, ShflMode mode, int b, int width, const char* name) {
  static_assert(sizeof(T) <= 8, "shuffle of a type larger than 8 bytes");  // CUDA vector types are not
  // trivially copyable in C++ terms (user-defined assignment) but are plain bits, so memcpy them
  ShflIn in{0, shfl_source(mode, static_cast<int>(self(name).lane), b & 31, width)};
  std::memcpy(&in.value, static_cast<const void*>(&var), sizeof(T));
  uint64_t out;
  warp_collective(mask, name, &shfl_op, &in, sizeof in, &out, sizeof out);
  T r;
  std::memcpy(static_cast<void*>(&r), &out, sizeof(T));
  return r;
}

// Votes: out = {ballot bits over the lanes that took part, 1 if all of them voted true}.
inline void vote_op(CollectiveData& d) {
  unsigned v[2] = {0, 1};
  for (unsigned l = 0; l < 32; ++l) {
    if (!(d.present >> l & 1)) continue;
    if (d.in[l][0]) v[0] |= 1u << l;
    else v[1] = 0;
  }
  for (unsigned l = 0; l < 32; ++l)
    if (d.present >> l & 1) std::memcpy(d.out[l], v, sizeof v);
}

inline void vote(unsigned mask, int pred, const char* name, unsigned out[2]) {
  const unsigned char p = pred != 0;
  warp_collective(mask, name, &vote_op, &p, 1, out, 2 * sizeof(unsigned));
}

template <class T, class F>
void reduce_op_impl(CollectiveData& d, F f) {
  bool first = true;
  T acc{};
  for (unsigned l = 0; l < 32; ++l) {
    if (!(d.present >> l & 1)) continue;
    T v;
    std::memcpy(&v, d.in[l], sizeof v);
    acc = first ? v : f(acc, v);
    first = false;
  }
  for (unsigned l = 0; l < 32; ++l)
    if (d.present >> l & 1) std::memcpy(d.out[l], &acc, sizeof acc);
}

template <class T>
T reduce(unsigned mask, T v, CollectiveOp op, const char* name) {
  T out;
  warp_collective(mask, name, op, &v, sizeof v, &out, sizeof out);
  return out;
}

inline void match_any_op(CollectiveData& d) {
  for (unsigned l = 0; l < 32; ++l) {
    if (!(d.present >> l & 1)) continue;
    unsigned m = 0;
    for (unsigned k = 0; k < 32; ++k)
      if ((d.present >> k & 1) && std::memcmp(d.in[k], d.in[l], 8) == 0) m |= 1u << k;
    std::memcpy(d.out[l], &m, sizeof m);
  }
}

}  // namespace mm::simt::detail

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return ::mm::simt::detail::shfl(mask, var, ::mm::simt::detail::ShflMode::idx, src_lane, width, "__shfl_sync");
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::mm::simt::detail::shfl(mask, var, ::mm::simt::detail::ShflMode::up, static_cast<int>(delta), width,
                                  "__shfl_up_sync");
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::mm::simt::detail::shfl(mask, var, ::mm::simt::detail::ShflMode::down, static_cast<int>(delta), width,
                                  "__shfl_down_sync");
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  return ::mm::simt::detail::shfl(mask, var, ::mm::simt::detail::ShflMode::bfly, lane_mask, width,
                                  "__shfl_xor_sync");
}

inline unsigned __ballot_sync(unsigned mask, int pred) {
  unsigned v[2];
  ::mm::simt::detail::vote(mask, pred, "__ballot_sync", v);
  return v[0];
}
inline int __any_sync(unsigned mask, int pred) {
  unsigned v[2];
  ::mm::simt::detail::vote(mask, pred, "__any_sync", v);
  return v[0] != 0;
}
inline int __all_sync(unsigned mask, int pred) {
  unsigned v[2];
  ::mm::simt::detail::vote(mask, pred, "__all_sync", v);
  return static_cast<int>(v[1]);
}
inline unsigned __activemask() { return ::mm::simt::detail::live_lanes(); }
// Also orders memory among the participating lanes, as CUDA guarantees (visible to TSan).
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::mm::simt::detail::warp_sync(mask); }

inline unsigned __reduce_add_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a + b; }); }, "__reduce_add_sync");
}
inline int __reduce_add_sync(unsigned mask, int v) {
  namespace d = ::mm::simt::detail;
  return static_cast<int>(__reduce_add_sync(mask, static_cast<unsigned>(v)));
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a < b ? a : b; }); }, "__reduce_min_sync(u32)");
}
inline int __reduce_min_sync(unsigned mask, int v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<int>(c, [](int a, int b) { return a < b ? a : b; }); }, "__reduce_min_sync(s32)");
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a > b ? a : b; }); }, "__reduce_max_sync(u32)");
}
inline int __reduce_max_sync(unsigned mask, int v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<int>(c, [](int a, int b) { return a > b ? a : b; }); }, "__reduce_max_sync(s32)");
}
inline unsigned __reduce_and_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a & b; }); }, "__reduce_and_sync");
}
inline unsigned __reduce_or_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a | b; }); }, "__reduce_or_sync");
}
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v) {
  namespace d = ::mm::simt::detail;
  return d::reduce(mask, v, [](d::CollectiveData& c) { d::reduce_op_impl<unsigned>(c, [](unsigned a, unsigned b) { return a ^ b; }); }, "__reduce_xor_sync");
}

template <class T>
unsigned __match_any_sync(unsigned mask, T value) {
  static_assert(sizeof(T) <= 8);
  namespace d = ::mm::simt::detail;
  uint64_t v = 0;
  std::memcpy(&v, static_cast<const void*>(&value), sizeof(T));
  unsigned out;
  d::warp_collective(mask, "__match_any_sync", &d::match_any_op, &v, 8, &out, sizeof out);
  return out;
}
