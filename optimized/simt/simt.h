// SIMT-on-CPU: include this (normally through optimized/common/device.cuh) before a kernel header to
// compile CUDA kernels with the host compiler and run them with mm::simt::launch. One fiber per CUDA
// thread; see docs/simt.md for what is covered, approximated and not covered.
#pragma once
#if defined(__CUDACC__)
#error "optimized/simt/simt.h is for the host-compiler build; nvcc uses the real CUDA runtime"
#endif

// CUDA's own host-usable headers first: vector types, bf16/fp16 with NVIDIA's host conversions.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_types.h>
#include <vector_functions.h>

#include "atomics.h"
#include "intrinsics.h"
#include "launch.h"
#include "runtime.h"
#include "shared.h"
#include "sync.h"
#include "warp.h"
// Last: it redefines CUDA keywords, which must not leak into the headers above.
#include "keywords.h"
