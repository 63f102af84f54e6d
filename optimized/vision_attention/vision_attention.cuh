// Vision attention core of MiniMax-VL-01's CLIP tower (docs/semantics/vl-01-vision.md, "Attention" and
// "Crops are independent"): o_h = bf16(softmax(scale * q_h k_h^T) v_h) per head, bidirectional (no mask:
// every row of a crop sees every row of the same crop), over crops packed one after another (varlen, as
// flash_attn_varlen_func). The q/k/v projections before and out_proj after are GEMMs elsewhere.
// bf16 storage, fp32 math.
//
// Layouts (row-major, bf16):
//   q, k, v [total_rows, n_heads*d]   crop c holds rows [offsets[c], offsets[c+1]); head h is columns
//                                      [h d, (h+1) d); rows ld_qkv >= n_heads*d elements apart (the
//                                      column blocks of one [total_rows, 3 n_heads d] q|k|v projection
//                                      output: ld_qkv = 3 n_heads d)
//   o       [total_rows, n_heads*d]   attention output (before out_proj)
//   offsets [n_crops + 1] int (device) nondecreasing, offsets[0] = 0, offsets[n_crops] = total_rows
// Query row i of crop c attends to keys offsets[c] .. offsets[c+1]-1 only.
//
// The tensor-core version reuses the softmax-attention stem's mma building blocks (load_rows, qk_tile,
// online_softmax, pv_tile from optimized/softmax_attention/softmax_attention.cuh): the same FA2 scheme
// with the crop's key range instead of a causal mask.
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/ptx.cuh"
#include "optimized/softmax_attention/softmax_attention.cuh"

namespace mm::vision_attention {
inline namespace MM_BACKEND_NS {

using bf16 = __nv_bfloat16;
namespace sa = mm::softmax_attention;

// The crop holding packed row `row`: the c with offsets[c] <= row < offsets[c+1] (binary search over the
// n_crops + 1 offsets; empty crops are skipped since their range holds no row).
__device__ __forceinline__ int crop_of_row(const int* __restrict__ offsets, int n_crops, int row) {
  int lo = 0, hi = n_crops - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------------
// v1: one thread per (packed query row, head), two-pass exact softmax in fp32 (pass 1 the row max of
//     scale * q.k, pass 2 p = exp(s - max), l = sum p, acc = sum p v), o = bf16(acc / l). Obviously right.
//     The head dim d is a run-time argument, 1 <= d <= kMaxD (q and acc are per-thread arrays: local
//     memory on the GPU; v1 is the yardstick, not the fast path).
// ---------------------------------------------------------------------------------------------------
template <int kMaxD>  // a template so that the header can be included by several TUs
__global__ void vision_attention_v1_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                           const bf16* __restrict__ v, bf16* __restrict__ o,
                                           const int* __restrict__ offsets, int n_crops, int total_rows, int n_heads,
                                           int d, int ld_qkv, float scale) {
  const long idx = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<long>(total_rows) * n_heads) return;
  const int i = static_cast<int>(idx / n_heads), h = static_cast<int>(idx % n_heads);
  const int c = crop_of_row(offsets, n_crops, i);
  const int k0 = offsets[c], k1 = offsets[c + 1];
  const size_t ld = static_cast<size_t>(n_heads) * d, ldi = static_cast<size_t>(ld_qkv);  // o's and q/k/v's rows
  float qf[kMaxD], acc[kMaxD];
  for (int e = 0; e < d; ++e) {
    qf[e] = sa::bf(q[i * ldi + h * d + e]);
    acc[e] = 0.0f;
  }
  float m = -INFINITY;
  for (int j = k0; j < k1; ++j) {
    const bf16* kr = k + j * ldi + h * d;
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s += qf[e] * sa::bf(kr[e]);
    m = fmaxf(m, s * scale);
  }
  float l = 0.0f;
  for (int j = k0; j < k1; ++j) {
    const bf16* kr = k + j * ldi + h * d;
    const bf16* vr = v + j * ldi + h * d;
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s += qf[e] * sa::bf(kr[e]);
    const float p = expf(s * scale - m);
    l += p;
    for (int e = 0; e < d; ++e) acc[e] += p * sa::bf(vr[e]);
  }
  for (int e = 0; e < d; ++e) o[i * ld + h * d + e] = __float2bfloat16_rn(acc[e] / l);
}

// ---------------------------------------------------------------------------------------------------
// v2: FlashAttention-2 on mma.sync m16n8k16 (bf16 in, fp32 accumulate), non-causal, varlen. Grid
//     (ceil(max_len / kBM), n_heads, n_crops); block = kWarps warps = 16*kWarps query rows of one crop and
//     head, a warp per 16 rows. K/V tiles of 64 keys of the same crop, cp.async double buffered; online
//     softmax in fp32 (exp2 with scale * log2(e) folded in); P rounded to bf16 for the PV MMA as
//     FlashAttention does. Only the crop's last K/V tile is masked (keys >= L get -inf; load_rows
//     zero-fills them, so no row of another crop is read). Query rows >= L are computed on zero-filled
//     q and never stored. Blocks past the crop's length exit at once (crops shorter than max_len).
//     Dynamic shared memory: (16*kWarps + 4*64) * (D+8) * 2 bytes (d 64: 46 KiB with 4 warps).
// ---------------------------------------------------------------------------------------------------
template <int D, int kWarps_ = 4>
struct Fa2 {
  static constexpr int kWarps = kWarps_, kThreads = 32 * kWarps, kBM = 16 * kWarps, kBN = sa::Fa::kBN;
  static constexpr int kStride = D + sa::Fa::kPad;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kBM + 4 * kBN) * kStride * sizeof(bf16);
};

