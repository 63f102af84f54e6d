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
  return a.n_heads > 0 && a.n_crops >= 0 && a.total_rows >= 0 && a.max_len >= 0 &&
         (a.ld_qkv == 0 || a.ld_qkv >= a.n_heads * a.d);
}

inline bool supports_v1(const Args& a) { return shape_ok(a) && head_dim_v1(a.d); }
// v2's cp.async rows: a q/k/v row stride of whole 16-byte chunks (d is a multiple of 8 already)
inline bool supports_v2(const Args& a) { return shape_ok(a) && head_dim_tensor_core(a.d) && a.ld_qkv % 8 == 0; }

inline void launch_v1(const Args& a, mm::gpu::Stream st) {
  const long n = static_cast<long>(a.total_rows) * a.n_heads;
  if (n <= 0 || a.n_crops <= 0) return;
  mm::gpu::launch(vision_attention_v1_kernel<kMaxHeadDimV1>, dim3(static_cast<unsigned>((n + 127) / 128)), dim3(128),
                  0, st, cb(a.q), cb(a.k), cb(a.v), mb(a.o), a.offsets, a.n_crops, a.total_rows, a.n_heads, a.d,
                  qkv_stride(a), a.scale);
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
                  cb(a.k), cb(a.v), mb(a.o), a.offsets, a.n_heads, qkv_stride(a), a.scale * 1.4426950408889634f);
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

namespace detail {
// The host round trip on device copies of q, k, v (pointers into the uploaded buffers) with row stride
// ld_qkv (0: packed); offsets on the host.
inline std::vector<uint16_t> run_on(const Version& ver, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                                    int ld_qkv, const mm::gpu::DeviceBuffer<int>& doff, int n_crops, int total,
                                    int max_len, int n_heads, int d, float scale) {
  auto dout = mm::gpu::poisoned<uint16_t>(static_cast<size_t>(total) * n_heads * d);
  Args a;
  a.q = q; a.k = k; a.v = v; a.o = dout.data(); a.offsets = doff.data(); a.ld_qkv = ld_qkv;
  a.n_crops = n_crops; a.n_heads = n_heads; a.d = d; a.total_rows = total; a.max_len = max_len; a.scale = scale;
  mm::gpu::launch_checked(ver, a, nullptr, "vision_attention");
  mm::gpu::synchronize();
  return dout.download();
}
// Checks the host offsets; returns the longest crop.
inline int checked_max_len(const std::vector<int>& offsets) {
  if (offsets.empty() || offsets.front() != 0)
    throw std::invalid_argument("vision_attention: offsets must start at 0 (n_crops + 1 entries)");
  int max_len = 0;
  for (size_t c = 1; c < offsets.size(); ++c) {
    if (offsets[c] < offsets[c - 1]) throw std::invalid_argument("vision_attention: offsets must not decrease");
    max_len = std::max(max_len, offsets[c] - offsets[c - 1]);
  }
  return max_len;
}
}  // namespace detail

MM_VA_RUNNER std::vector<uint16_t> run(const Version& ver, const std::vector<uint16_t>& q,
                                       const std::vector<uint16_t>& k, const std::vector<uint16_t>& v_in,
                                       const std::vector<int>& offsets, int n_heads, int d, float scale) {
  const int max_len = detail::checked_max_len(offsets), total = offsets.back();
  const size_t n = static_cast<size_t>(total) * n_heads * d;
  mm::gpu::require_size(q.size(), n, "vision_attention", "q");
  mm::gpu::require_size(k.size(), n, "vision_attention", "k");
  mm::gpu::require_size(v_in.size(), n, "vision_attention", "v");
  mm::gpu::DeviceBuffer<uint16_t> dq(q), dk(k), dv(v_in);
  mm::gpu::DeviceBuffer<int> doff(offsets);
  return detail::run_on(ver, dq.data(), dk.data(), dv.data(), 0, doff, static_cast<int>(offsets.size()) - 1, total,
                        max_len, n_heads, d, scale);
}

MM_VA_RUNNER std::vector<uint16_t> run_fused_qkv(const Version& ver, const std::vector<uint16_t>& qkv,
                                                 const std::vector<int>& offsets, int n_heads, int d, float scale) {
  const int max_len = detail::checked_max_len(offsets), total = offsets.back();
  const size_t hd = static_cast<size_t>(n_heads) * d;
  mm::gpu::require_size(qkv.size(), static_cast<size_t>(total) * 3 * hd, "vision_attention", "qkv");
  mm::gpu::DeviceBuffer<uint16_t> dqkv(qkv);
  mm::gpu::DeviceBuffer<int> doff(offsets);
  const uint16_t* base = dqkv.data();
  const size_t step = total > 0 ? hd : 0;  // no rows: no buffer to offset into
  return detail::run_on(ver, base, base + step, base + 2 * step, static_cast<int>(3 * hd), doff,
                        static_cast<int>(offsets.size()) - 1, total, max_len, n_heads, d, scale);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::vision_attention
