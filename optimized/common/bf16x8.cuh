// Eight bf16 values in one 16-byte word (uint4): the unpack / pack helpers of the vectorised row
// kernels (rmsnorm, lightning_norm_gate, layer_norm, vision_mlp), which load and store rows 16 bytes at
// a time and compute in fp32.
#pragma once
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace bf16x8 {

// v holds 8 bf16 (little end first) -> f[0..7] as fp32 (exact: a bf16 is the top half of an fp32).
__device__ __forceinline__ void unpack8(const uint4& v, float (&f)[8]) {
  const uint32_t u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(u[i] << 16);
    f[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
  }
}
// Two fp32 -> two bf16 (round to nearest even) in one word, lo in the low half.
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16(lo))) |
         (static_cast<uint32_t>(__bfloat16_as_ushort(__float2bfloat16(hi))) << 16);
}
// f[0..7] -> 8 bf16 (round to nearest even) in one 16-byte word.
__device__ __forceinline__ uint4 pack8(const float (&f)[8]) {
  uint4 v;
  v.x = pack2(f[0], f[1]);
  v.y = pack2(f[2], f[3]);
  v.z = pack2(f[4], f[5]);
  v.w = pack2(f[6], f[7]);
  return v;
}

}  // namespace bf16x8
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