template <int D, int kWarps>
__global__ void __launch_bounds__(32 * kWarps)
    vision_attention_fa2_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                bf16* __restrict__ o, const int* __restrict__ offsets, int n_heads, int ld_qkv,
                                float scale_log2) {
  using C = Fa2<D, kWarps>;
  constexpr int kBM = C::kBM, kBN = C::kBN, kStride = C::kStride, kThr = C::kThreads;
  const int c = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBM;
  const int row0 = offsets[c], L = offsets[c + 1] - row0;
  if (m0 >= L) return;  // the whole block: this crop is shorter than max_len
  MM_SHARED_DYN(bf16, smem);
  bf16* sq = smem;
  bf16* sk = sq + kBM * kStride;  // [2][kBN][kStride]
  bf16* sv = sk + 2 * kBN * kStride;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const size_t ld = static_cast<size_t>(n_heads) * D, ldi = static_cast<size_t>(ld_qkv);  // o's, q/k/v's rows
  const size_t base = static_cast<size_t>(row0) * ld + static_cast<size_t>(h) * D;  // o: crop row 0, head h
  const size_t base_in = static_cast<size_t>(row0) * ldi + static_cast<size_t>(h) * D;  // q, k, v
  const bf16* kg = k + base_in;
  const bf16* vg = v + base_in;
  const int n_tiles = (L + kBN - 1) / kBN;

  sa::load_rows<D, kBM, kThr>(sq, q + base_in, ldi, m0, L - m0);
  sa::load_rows<D, kBN, kThr>(sk, kg, ldi, 0, L);
  sa::load_rows<D, kBN, kThr>(sv, vg, ldi, 0, L);
  mm::gpu::cp_async_commit();

  uint32_t qf[D / 16][4];
  float acc[D / 8][4];
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[dn][e] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  for (int t = 0; t < n_tiles; ++t) {
    const int st = t & 1;
    if (t + 1 < n_tiles) {
      const int n1 = (t + 1) * kBN;
      sa::load_rows<D, kBN, kThr>(sk + (st ^ 1) * kBN * kStride, kg, ldi, n1, L - n1);
      sa::load_rows<D, kBN, kThr>(sv + (st ^ 1) * kBN * kStride, vg, ldi, n1, L - n1);
    }
    mm::gpu::cp_async_commit();
    mm::gpu::cp_async_wait<1>();
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks)
        mm::gpu::ldmatrix_x4(qf[ks], sq + (warp * 16 + lane % 16) * kStride + ks * 16 + lane / 16 * 8);
    }
    float s[kBN / 8][4];
    sa::qk_tile<D, kBN / 8>(s, qf, sk + st * kBN * kStride, 0);
    const int n0 = t * kBN;
    if (n0 + kBN > L) {  // the crop's last tile: keys beyond the crop
#pragma unroll
      for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (n0 + j * 8 + 2 * (lane % 4) + (e & 1) >= L) s[j][e] = -INFINITY;
    }
    float alpha[2];
    sa::online_softmax<kBN / 8>(s, m, l, alpha, scale_log2);
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) {
      acc[dn][0] *= alpha[0];
      acc[dn][1] *= alpha[0];
      acc[dn][2] *= alpha[1];
      acc[dn][3] *= alpha[1];
    }
    sa::pv_tile<D, kBN / 16>(acc, s, sv + st * kBN * kStride, 0);
    __syncthreads();  // this stage is refilled by the next iteration's prefetch
  }
  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float ls = l[r];
    ls += __shfl_xor_sync(0xffffffffu, ls, 1);
    ls += __shfl_xor_sync(0xffffffffu, ls, 2);
    inv[r] = 1.0f / ls;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int qi = m0 + warp * 16 + lane / 4 + 8 * r;  // fragment rows lane/4 and lane/4 + 8
    if (qi >= L) continue;
    bf16* orow = o + base + static_cast<size_t>(qi) * ld + 2 * (lane % 4);
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn)
      *reinterpret_cast<__nv_bfloat162*>(orow + dn * 8) =
          __floats2bfloat162_rn(acc[dn][2 * r] * inv[r], acc[dn][2 * r + 1] * inv[r]);
  }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::vision_attention
