// MiniMax-VL-01 packing + splicing as one row gather (docs/semantics/vl-01-vision.md, "Packing",
// "Splicing"). The host plans every output row's source (vl_projector_runner.h, plan_rows); the kernels
// only copy. Sources are the rows of one virtual matrix stacked from three buffers:
//
//   src in [0, F)              features[src, :]         (every image's projected crops, [F, Ht])
//   src == F                   image_newline[:]         ([Ht])
//   src in [F + 1, F + 1 + V)  table[src - F - 1, :]    (token embeddings, [V, Ht])
//
//   out[t, :] = virtual[row_map[t], :]
//
// A source outside [0, F + 1 + V) never reads memory: its row is written as zeros and the smallest such
// t is recorded in *bad (atomicMin; nullptr skips). The host runners validate the map first and throw
// std::invalid_argument naming the row, so the guard is a second line of defence (as in embedding.cuh).
// No arithmetic: every output bit is an input bit (bf16 rows in, bf16 rows out).
//   v1: one thread per output element.
//   v2: one warp per output row (8 rows per 256-thread block), 16-byte copies (8 bf16) when Ht % 8 == 0
//       and every buffer is 16-byte aligned, else a scalar strided copy.
#pragma once
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace vl_projector {

// The first element of virtual row `src`, or nullptr when src is outside [0, F + 1 + V).
__device__ inline const __nv_bfloat16* source_row(int src, const __nv_bfloat16* features,
                                                  const __nv_bfloat16* newline, const __nv_bfloat16* table,
                                                  int F, int V, int Ht) {
  if (src < 0) return nullptr;
  if (src < F) return features + static_cast<size_t>(src) * Ht;
  if (src == F) return newline;
  const int id = src - F - 1;  // src > F here, so id >= 0; F + 1 + V <= INT_MAX (checked by the host)
  if (id < V) return table + static_cast<size_t>(id) * Ht;
  return nullptr;
}

__global__ void splice_v1_kernel(const __nv_bfloat16* __restrict__ features, const __nv_bfloat16* __restrict__ newline,
                                 const __nv_bfloat16* __restrict__ table, const int* __restrict__ row_map,
                                 __nv_bfloat16* __restrict__ out, int rows, int Ht, int F, int V, int* bad) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<size_t>(rows) * Ht) return;
  const int t = static_cast<int>(i / Ht), h = static_cast<int>(i % Ht);
  const __nv_bfloat16* s = source_row(row_map[t], features, newline, table, F, V, Ht);
  if (!s) {
    out[i] = __float2bfloat16(0.0f);
    if (bad && h == 0) atomicMin(bad, t);
    return;
  }
  out[i] = s[h];
}

// Warp w of block b copies output row t = 8 b + w. kVec: Ht % 8 == 0 and 16-byte aligned buffers.
template <bool kVec>
__global__ void splice_v2_kernel(const __nv_bfloat16* __restrict__ features, const __nv_bfloat16* __restrict__ newline,
                                 const __nv_bfloat16* __restrict__ table, const int* __restrict__ row_map,
                                 __nv_bfloat16* __restrict__ out, int rows, int Ht, int F, int V, int* bad) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int t = static_cast<int>(blockIdx.x) * (static_cast<int>(blockDim.x) / 32) + static_cast<int>(threadIdx.x) / 32;
  if (t >= rows) return;
  const __nv_bfloat16* s = source_row(row_map[t], features, newline, table, F, V, Ht);
  if (!s && bad && lane == 0) atomicMin(bad, t);
  __nv_bfloat16* d = out + static_cast<size_t>(t) * Ht;
  if constexpr (kVec) {
    const uint4* sv = reinterpret_cast<const uint4*>(s);
    uint4* dv = reinterpret_cast<uint4*>(d);
    const int nv = Ht / 8;
    if (s) {
#pragma unroll 4
      for (int i = lane; i < nv; i += 32) dv[i] = sv[i];
    } else {
      for (int i = lane; i < nv; i += 32) dv[i] = make_uint4(0u, 0u, 0u, 0u);
    }
  } else {
    for (int i = lane; i < Ht; i += 32) d[i] = s ? s[i] : __float2bfloat16(0.0f);
  }
}

}  // namespace vl_projector
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
