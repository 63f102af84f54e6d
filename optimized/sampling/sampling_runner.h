// Host entry points of the on-device sampler (plain types), declared for backend_simt (header-inline,
// sampling_runner.cuh) and, when linked, backend_cuda (sampling.cu).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <driver_types.h>

#define MM_SAMPLING_DECLARE_RUNNERS(ns)                                                                      \
  namespace mm::sampling_gpu {                                                                              \
  inline namespace ns {                                                                                     \
  int num_versions();                                                                                       \
  const char* version_name(int version);                                                                    \
  bool device_present();                                                                                    \
  /* device scratch the launch needs for B rows of V logits */                                              \
  size_t workspace_bytes(int version, int rows, int V);                                                     \
  /* tokens[b] from logits[b, :] and uniforms[b] (temperature 0 = greedy, u unused); no validation */       \
  void launch_sample(int version, const float* logits, int rows, int V, double temperature, int top_k,        \
                     double top_p, const double* uniforms, int* tokens, void* workspace, cudaStream_t stream); \
  /* validates like reference sample_token (mm::Error), then samples; logits.size() == rows * V */          \
  std::vector<int> run_sample(int version, const std::vector<float>& logits, int rows, int V, double temperature, \
                              int top_k, double top_p, const std::vector<double>& uniforms);                \
  }                                                                                                         \
  }

#if defined(__CUDACC__) || defined(MM_SAMPLING_DECLARE_CUDA)
MM_SAMPLING_DECLARE_RUNNERS(backend_cuda)
#endif
