// CUDA keywords and built-in variables for the host compiler. Included by simt.h after the CUDA
// headers (whose crt/host_defines.h gives __global__ & co. meanings for g++ that we do not want).
#pragma once
#include "runtime.h"

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#undef __constant__
#undef __managed__
#undef __grid_constant__

// A kernel is an ordinary function. `inline` lets a kernel header be included by several test TUs.
#define __global__ inline
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __grid_constant__
#define __constant__ inline
#define __managed__ inline

// Plain `__shared__` cannot be poisoned per block (a static thread_local keeps its value from block to
// block and starts at zero), so the CPU build rejects it: kernels declare shared memory with
// MM_SHARED / MM_SHARED_DYN (optimized/common/device.cuh). Define MM_SIMT_ALLOW_PLAIN_SHARED to accept
// it unpoisoned, e.g. for third-party code.
#if defined(MM_SIMT_ALLOW_PLAIN_SHARED)
#define __shared__ static thread_local
#else
#define __shared__ _Pragma("GCC error \"plain __shared__ is not poisoned under mm::simt; use MM_SHARED(T, name, dims) or MM_SHARED_DYN(T, name)\"")
#endif

// Built-ins resolve through the running fiber. They are macros so that they are not variables of the
// OS thread (all fibers of a block share one OS thread).
#define threadIdx (::mm::simt::detail::self("threadIdx").thread_idx)
#define blockIdx (::mm::simt::detail::self("blockIdx").block_idx)
#define blockDim (::mm::simt::detail::self("blockDim").block_dim)
#define gridDim (::mm::simt::detail::self("gridDim").grid_dim)
inline constexpr int warpSize = 32;
