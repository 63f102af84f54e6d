// Host entry points of the LayerNorm kernels with plain types (bf16 as raw uint16_t bits), declared for
// the emulator build (backend_simt, header-inline from layer_norm_runner.cuh) and, when a program links
// the nvcc build, for backend_cuda (layer_norm.cu). The stem convention (docs/architecture.md, "Kernel
// stems: one convention"): one Args struct per op, one table per op (optimized/common/version_table.h),
// the entry verb is a table entry's `launch(args, stream)`, and `run` is the host round trip (allocate,
// upload, poison outputs, launch, download) that the tests use.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::layer_norm {

// n = LayerNorm_{w,b}(x) over rows of width H (the vision tower's pre_layrnorm, and layer_norm1 of the
// first encoder layer; docs/semantics/vl-01-vision.md#layernorm). Device pointers.
struct Args {
  const uint16_t* x = nullptr;  // [rows, H] bf16
  const uint16_t* w = nullptr;  // [H] bf16 weight
  const uint16_t* b = nullptr;  // [H] bf16 bias
  uint16_t* n = nullptr;        // [rows, H] bf16
  int rows = 0, H = 0;
  float eps = 1e-5f;
};

// y = bf16(r + a) (the encoder layer's residual add: fp32 sum, one rounding), n = LayerNorm_{w,b}(y)
// (the next norm, fused: layer_norm2 after the attention residual, the next layer's layer_norm1 after
// the MLP residual). Device pointers.
struct ResidualArgs {
  const uint16_t* r = nullptr;  // [rows, H] bf16 residual stream h
  const uint16_t* a = nullptr;  // [rows, H] bf16 sub-layer output
  const uint16_t* w = nullptr;  // [H] bf16 weight
  const uint16_t* b = nullptr;  // [H] bf16 bias
  uint16_t* y = nullptr;        // [rows, H] bf16 residual sum
  uint16_t* n = nullptr;        // [rows, H] bf16 normed
  int rows = 0, H = 0;
  float eps = 1e-5f;
};

using Version = mm::gpu::KernelVersion<Args>;
using ResidualVersion = mm::gpu::KernelVersion<ResidualArgs>;

}  // namespace mm::layer_norm

#define MM_LAYER_NORM_DECLARE_RUNNERS(ns)                                                                     \
  MM_DECLARE_STEM_RUNNERS(layer_norm, ns,                                                                     \
  /* v1 thread per row; v2 warp per row for H % 8 == 0, H <= 1024, block per row otherwise (16-byte loads */ \
  /* for H % 8 == 0 up to 8192, scalar strided beyond); every version takes rows >= 0, H > 0 */             \
  const std::vector<Version>& versions();                                                                   \
  const std::vector<ResidualVersion>& residual_versions(); /* same names, same order */                    \
  std::vector<uint16_t> run(const Version& v, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w, \
                            const std::vector<uint16_t>& b, int rows, int H, float eps);                    \
  /* returns {y, n} */                                                                                      \
  std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run(                                              \
      const ResidualVersion& v, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a,             \
      const std::vector<uint16_t>& w, const std::vector<uint16_t>& b, int rows, int H, float eps);          \
  )

#if defined(__CUDACC__) || defined(MM_LAYER_NORM_DECLARE_CUDA)
MM_LAYER_NORM_DECLARE_RUNNERS(backend_cuda)
#endif
