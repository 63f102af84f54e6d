// nvcc build of the model path (cuda_model.cuh): the stems' GPU runners (backend_cuda) and cuBLAS
// through optimized/common/gemm.h, weights and caches in device memory. Joins mm_optimized_cuda.
#include <cstdio>

#include "optimized/model/cuda_model.cuh"

namespace mm::cuda_model {

std::unique_ptr<Model> make_cuda_model(HostWeights w, const ModelOptions& options) {
  if (!cuda_device_present()) throw std::runtime_error("no CUDA device");
  return std::make_unique<backend_cuda::detail::ModelImpl>(w, options);
}

uint64_t cuda_device_free_bytes() { return cuda_device_present() ? mm::gpu::device_free_bytes() : 0; }

bool cuda_device_present() { return mm::gpu::device_available(); }

std::string cuda_device_name() {
  if (!cuda_device_present()) return "";
  int dev = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) return "";
  char buf[384];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %d SMs, %.1f GiB)", p.name, p.major, p.minor, p.multiProcessorCount,
                static_cast<double>(p.totalGlobalMem) / (1 << 30));
  return buf;
}

}  // namespace mm::cuda_model
