// Proof kernel 1: per-row sum with warp shuffles and a block-level combine through shared memory.
// One block per row; each thread strides over the row, warps reduce with __shfl_xor_sync, lane 0 of
// every warp parks its partial in shared memory, warp 0 reduces the partials with __shfl_down_sync.
#pragma once
#include "optimized/common/device.cuh"

namespace mm::proof {
inline namespace MM_BACKEND_NS {

__device__ __forceinline__ float warp_sum_xor(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <int kThreads>
__global__ void __launch_bounds__(kThreads) row_sum_kernel(const float* __restrict__ x, float* __restrict__ out, int n) {
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "whole warps only");
  constexpr int kWarps = kThreads / 32;
  MM_SHARED(float, warp_partials, [kWarps]);
  const float* row = x + static_cast<size_t>(blockIdx.x) * n;
  float s = 0.0f;
  for (int i = threadIdx.x; i < n; i += kThreads) s += row[i];
  s = warp_sum_xor(s);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warp_partials[warp] = s;
  __syncthreads();
  if (warp == 0) {
    s = lane < kWarps ? warp_partials[lane] : 0.0f;
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_down_sync(0xffffffffu, s, offset);
    if (lane == 0) out[blockIdx.x] = s;
  }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::proof
