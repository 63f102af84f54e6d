// Host entry points of the RMSNorm kernels with plain types (bf16 as raw uint16_t bits), declared for
// the emulator build (backend_simt, header-inline from rmsnorm_runner.cuh) and, when a program links the
// nvcc build, for backend_cuda (rmsnorm.cu). Versions are indices into a small table (name + kernels).
//   run_*:    host vectors in, host vectors out (allocate, upload, poison outputs, launch, download)
//   launch_*: device pointers (what benchmarks and the model use); asynchronous on `stream` on the GPU
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <driver_types.h>

#define MM_RMSNORM_DECLARE_RUNNERS(ns)                                                                       \
  namespace mm::rmsnorm_gpu {                                                                               \
  inline namespace ns {                                                                                     \
  int num_versions();                                                                                       \
  const char* version_name(int version);                                                                    \
  bool device_present();                                                                                    \
  /* n = RMSNorm(x) over rows of width H (first layer input norm, final model.norm) */                      \
  void launch_rmsnorm(int version, const uint16_t* x, const uint16_t* w, uint16_t* n, int rows, int H,       \
                      float eps, cudaStream_t stream);                                                      \
  /* y = bf16(bf16(r*alpha) + bf16(a*beta)), n = RMSNorm(y) */                                              \
  void launch_residual_rmsnorm(int version, const uint16_t* r, const uint16_t* a, const uint16_t* w,         \
                               uint16_t* y, uint16_t* n, int rows, int H, float alpha, float beta, float eps, \
                               cudaStream_t stream);                                                        \
  std::vector<uint16_t> run_rmsnorm(int version, const std::vector<uint16_t>& x, const std::vector<uint16_t>& w, \
                                    int rows, int H, float eps);                                            \
  /* returns {y, n} */                                                                                      \
  std::pair<std::vector<uint16_t>, std::vector<uint16_t>> run_residual_rmsnorm(                             \
      int version, const std::vector<uint16_t>& r, const std::vector<uint16_t>& a,                          \
      const std::vector<uint16_t>& w, int rows, int H, float alpha, float beta, float eps);                 \
  }                                                                                                         \
  }

#if defined(__CUDACC__) || defined(MM_RMSNORM_DECLARE_CUDA)
MM_RMSNORM_DECLARE_RUNNERS(backend_cuda)
#endif
