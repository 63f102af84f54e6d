// Lightning attention output path (docs/semantics/text-01-model.md#output-norm-and-gate) and the qkv
// activation (docs/semantics/text-01-model.md#projection-and-head-layout):
//   norm-gate: out = bf16(bf16(sigmoid(g)) * bf16(w * bf16(o * inv))), inv = 1/sqrt(mean(o^2) + eps) over
//              all n_h*d features of a row (heads concatenated), eps 1e-6; g = the output_gate projection.
//              The kernels are the row-norm kernels of optimized/rmsnorm in mode kGate.
//   silu:      out = bf16(x / (1 + exp(-x))) on the whole fused qkv projection (bf16 in, bf16 out).
// silu versions: v1 one thread per element; v2 8 elements (16 bytes) per thread, grid-stride.
#pragma once
#include "optimized/common/device.cuh"
#include "optimized/rmsnorm/rmsnorm.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace norm_gate {

__device__ __forceinline__ float silu_f(float x) { return x / (1.0f + expf(-x)); }

__global__ void silu_v1_kernel(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, size_t n) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __float2bfloat16(silu_f(__bfloat162float(x[i])));
}

// n8 = n / 8 vectors through 16-byte loads/stores, then the n % 8 tail elements one by one.
__global__ void silu_v2_kernel(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, size_t n) {
  const size_t n8 = n / 8;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  uint4* yv = reinterpret_cast<uint4*>(y);
  for (size_t i = t; i < n8; i += stride) {
    float f[8];
    rownorm::unpack8(xv[i], f);
#pragma unroll
    for (int e = 0; e < 8; ++e) f[e] = silu_f(f[e]);
    yv[i] = rownorm::pack8(f);
  }
  for (size_t i = n8 * 8 + t; i < n; i += stride) y[i] = __float2bfloat16(silu_f(__bfloat162float(x[i])));
}

}  // namespace norm_gate
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
