// Host entry points of the vision linear-layer epilogues (vision_mlp.cuh) with plain types (bf16 as raw
// uint16_t bits), declared for the emulator build (backend_simt, header-inline from vision_mlp_runner.cuh)
// and, when a program links the nvcc build, for backend_cuda (vision_mlp.cu). The stem convention
// (docs/architecture.md, "Kernel stems: one convention"): one Args struct, one table per op (here per
// epilogue mode; optimized/common/version_table.h), the entry verb is a table entry's `launch(args,
// stream)`, and `run` is the host round trip (allocate, upload, poison outputs, launch, download) that the
// tests use. A second table per mode covers a whole biased Linear of the vision tower or the projector
// (LinearArgs: the GEMM and its epilogue): v1 the shared GEMM interface (optimized/common/gemm.h) and an
// epilogue launch, v2 the tensor-core GEMM with the epilogue fused; `launch_linear` picks from it and
// `linear` is its host round trip.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::vision_mlp {

// Which epilogue follows the GEMM (vision_mlp.cuh has the formulas):
//   kBias          y = bf16(C + b)                               q/k/v_proj, linear_2
//   kBiasGelu      y = bf16(gelu(bf16(C + b)))                   fc1, linear_1
//   kBiasResidual  m_out = bf16(C + b), y = bf16(h + m_out)      out_proj, fc2 with the residual add
enum Mode : int { kBias = 0, kBiasGelu = 1, kBiasResidual = 2 };

// Device pointers. h and m_out are read / written in kBiasResidual only.
struct Args {
  const float* c = nullptr;     // [m, n] fp32 GEMM output x W^T
  const uint16_t* b = nullptr;  // [n] bf16 bias
  const uint16_t* h = nullptr;  // [m, n] bf16 residual stream (kBiasResidual)
  uint16_t* y = nullptr;        // [m, n] bf16 output
  uint16_t* m_out = nullptr;    // [m, n] bf16 rounded linear output before the residual add (kBiasResidual)
  int m = 0, n = 0;
};

using Version = mm::gpu::KernelVersion<Args>;

// A whole biased Linear, y (m_out) = epilogue(x W^T): device pointers; h and m_out in kBiasResidual only.
struct LinearArgs {
  const uint16_t* x = nullptr;  // [m, k] bf16 input rows
  const uint16_t* w = nullptr;  // [n, k] bf16 weight (the PyTorch Linear layout)
  const uint16_t* b = nullptr;  // [n] bf16 bias
  const uint16_t* h = nullptr;  // [m, n] bf16 residual stream (kBiasResidual)
  uint16_t* y = nullptr;        // [m, n] bf16 output
  uint16_t* m_out = nullptr;    // [m, n] bf16 rounded linear output before the residual add (kBiasResidual)
  float* c = nullptr;           // [m, n] fp32 workspace for the GEMM output (v1; the fused v2 needs none)
  int m = 0, k = 0, n = 0;
};

using LinearVersion = mm::gpu::KernelVersion<LinearArgs>;

// The stored outputs of one epilogue: y, and m_out in kBiasResidual (empty otherwise).
struct Outputs {
  std::vector<uint16_t> y, m_out;
};

}  // namespace mm::vision_mlp

#define MM_VISION_MLP_DECLARE_RUNNERS(ns)                                                                       \
  MM_DECLARE_STEM_RUNNERS(vision_mlp, ns,                                                                     \
  /* v1 thread per element; v2 8 elements per thread (16-byte stores for n % 8 == 0 and aligned pointers, */  \
  /* scalar otherwise); every version takes m >= 0, n > 0 */                                            \
  const std::vector<Version>& versions(Mode mode); /* same names, same order in every mode */               \
  Outputs run(Mode mode, const Version& v, const std::vector<float>& c, const std::vector<uint16_t>& b,       \
              const std::vector<uint16_t>& h, int m, int n); /* h: [m, n] in kBiasResidual, else ignored */     \
  /* the whole Linear (LinearArgs): v1 gemm then epilogue (any k > 0, n > 0; needs c), v2 the fused */      \
  /* tensor-core kernel (k, n % 8 == 0; x, w 16-byte, b/h/y/m_out 4-byte aligned); same names in every mode */ \
  const std::vector<LinearVersion>& linear_versions(Mode mode);                                                 \
  /* y (m_out) = epilogue(x W^T): x [m, k], w [n, k], b [n], h [m, n] (kBiasResidual); c: a [m, n] fp32 */      \
  /* workspace (used by v1 only). Device pointers, asynchronous on the stream (synchronous in the SIMT */      \
  /* build); the preferred Linear version (the last that takes it) */                                          \
  void launch_linear(Mode mode, const uint16_t* x, const uint16_t* w, const uint16_t* b, const uint16_t* h,    \
                     uint16_t* y, uint16_t* m_out, float* c, int m, int k, int n, mm::gpu::Stream stream);     \
  /* whether launch_linear at this shape goes through the fp32 workspace c (no version that needs none */   \
  /* takes it); m > 0 */                                                                                       \
  bool linear_needs_workspace(Mode mode, int m, int k, int n);                                                  \
  /* the host round trip of one Linear version (outputs and the workspace poisoned first) */                   \
  Outputs linear(Mode mode, const LinearVersion& v, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w, \
                 const std::vector<uint16_t>& b, const std::vector<uint16_t>& h, int m, int k, int n);         \
  )

#if defined(__CUDACC__) || defined(MM_VISION_MLP_DECLARE_CUDA)
MM_VISION_MLP_DECLARE_RUNNERS(backend_cuda)
#endif
