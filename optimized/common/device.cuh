// Include first in every kernel header (.cuh). It is the one switch between the two builds:
//   nvcc:     the real CUDA runtime and keywords;
//   host C++: the SIMT-on-CPU layer (optimized/simt), which gives the same spellings.
// It also defines the few spellings that differ (shared memory declarations) and the inline
// namespace that keeps the two builds' kernels apart when both are linked into one program.
// MM_SIMT (the build switch, top-level CMakeLists.txt) is 0 under nvcc and 1 on the host; the mm_simt
// target also defines it for host code that does not include this header (harness, tests).
#pragma once

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define MM_SIMT 0
#define MM_BACKEND_NS backend_cuda
// Shared memory: plain CUDA. The CPU build maps the same macros to a per-block poisoned arena.
#define MM_SHARED_ALIGNED(align, T, name, ...) __shared__ __align__(align) T name __VA_ARGS__
#define MM_SHARED(T, name, ...) MM_SHARED_ALIGNED(16, T, name, __VA_ARGS__)
#define MM_SHARED_DYN(T, name)                                \
  extern __shared__ __align__(16) unsigned char mm_dyn_smem_[]; \
  T* name = reinterpret_cast<T*>(mm_dyn_smem_)
#else
#include <driver_types.h>  // cudaStream_t, cudaError_t: types only, no runtime library

#include "optimized/simt/simt.h"

#define MM_SIMT 1
#define MM_BACKEND_NS backend_simt
#endif
