// SIMT build of the model path (cuda_model.cuh compiled by g++ against optimized/simt: the CUDA kernels
// on the CPU). Library mm_model (optimized/CMakeLists.txt).
#include "optimized/model/cuda_model.cuh"

namespace mm::cuda_model {

void check_kernel_head_dims(const Dims& dims) { backend_simt::detail::check_head_dims(dims); }
void check_kernel_vision_head_dims(const VisionDims& dims) { backend_simt::detail::check_vision_head_dims(dims); }

std::unique_ptr<Model> make_simt_model(HostWeights w, const ModelOptions& options) {
  return std::make_unique<backend_simt::detail::ModelImpl>(w, options);
}

}  // namespace mm::cuda_model
