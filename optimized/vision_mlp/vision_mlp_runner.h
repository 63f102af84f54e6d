// Host entry points of the vision linear-layer epilogues (vision_mlp.cuh) with plain types (bf16 as raw
// uint16_t bits), declared for the emulator build (backend_simt, header-inline from vision_mlp_runner.cuh)
// and, when a program links the nvcc build, for backend_cuda (vision_mlp.cu). The stem convention
// (docs/architecture.md, "Kernel stems: one convention"): one Args struct, one table per op (here per
// epilogue mode; optimized/common/version_table.h), the entry verb is a table entry's `launch(args,
// stream)`, and `run` is the host round trip (allocate, upload, poison outputs, launch, download) that the
// tests use. `launch_linear` / `linear` put the shared GEMM interface (optimized/common/gemm.h) in front:
// a whole biased Linear of the vision tower or the projector.
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
  /* y (m_out) = epilogue(x W^T): x [m, k], w [n, k] (the PyTorch Linear layout), b [n], h [m, n] */          \
  /* (kBiasResidual); c: a [m, n] fp32 workspace for the GEMM output. Device pointers, asynchronous on */     \
  /* the stream (synchronous in the SIMT build); the preferred epilogue version (the last that takes it) */   \
  void launch_linear(Mode mode, const uint16_t* x, const uint16_t* w, const uint16_t* b, const uint16_t* h,    \
                     uint16_t* y, uint16_t* m_out, float* c, int m, int k, int n, mm::gpu::Stream stream);     \
  /* the host round trip of launch_linear (outputs poisoned first) */                                          \
  Outputs linear(Mode mode, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w,                   \
                 const std::vector<uint16_t>& b, const std::vector<uint16_t>& h, int m, int k, int n);         \
  )

#if defined(__CUDACC__) || defined(MM_VISION_MLP_DECLARE_CUDA)
MM_VISION_MLP_DECLARE_RUNNERS(backend_cuda)
#endif
