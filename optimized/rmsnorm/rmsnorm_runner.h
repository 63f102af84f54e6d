// Host entry points of the RMSNorm kernels with plain types (bf16 as raw uint16_t bits), declared for
// the emulator build (backend_simt, header-inline from rmsnorm_runner.cuh) and, when a program links the
// nvcc build, for backend_cuda (rmsnorm.cu). The stem convention (docs/architecture.md, "Kernel stems:
// one convention"): one Args struct per op, one table per op (optimized/common/version_table.h), the entry
// verb is a table entry's `launch(args, stream)`, and `run` is the host round trip (allocate, upload,
// poison outputs, launch, download) that the tests use.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::rmsnorm {

// n = RMSNorm_w(x) over rows of width H (first layer input norm, final model.norm). Device pointers.
struct Args {
  const uint16_t* x = nullptr;  // [rows, H] bf16
  const uint16_t* w = nullptr;  // [H] bf16
  uint16_t* n = nullptr;        // [rows, H] bf16
  int rows = 0, H = 0;
  float eps = 1e-5f;
};

// y = bf16(bf16(r*alpha) + bf16(a*beta)), n = RMSNorm_w(y) (the DeepNorm residual fused with the next
// norm). Device pointers.
struct ResidualArgs {
  const uint16_t* r = nullptr;  // [rows, H] bf16 residual
  const uint16_t* a = nullptr;  // [rows, H] bf16 sub-layer output
  const uint16_t* w = nullptr;  // [H] bf16
  uint16_t* y = nullptr;        // [rows, H] bf16
  uint16_t* n = nullptr;        // [rows, H] bf16
  int rows = 0, H = 0;
  float alpha = 1.0f, beta = 1.0f, eps = 1e-5f;
};

using Version = mm::gpu::KernelVersion<Args>;
using ResidualVersion = mm::gpu::KernelVersion<ResidualArgs>;

}  // namespace mm::rmsnorm

#define MM_RMSNORM_DECLARE_RUNNERS(ns)                                                                       \
  MM_DECLARE_STEM_RUNNERS(rmsnorm, ns,                                                                       \
  /* v1 thread per row, v2 block per row (16-byte loads), v3 warp per row for H % 8 == 0, H <= 2048 (v2's */ \
  /* kernels otherwise); every version takes every shape */                                                 \
  const std::vector<Version>& versions();                                                                   \
  const std::vector<ResidualVersion>& residual_versions(); /* same names, same order */                    \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w, \
                            int rows, int H, float eps);                                                    \
  /* returns {y, n} */                                                                                      \
  std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run(                                              \
      const ResidualVersion& v, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a,             \
      const std::vector<uint16_t>& w, int rows, int H, float alpha, float beta, float eps);                 \
  )

#if defined(__CUDACC__) || defined(MM_RMSNORM_DECLARE_CUDA)
MM_RMSNORM_DECLARE_RUNNERS(backend_cuda)
#endif
