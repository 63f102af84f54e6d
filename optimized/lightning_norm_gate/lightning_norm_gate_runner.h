// Host entry points of the lightning norm-gate and silu kernels (plain types, bf16 as uint16_t bits),
// declared for backend_simt (header-inline, lightning_norm_gate_runner.cuh) and, when linked, backend_cuda
// (lightning_norm_gate.cu). run_*: host vectors; launch_*: device pointers on a stream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <driver_types.h>

#define MM_NORM_GATE_DECLARE_RUNNERS(ns)                                                                     \
  namespace mm::norm_gate_gpu {                                                                             \
  inline namespace ns {                                                                                     \
  int num_versions();                                                                                       \
  const char* version_name(int version);                                                                    \
  bool device_present();                                                                                    \
  /* out[T, D] = bf16(bf16(sigmoid(g)) * RMSNorm_w(o)), D = n_h * d */                                      \
  void launch_norm_gate(int version, const uint16_t* o, const uint16_t* g, const uint16_t* w, uint16_t* out,   \
                        int rows, int D, float eps, cudaStream_t stream);                                   \
  /* y = bf16(silu(x)), n elements */                                                                       \
  void launch_silu(int version, const uint16_t* x, uint16_t* y, size_t n, cudaStream_t stream);             \
  std::vector<uint16_t> run_norm_gate(int version, const std::vector<uint16_t>& o, const std::vector<uint16_t>& g, \
                                      const std::vector<uint16_t>& w, int rows, int D, float eps);          \
  std::vector<uint16_t> run_silu(int version, const std::vector<uint16_t>& x);                              \
  }                                                                                                         \
  }

#if defined(__CUDACC__) || defined(MM_NORM_GATE_DECLARE_CUDA)
MM_NORM_GATE_DECLARE_RUNNERS(backend_cuda)
#endif
