// Proof kernel 3: each thread writes one shared element and reads its neighbour's. Without the
// barrier this is a race: the TSan build must report it (tests/simt, label tsan), and the emulator's
// schedules give different (poisoned) results.
#pragma once
#include "optimized/common/device.cuh"

namespace mm::proof {
inline namespace MM_BACKEND_NS {

template <bool kWithBarrier>
__global__ void neighbour_kernel(const float* __restrict__ in, float* __restrict__ out) {
  MM_SHARED(float, tile, [1024]);
  const int t = threadIdx.x;
  const size_t base = static_cast<size_t>(blockIdx.x) * blockDim.x;
  tile[t] = 2.0f * in[base + t];
  if constexpr (kWithBarrier) __syncthreads();
  out[base + t] = tile[(t + 1) % blockDim.x];
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::proof
