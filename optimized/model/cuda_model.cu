// nvcc build of the model path (cuda_model.cuh): the stems' GPU runners (backend_cuda) and cuBLAS
// through optimized/common/gemm.h, weights and caches in device memory. Joins mm_optimized_cuda.
#include "optimized/model/cuda_model.cuh"

namespace mm::cuda_model {

std::unique_ptr<Model> make_cuda_model(const HostWeights& w) {
  if (!cuda_device_present()) throw std::runtime_error("no CUDA device");
  return std::make_unique<backend_cuda::detail::ModelImpl>(w);
}

bool cuda_device_present() { return mm::gpu::device_available(); }

}  // namespace mm::cuda_model
