// Definitions of the lightning norm-gate / silu runners (lightning_norm_gate_runner.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "optimized/common/device_memory.h"
#include "optimized/common/launch.h"
#include "optimized/lightning_norm_gate/lightning_norm_gate.cuh"
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.h"
#include "optimized/rmsnorm/rownorm_launch.cuh"

MM_NORM_GATE_DECLARE_RUNNERS(MM_BACKEND_NS)

#if MM_SIMT
#define MM_NORM_GATE_RUNNER inline
#else
#define MM_NORM_GATE_RUNNER
#endif

namespace mm::norm_gate {
inline namespace MM_BACKEND_NS {

namespace detail {
inline bool supports(const Args& a) { return a.rows >= 0 && a.D > 0; }
// K: 0 v1, 1 v2, 2 v3 (rownorm_launch.cuh)
template <int K>
void launch_norm_gate(const Args& a, mm::gpu::Stream stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kGate>(K, a.o, a.g, a.w, nullptr, a.out, a.rows, a.D, 1.0f, 1.0f,
                                                         a.eps, stream);
}
inline bool silu_supports_v1(const SiluArgs&) { return true; }
inline bool silu_supports_v2(const SiluArgs& a) {
  return reinterpret_cast<uintptr_t>(a.x) % 16 == 0 && reinterpret_cast<uintptr_t>(a.y) % 16 == 0;
}
inline void silu_v1(const SiluArgs& a, mm::gpu::Stream stream) {
  if (a.n == 0) return;
  using mm::gpu::rownorm::as_bf;
  const size_t blocks = (a.n + 255) / 256;
  mm::gpu::launch(mm::gpu::norm_gate::silu_v1_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0, stream,
                  as_bf(a.x), as_bf(a.y), a.n);
}
inline void silu_v2(const SiluArgs& a, mm::gpu::Stream stream) {
  if (a.n == 0) return;
  using mm::gpu::rownorm::as_bf;
  const size_t vecs = (a.n + 7) / 8;
  const size_t blocks = std::min<size_t>((vecs + 255) / 256, 132 * 16);  // grid-stride beyond 16 blocks/SM
  mm::gpu::launch(mm::gpu::norm_gate::silu_v2_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0, stream,
                  as_bf(a.x), as_bf(a.y), a.n);
}
}  // namespace detail

MM_NORM_GATE_RUNNER const std::vector<Version>& versions() {
  static const std::vector<Version> v = {
      {"v1_thread_per_row", &detail::launch_norm_gate<0>, &detail::supports},
      {"v2_block_per_row_vec16", &detail::launch_norm_gate<1>, &detail::supports},
      {"v3_warp_per_row_small_h", &detail::launch_norm_gate<2>, &detail::supports},
  };
  return v;
}

MM_NORM_GATE_RUNNER const std::vector<SiluVersion>& silu_versions() {
  static const std::vector<SiluVersion> v = {
      {"v1_thread_per_element", &detail::silu_v1, &detail::silu_supports_v1},
      {"v2_vec16_grid_stride", &detail::silu_v2, &detail::silu_supports_v2},
  };
  return v;
}

MM_NORM_GATE_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_NORM_GATE_RUNNER std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& o,
                                              const std::vector<uint16_t>& g, const std::vector<uint16_t>& w, int rows,
                                              int D, float eps) {
  const size_t n = static_cast<size_t>(rows) * D;
  mm::gpu::require_size(o.size(), n, "norm_gate", "o");
  mm::gpu::require_size(g.size(), n, "norm_gate", "g");
  mm::gpu::require_size(w.size(), static_cast<size_t>(D), "norm_gate", "w");
  mm::gpu::DeviceBuffer<uint16_t> d_o(o), d_g(g), d_w(w);
  auto d_out = mm::gpu::poisoned<uint16_t>(n);
  Args a;
  a.o = d_o.data(); a.g = d_g.data(); a.w = d_w.data(); a.out = d_out.data(); a.rows = rows; a.D = D; a.eps = eps;
  mm::gpu::launch_checked(v, a, nullptr, "norm_gate");
  mm::gpu::synchronize();
  return d_out.download();
}

MM_NORM_GATE_RUNNER std::vector<uint16_t> run(const SiluVersion& v, const std::vector<uint16_t>& x) {
  mm::gpu::DeviceBuffer<uint16_t> dx(x);
  auto dy = mm::gpu::poisoned<uint16_t>(x.size());
  SiluArgs a;
  a.x = dx.data(); a.y = dy.data(); a.n = x.size();
  mm::gpu::launch_checked(v, a, nullptr, "silu");
  mm::gpu::synchronize();
  return dy.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::norm_gate
