// Host runners of the vision attention core kernels (vision_attention_runner.h) for whichever build
// includes this file: header-inline for the emulator (backend_simt), compiled once by vision_attention.cu
// for the GPU (backend_cuda).
#pragma once
#include <algorithm>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/vision_attention/vision_attention.cuh"
#include "optimized/vision_attention/vision_attention_runner.h"

MM_VISION_ATTENTION_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_VA_RUNNER inline
#else
#define MM_VA_RUNNER
#endif

namespace mm::vision_attention {
inline namespace MM_BACKEND_NS {

namespace detail {

inline const bf16* cb(const uint16_t* p) { return reinterpret_cast<const bf16*>(p); }
inline bf16* mb(uint16_t* p) { return reinterpret_cast<bf16*>(p); }

inline bool shape_ok(const Args& a) {
  return a.n_heads > 0 && a.n_crops >= 0 && a.total_rows >= 0 && a.max_len >= 0;
}

inline bool supports_v1(const Args& a) { return shape_ok(a) && head_dim_v1(a.d); }
inline bool supports_v2(const Args& a) { return shape_ok(a) && head_dim_tensor_core(a.d); }

inline void launch_v1(const Args& a, mm::gpu::Stream st) {
  const long n = static_cast<long>(a.total_rows) * a.n_heads;
  if (n <= 0 || a.n_crops <= 0) return;
  mm::gpu::launch(vision_attention_v1_kernel<kMaxHeadDimV1>, dim3(static_cast<unsigned>((n + 127) / 128)), dim3(128),
                  0, st, cb(a.q), cb(a.k), cb(a.v), mb(a.o), a.offsets, a.n_crops, a.total_rows, a.n_heads, a.d,
                  a.scale);
}

template <int D, int kWarps>
void fa2(const Args& a, mm::gpu::Stream st) {
  using C = Fa2<D, kWarps>;
  static const bool smem_ok =
      (mm::gpu::allow_dynamic_smem(vision_attention_fa2_kernel<D, kWarps>, C::kSmemBytes), true);
  (void)smem_ok;
  const dim3 grid(static_cast<unsigned>((a.max_len + C::kBM - 1) / C::kBM), static_cast<unsigned>(a.n_heads),
                  static_cast<unsigned>(a.n_crops));
  mm::gpu::launch(vision_attention_fa2_kernel<D, kWarps>, grid, dim3(C::kThreads), C::kSmemBytes, st, cb(a.q),
                  cb(a.k), cb(a.v), mb(a.o), a.offsets, a.n_heads, a.scale * 1.4426950408889634f);
}

inline void launch_v2(const Args& a, mm::gpu::Stream st) {
  if (a.max_len <= 0 || a.n_crops <= 0) return;
  switch (a.d) {
    case 32: fa2<32, 4>(a, st); break;
    case 64: fa2<64, 4>(a, st); break;
    case 128: fa2<128, 4>(a, st); break;
    default: throw std::invalid_argument("vision_attention: v2 does not take head_dim " + std::to_string(a.d));
  }
}

}  // namespace detail

MM_VA_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_VA_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_query", &detail::launch_v1, &detail::supports_v1},
      {"v2_fa2_mma", &detail::launch_v2, &detail::supports_v2},
  };
  return v;
}

MM_VA_RUNNER std::vector<uint16_t> run(const Version& ver, const std::vector<uint16_t>& q,
                                       const std::vector<uint16_t>& k, const std::vector<uint16_t>& v_in,
                                       const std::vector<int>& offsets, int n_heads, int d, float scale) {
  if (offsets.empty() || offsets.front() != 0)
    throw std::invalid_argument("vision_attention: offsets must start at 0 (n_crops + 1 entries)");
  int max_len = 0;
  for (size_t c = 1; c < offsets.size(); ++c) {
    if (offsets[c] < offsets[c - 1]) throw std::invalid_argument("vision_attention: offsets must not decrease");
    max_len = std::max(max_len, offsets[c] - offsets[c - 1]);
  }
  const int total = offsets.back();
  const size_t n = static_cast<size_t>(total) * n_heads * d;
  mm::gpu::require_size(q.size(), n, "vision_attention", "q");
  mm::gpu::require_size(k.size(), n, "vision_attention", "k");
  mm::gpu::require_size(v_in.size(), n, "vision_attention", "v");
  mm::gpu::DeviceBuffer<uint16_t> dq(q), dk(k), dv(v_in);
  mm::gpu::DeviceBuffer<int> doff(offsets);
  auto dout = mm::gpu::poisoned<uint16_t>(n);
  Args a;
  a.q = dq.data(); a.k = dk.data(); a.v = dv.data(); a.o = dout.data(); a.offsets = doff.data();
  a.n_crops = static_cast<int>(offsets.size()) - 1; a.n_heads = n_heads; a.d = d;
  a.total_rows = total; a.max_len = max_len; a.scale = scale;
  mm::gpu::launch_checked(ver, a, nullptr, "vision_attention");
  mm::gpu::synchronize();
  return dout.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::vision_attention
