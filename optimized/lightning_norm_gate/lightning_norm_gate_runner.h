// Host entry points of the lightning norm-gate and silu kernels (plain types, bf16 as uint16_t bits),
// declared for backend_simt (header-inline, lightning_norm_gate_runner.cuh) and, when linked, backend_cuda
// (lightning_norm_gate.cu). The stem convention (docs/architecture.md, "Kernel stems: one convention"):
// one Args struct and one version table per op (optimized/common/version_table.h), the entry verb is a
// table entry's `launch(args, stream)`, and `run` is the host round trip the tests use.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::norm_gate {

// out[rows, D] = bf16(bf16(sigmoid(g)) * RMSNorm_w(o)), D = n_h * d. Device pointers.
struct Args {
  const uint16_t* o = nullptr;  // [rows, D] bf16 attention output
  const uint16_t* g = nullptr;  // [rows, D] bf16 gate projection (pre-sigmoid)
  const uint16_t* w = nullptr;  // [D] bf16 norm weight
  uint16_t* out = nullptr;      // [rows, D] bf16
  int rows = 0, D = 0;
  float eps = 1e-6f;
};

// y = bf16(silu(x)), n elements. Device pointers.
struct SiluArgs {
  const uint16_t* x = nullptr;  // [n] bf16
  uint16_t* y = nullptr;        // [n] bf16
  size_t n = 0;
};

using Version = mm::gpu::KernelVersion<Args>;
using SiluVersion = mm::gpu::KernelVersion<SiluArgs>;

}  // namespace mm::norm_gate

#define MM_NORM_GATE_DECLARE_RUNNERS(ns)                                                                     \
  MM_DECLARE_STEM_RUNNERS(norm_gate, ns,                                                                     \
  /* v1 thread per row, v2 block per row (16-byte loads), v3 warp per row for D % 8 == 0, D <= 2048 (v2's */ \
  /* kernels otherwise); every version takes every shape */                                                 \
  const std::vector<Version>& versions();                                                                   \
  /* silu: v1 thread per element (any buffers), v2 16-byte vectors, grid-stride (16-byte aligned buffers) */ \
  const std::vector<SiluVersion>& silu_versions();                                                          \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& o, const std::vector<uint16_t>& g, \
                            const std::vector<uint16_t>& w, int rows, int D, float eps);                    \
  std::vector<uint16_t> run(const SiluVersion& v, const std::vector<uint16_t>& x);                          \
  )

#if defined(__CUDACC__) || defined(MM_NORM_GATE_DECLARE_CUDA)
MM_NORM_GATE_DECLARE_RUNNERS(backend_cuda)
#endif
