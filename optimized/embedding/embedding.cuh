// Embedding gather (docs/semantics/text-01-model.md#embedding-and-head: plain lookup, no padding_idx, no scaling):
// out[t, :] = table[ids[t], :].
// An id outside [0, vocab) never reads the table: its row is written as zeros and the smallest such
// position is recorded in *bad (atomicMin; pass nullptr to skip). The host runners validate the ids
// first and throw mm::Error naming the id and its position, so the guard is a second line of defence.
//   v1: one thread per output element.
//   v2: one block per token, 16-byte copies (8 bf16) when H % 8 == 0 and the buffers are aligned,
//       else a scalar strided copy.
#pragma once
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace embedding {

__global__ void gather_v1_kernel(const __nv_bfloat16* __restrict__ table, const int* __restrict__ ids,
                                 __nv_bfloat16* __restrict__ out, int tokens, int H, int vocab, int* bad) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<size_t>(tokens) * H) return;
  const int t = static_cast<int>(i / H), h = static_cast<int>(i % H);
  const int id = ids[t];
  if (id < 0 || id >= vocab) {
    out[i] = __float2bfloat16(0.0f);
    if (bad && h == 0) atomicMin(bad, t);
    return;
  }
  out[i] = table[static_cast<size_t>(id) * H + h];
}

template <bool kVec>
__global__ void gather_v2_kernel(const __nv_bfloat16* __restrict__ table, const int* __restrict__ ids,
                                 __nv_bfloat16* __restrict__ out, int H, int vocab, int* bad) {
  const int t = static_cast<int>(blockIdx.x);
  const int id = ids[t];
  const bool ok = id >= 0 && id < vocab;
  if (!ok && bad && threadIdx.x == 0) atomicMin(bad, t);
  const size_t src = static_cast<size_t>(ok ? id : 0) * H, dst = static_cast<size_t>(t) * H;
  if constexpr (kVec) {
    const uint4* s = reinterpret_cast<const uint4*>(table + src);
    uint4* d = reinterpret_cast<uint4*>(out + dst);
    const int nv = H / 8;
    for (int i = static_cast<int>(threadIdx.x); i < nv; i += static_cast<int>(blockDim.x))
      d[i] = ok ? s[i] : make_uint4(0u, 0u, 0u, 0u);
  } else {
    for (int i = static_cast<int>(threadIdx.x); i < H; i += static_cast<int>(blockDim.x))
      out[dst + i] = ok ? table[src + i] : __float2bfloat16(0.0f);
  }
}

}  // namespace embedding
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
