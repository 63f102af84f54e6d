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

namespace mm::norm_gate_gpu {
inline namespace MM_BACKEND_NS {

namespace detail {
inline const char* const kNames[] = {"v1_thread_per_row_or_element", "v2_block_per_row_vec16",
                                     "v3_warp_per_row_small_h"};
inline mm::gpu::DeviceBuffer<uint16_t> poisoned(size_t n) {
  mm::gpu::DeviceBuffer<uint16_t> b(n);
  mm::gpu::device_memset(b.data(), 0xFF, n * sizeof(uint16_t));
  return b;
}
inline void check_size(size_t got, size_t want, const char* what) {
  if (got != want) throw std::invalid_argument(std::string("norm_gate: ") + what + " has the wrong size");
}
}  // namespace detail

MM_NORM_GATE_RUNNER int num_versions() { return 3; }
MM_NORM_GATE_RUNNER const char* version_name(int version) {
  if (version < 0 || version >= num_versions()) throw std::invalid_argument("norm_gate: unknown version");
  return detail::kNames[version];
}
MM_NORM_GATE_RUNNER bool device_present() { return mm::gpu::device_available(); }

MM_NORM_GATE_RUNNER void launch_norm_gate(int version, const uint16_t* o, const uint16_t* g, const uint16_t* w,
                                          uint16_t* out, int rows, int D, float eps, cudaStream_t stream) {
  mm::gpu::rownorm::launch_rows<mm::gpu::rownorm::kGate>(version, o, g, w, nullptr, out, rows, D, 1.0f, 1.0f, eps,
                                                         stream);
}

MM_NORM_GATE_RUNNER void launch_silu(int version, const uint16_t* x, uint16_t* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  using mm::gpu::rownorm::as_bf;
  namespace k = mm::gpu::norm_gate;
  if (version == 0) {
    const size_t blocks = (n + 255) / 256;
    mm::gpu::launch(k::silu_v1_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0, stream, as_bf(x), as_bf(y),
                    n);
  } else if (version == 1 || version == 2) {  // v3 has no separate silu: the vectorized v2 kernel
    if (reinterpret_cast<uintptr_t>(x) % 16 || reinterpret_cast<uintptr_t>(y) % 16)
      throw std::invalid_argument("silu v2: buffers must be 16-byte aligned");
    const size_t vecs = (n + 7) / 8;
    const size_t blocks = std::min<size_t>((vecs + 255) / 256, 132 * 16);  // grid-stride beyond 16 blocks/SM
    mm::gpu::launch(k::silu_v2_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0, stream, as_bf(x), as_bf(y),
                    n);
  } else {
    throw std::invalid_argument("silu: unknown version " + std::to_string(version));
  }
}

MM_NORM_GATE_RUNNER std::vector<uint16_t> run_norm_gate(int version, const std::vector<uint16_t>& o,
                                                        const std::vector<uint16_t>& g, const std::vector<uint16_t>& w,
                                                        int rows, int D, float eps) {
  const size_t n = static_cast<size_t>(rows) * D;
  detail::check_size(o.size(), n, "o");
  detail::check_size(g.size(), n, "g");
  detail::check_size(w.size(), static_cast<size_t>(D), "w");
  mm::gpu::DeviceBuffer<uint16_t> d_o(o), d_g(g), d_w(w);
  auto d_out = detail::poisoned(n);
  launch_norm_gate(version, d_o.data(), d_g.data(), d_w.data(), d_out.data(), rows, D, eps, nullptr);
  mm::gpu::synchronize();
  return d_out.download();
}

MM_NORM_GATE_RUNNER std::vector<uint16_t> run_silu(int version, const std::vector<uint16_t>& x) {
  mm::gpu::DeviceBuffer<uint16_t> dx(x);
  auto dy = detail::poisoned(x.size());
  launch_silu(version, dx.data(), dy.data(), x.size(), nullptr);
  mm::gpu::synchronize();
  return dy.download();
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::norm_gate_gpu
