// Host entry points of the on-device sampler (plain types), declared for backend_simt (header-inline,
// sampling_runner.cuh) and, when linked, backend_cuda (sampling.cu). The stem convention
// (docs/architecture.md, "Kernel stems: one convention"): Args, the version table
// (optimized/common/version_table.h) whose entries' `launch(args, stream)` is the entry verb, and `run`,
// the host round trip the tests use.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "optimized/common/version_table.h"

namespace mm::sampling {

// tokens[b] from logits[b, :] and uniforms[b] (temperature 0 = greedy, u unused); no validation (the
// caller checks like reference sample_token). Device pointers.
struct Args {
  const float* logits = nullptr;   // [rows, V] fp32
  int rows = 0, V = 0;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  const double* uniforms = nullptr;  // [rows]
  int* tokens = nullptr;             // [rows]
  void* workspace = nullptr;         // workspace_bytes(rows, V)
};

using Version = mm::gpu::KernelVersion<Args>;

}  // namespace mm::sampling

#define MM_SAMPLING_DECLARE_RUNNERS(ns)                                                                      \
  MM_DECLARE_STEM_RUNNERS(sampling, ns,                                                                      \
  /* v1 block bitonic sort (exact), v2 candidate selection (exact; falls back to v1's kernel per row) */    \
  const std::vector<Version>& versions();                                                                   \
  /* device scratch a launch needs for `rows` rows of V logits (any version) */                            \
  size_t workspace_bytes(int rows, int V);                                                                  \
  /* validates like reference sample_token (mm::Error), then samples; logits.size() == rows * V */          \
  std::vector<int> run(const Version& v, const std::vector<float>& logits, int rows, int V, double temperature, \
                       int top_k, double top_p, const std::vector<double>& uniforms);                       \
  )

#if defined(__CUDACC__) || defined(MM_SAMPLING_DECLARE_CUDA)
MM_SAMPLING_DECLARE_RUNNERS(backend_cuda)
#endif
