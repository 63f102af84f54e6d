// One launch call site for both builds:
//   mm::gpu::launch(kernel, grid, block, dynamic_smem_bytes, stream, args...);
// nvcc: kernel<<<grid, block, smem, stream>>>(args...) plus a launch-error check.
// host:  mm::simt::launch, synchronous (the stream is ignored; pass nullptr).
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "optimized/common/device.cuh"
#include "optimized/common/version_table.h"  // mm::gpu::Stream, the one stream type

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

#if defined(__CUDACC__)

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t dynamic_smem, Stream stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel argument count mismatch");
  kernel<<<grid, block, dynamic_smem, stream>>>(std::forward<A>(args)...);
  check(cudaGetLastError(), "kernel launch");
}

// Kernels that use more than 48 KiB of dynamic shared memory must opt in once.
template <class... P>
void allow_dynamic_smem(void (*kernel)(P...), size_t bytes) {
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
        "cudaFuncSetAttribute");
}

#else

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t dynamic_smem, Stream /*stream*/, A&&... args) {
  mm::simt::launch(kernel, grid, block, dynamic_smem, std::forward<A>(args)...);
}

template <class... P>
void allow_dynamic_smem(void (*)(P...), size_t bytes) {
  if (bytes > mm::simt::launch_options().shared_capacity)
    throw std::runtime_error("dynamic shared memory request exceeds the per-block limit");
}

#endif

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
