// Softmax (full) attention layer core (docs/semantics/text-01-model.md#softmax-attention): partial NeoX RoPE
// + KV-cache append, causal GQA prefill attention and split-KV decode attention. bf16 storage, fp32 math.
//
// Layouts (row-major, bf16 unless stated):
//   q [rows, n_h*D], k/v [rows, n_kv*D]      projections (from optimized/common/gemm.h)
//   k_cache/v_cache [batch, capacity, n_kv*D]  post-RoPE keys and values (batch 1 for prefill)
//   o [rows, n_h*D]                          attention output (before o_proj)
// Query head h reads kv head h / (n_h / n_kv). Causal mask bottom-right aligned with the cache: query
// row i of a chunk appended at position `past` sees keys 0..past+i. Scale 1/sqrt(D).
//
// RoPE table convention (reference/rope.h): inv_freq[i] = fl32(1/theta^(2i/rd)) computed in double on
// the host (a [rd/2] fp32 table), angle = fl32(fl32(pos) * inv_freq[i]) (one fp32 multiply on the
// device), cos/sin evaluated in double on the device and rounded to fp32; the rotation uses explicitly
// rounded fp32 ops (no FMA contraction), so the result has the reference ref::BF16 bits.
#pragma once
#include <cstdint>
#include <cstring>

#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/ptx.cuh"

namespace mm::softmax_attention {
inline namespace MM_BACKEND_NS {

using bf16 = __nv_bfloat16;

constexpr int kRopeMaxHalf = 128;  // rotary_dim <= 256

__device__ __forceinline__ float bf(bf16 x) { return __bfloat162float(x); }

// ---------------------------------------------------------------------------------------------------
// 1. RoPE + KV-cache append. One block per input row; row r is token r % rows_per_seq of sequence
//    r / rows_per_seq, at absolute position past[seq] + r % rows_per_seq.
// ---------------------------------------------------------------------------------------------------
__device__ __forceinline__ float rope_elem(const bf16* x, int e, int half, int rd, const float* c, const float* s) {
  if (e >= rd) return bf(x[e]);
  if (e < half) return __fadd_rn(__fmul_rn(bf(x[e]), c[e]), -__fmul_rn(bf(x[e + half]), s[e]));
  return __fadd_rn(__fmul_rn(bf(x[e]), c[e - half]), __fmul_rn(bf(x[e - half]), s[e - half]));
}

template <int kMaxHalf>  // a template so that the header can be included by several TUs
__global__ void rope_append_kernel(const bf16* __restrict__ q_in, const bf16* __restrict__ k_in,
                                   const bf16* __restrict__ v_in, bf16* __restrict__ q_out, bf16* __restrict__ k_cache,
                                   bf16* __restrict__ v_cache, const int* __restrict__ past,
                                   const float* __restrict__ inv_freq, int rows_per_seq, int n_h, int n_kv, int d,
                                   int rd, int capacity) {
  MM_SHARED(float, cs, [2][kMaxHalf]);
  const int r = blockIdx.x, seq = r / rows_per_seq;
  const int pos = past[seq] + r % rows_per_seq;
  const int half = rd / 2;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float ang = __fmul_rn(static_cast<float>(pos), inv_freq[i]);
    cs[0][i] = static_cast<float>(cos(static_cast<double>(ang)));
    cs[1][i] = static_cast<float>(sin(static_cast<double>(ang)));
  }
  __syncthreads();
  const size_t qrow = static_cast<size_t>(r) * n_h * d, krow = static_cast<size_t>(r) * n_kv * d;
  const size_t crow = (static_cast<size_t>(seq) * capacity + pos) * n_kv * d;
  for (int idx = threadIdx.x; idx < n_h * d; idx += blockDim.x) {
    const int e = idx % d, base = idx - e;
    q_out[qrow + idx] = __float2bfloat16_rn(rope_elem(q_in + qrow + base, e, half, rd, cs[0], cs[1]));
  }
  for (int idx = threadIdx.x; idx < n_kv * d; idx += blockDim.x) {
    const int e = idx % d, base = idx - e;
    k_cache[crow + idx] = __float2bfloat16_rn(rope_elem(k_in + krow + base, e, half, rd, cs[0], cs[1]));
    v_cache[crow + idx] = v_in[krow + idx];
  }
}

// ---------------------------------------------------------------------------------------------------
// Small block helpers.
// ---------------------------------------------------------------------------------------------------
template <bool kMax>
__device__ __forceinline__ float block_reduce(float v, float* red /* [32] shared */) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, w) : v + w;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = (blockDim.x + 31) / 32;
  __syncthreads();  // red may still be read by a previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float r = red[0];
  for (int w = 1; w < nw; ++w) r = kMax ? fmaxf(r, red[w]) : r + red[w];
  return r;
}

// ---------------------------------------------------------------------------------------------------
// 2a. Prefill v1: one thread per (query row, head), two-pass exact softmax, fp32. Obviously right.
//     The head dim d is a run-time argument, 1 <= d <= kMaxD: q and the accumulator live in per-thread
//     arrays of kMaxD floats (local memory on the GPU; v1 is the yardstick, not the fast path).
// ---------------------------------------------------------------------------------------------------
template <int kMaxD>  // a template so that the header can be included by several TUs
__global__ void prefill_v1_kernel(const bf16* __restrict__ q, const bf16* __restrict__ kc, const bf16* __restrict__ vc,
                                  bf16* __restrict__ o, int T, int past, int n_h, int n_kv, int d, float scale) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= T * n_h) return;
  const int i = idx / n_h, h = idx % n_h, g = h / (n_h / n_kv);
  const size_t ldq = static_cast<size_t>(n_h) * d, ldkv = static_cast<size_t>(n_kv) * d;
  float qf[kMaxD], acc[kMaxD];
  for (int e = 0; e < d; ++e) {
    qf[e] = bf(q[i * ldq + h * d + e]);
    acc[e] = 0.0f;
  }
  const int last = past + i;
  float m = -INFINITY;
  for (int j = 0; j <= last; ++j) {
    const bf16* kr = kc + j * ldkv + g * d;
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s += qf[e] * bf(kr[e]);
    m = fmaxf(m, s * scale);
  }
  float l = 0.0f;
  for (int j = 0; j <= last; ++j) {
    const bf16* kr = kc + j * ldkv + g * d;
    const bf16* vr = vc + j * ldkv + g * d;
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s += qf[e] * bf(kr[e]);
    const float p = expf(s * scale - m);
    l += p;
    for (int e = 0; e < d; ++e) acc[e] += p * bf(vr[e]);
  }
  for (int e = 0; e < d; ++e) o[i * ldq + h * d + e] = __float2bfloat16_rn(acc[e] / l);
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces of the tensor-core kernels (one warp = 16 query rows; mma.m16n8k16 fragments).
// ---------------------------------------------------------------------------------------------------
struct Fa {
  static constexpr int kBN = 64;    // keys per tile
  static constexpr int kPad = 8;    // row stride D+8 elements: 16-B aligned rows, no ldmatrix bank conflicts
  static constexpr int kThreads = 128;
};

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  uint32_t u;
  memcpy(&u, &v, 4);
  return u;
}

// cp.async of `rows` rows of D bf16 (row r from src + row_index(r) * ld), zero-filling invalid rows.
template <int D, int kRows, int kThreads = Fa::kThreads>
__device__ __forceinline__ void load_rows(bf16* dst, const bf16* src, size_t ld, int first_row, int valid_rows) {
  constexpr int kChunks = kRows * D / 8, kPerRow = D / 8, kStride = D + Fa::kPad;
#pragma unroll
  for (int c = threadIdx.x; c < kChunks; c += kThreads) {
    const int row = c / kPerRow, col = c % kPerRow * 8;
    const bool ok = row < valid_rows;
    const bf16* s = src + (ok ? static_cast<size_t>(first_row + row) * ld : 0) + col;
    mm::gpu::cp_async_16_zfill(dst + row * kStride + col, s, ok ? 16u : 0u);
  }
}

// S[16 x 8*kN] += Q[16 x D] K^T for the kN n8 tiles of K rows key0.. (K tile in smem, stride D+8).
template <int D, int kN>
__device__ __forceinline__ void qk_tile(float (&s)[kN][4], const uint32_t (&qf)[D / 16][4], const bf16* sk, int key0) {
  constexpr int kStride = D + Fa::kPad;
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int j = 0; j < kN; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j][e] = 0.0f;
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks)
#pragma unroll
    for (int j = 0; j < kN; j += 2) {
      uint32_t r[4];
      mm::gpu::ldmatrix_x4(r, sk + (key0 + j * 8 + lane % 8 + lane / 16 * 8) * kStride + ks * 16 + (lane / 8) % 2 * 8);
      mm::gpu::mma_m16n8k16_bf16_x2(s[j], s[j + 1], qf[ks], r);
    }
}

// Online softmax update of one warp's 16 rows (this thread: rows g and g+8, i.e. r = 0, 1). s holds
// raw scores (masked ones -inf) and becomes p = exp2(s*scale_log2 - m). Returns the factors that
// rescale the previous accumulators.
template <int kN>
__device__ __forceinline__ void online_softmax(float (&s)[kN][4], float (&m)[2], float (&l)[2], float (&alpha)[2],
                                               float scale_log2) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float mx = -INFINITY;
#pragma unroll
    for (int j = 0; j < kN; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m[r], mx * scale_log2);
    const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with no valid key yet
    alpha[r] = exp2f(m[r] - m_use);
    m[r] = m_new;
    float rs = 0.0f;
#pragma unroll
    for (int j = 0; j < kN; ++j)
#pragma unroll
      for (int e = 2 * r; e < 2 * r + 2; ++e) {
        const float p = exp2f(s[j][e] * scale_log2 - m_use);
        s[j][e] = p;
        rs += p;
      }
    l[r] = l[r] * alpha[r] + rs;  // this thread's partial row sum; the quad is summed at the end
  }
}

__device__ __forceinline__ float bf16_residual(float x) { return x - __bfloat162float(__float2bfloat16_rn(x)); }

// O[16 x D] += P[16 x 16*kK] V[keys key0.., D]; P from the S fragments (two n8 tiles = one k16 A tile),
// rounded to bf16 as FlashAttention does. kSplitP: P = bf16(P) + bf16(P - bf16(P)), two MMAs per tile,
// which makes P's rounding negligible (~2^-17 relative) for the memory-bound decode where MMAs are free.
template <int D, int kK, bool kSplitP = false>
__device__ __forceinline__ void pv_tile(float (&acc)[D / 8][4], const float (&p)[2 * kK][4], const bf16* sv, int key0) {
  constexpr int kStride = D + Fa::kPad;
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int kk = 0; kk < kK; ++kk) {
    const uint32_t a[4] = {pack_bf16x2(p[2 * kk][0], p[2 * kk][1]), pack_bf16x2(p[2 * kk][2], p[2 * kk][3]),
                           pack_bf16x2(p[2 * kk + 1][0], p[2 * kk + 1][1]),
                           pack_bf16x2(p[2 * kk + 1][2], p[2 * kk + 1][3])};
    uint32_t a_lo[4] = {0, 0, 0, 0};
    if constexpr (kSplitP) {
      a_lo[0] = pack_bf16x2(bf16_residual(p[2 * kk][0]), bf16_residual(p[2 * kk][1]));
      a_lo[1] = pack_bf16x2(bf16_residual(p[2 * kk][2]), bf16_residual(p[2 * kk][3]));
      a_lo[2] = pack_bf16x2(bf16_residual(p[2 * kk + 1][0]), bf16_residual(p[2 * kk + 1][1]));
      a_lo[3] = pack_bf16x2(bf16_residual(p[2 * kk + 1][2]), bf16_residual(p[2 * kk + 1][3]));
    }
#pragma unroll
    for (int dn = 0; dn < D / 8; dn += 2) {
      uint32_t r[4];
      mm::gpu::ldmatrix_x4_trans(r, sv + (key0 + kk * 16 + lane % 16) * kStride + dn * 8 + lane / 16 * 8);
      if constexpr (kSplitP) mm::gpu::mma_m16n8k16_bf16_x2(acc[dn], acc[dn + 1], a_lo, r);
      mm::gpu::mma_m16n8k16_bf16_x2(acc[dn], acc[dn + 1], a, r);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// 2b. Prefill v2/v3: FlashAttention-2 style. Block = kWarps warps (v2: 4, v3: 8) = 16*kWarps query rows
//     of one head, a warp per 16 rows; K/V tiles of 64 keys, cp.async double buffered; QK^T and PV on mma.sync m16n8k16 (bf16 in, fp32 accumulate);
//     online softmax in fp32 (exp2 with the scale folded in). Heavy (late) row tiles are scheduled first.
//     Dynamic shared memory: (16*kWarps + 4*64) * (D+8) * 2 bytes. v3 halves the K/V smem fill and
//     L2 traffic per FLOP at the cost of one resident block per SM (d = 128); pick by measurement.
// ---------------------------------------------------------------------------------------------------
template <int D, int kWarps_ = 4>
struct PrefillFa2 {
  static constexpr int kWarps = kWarps_, kThreads = 32 * kWarps, kBM = 16 * kWarps, kBN = Fa::kBN;
  static constexpr int kStride = D + Fa::kPad;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kBM + 4 * kBN) * kStride * sizeof(bf16);
};

template <int D, int kWarps>
__global__ void __launch_bounds__(32 * kWarps)
    prefill_fa2_kernel(const bf16* __restrict__ q, const bf16* __restrict__ kc, const bf16* __restrict__ vc,
                       bf16* __restrict__ o, int T, int past, int n_h, int n_kv, float scale_log2) {
  using C = PrefillFa2<D, kWarps>;
  constexpr int kBM = C::kBM, kBN = C::kBN, kStride = C::kStride, kThr = C::kThreads;
  MM_SHARED_DYN(bf16, smem);
  bf16* sq = smem;
  bf16* sk = sq + kBM * kStride;  // [2][kBN][kStride]
  bf16* sv = sk + 2 * kBN * kStride;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int mt = gridDim.x - 1 - blockIdx.x;  // longest rows first
  const int h = blockIdx.y, g = h / (n_h / n_kv);
  const int m0 = mt * kBM;
  const size_t ldq = static_cast<size_t>(n_h) * D, ldkv = static_cast<size_t>(n_kv) * D;
  const int kv_end = past + min(m0 + kBM, T);  // keys this block needs: 0..kv_end-1
  const int n_tiles = (kv_end + kBN - 1) / kBN;
  const bf16* kg = kc + g * D;
  const bf16* vg = vc + g * D;

  load_rows<D, kBM, kThr>(sq, q + h * D, ldq, m0, T - m0);
  load_rows<D, kBN, kThr>(sk, kg, ldkv, 0, kv_end);
  load_rows<D, kBN, kThr>(sv, vg, ldkv, 0, kv_end);
  mm::gpu::cp_async_commit();

  uint32_t qf[D / 16][4];
  float acc[D / 8][4];
#pragma unroll
  for (int dn = 0; dn < D / 8; ++dn)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[dn][e] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int row_in_warp0 = lane / 4;  // fragment rows g and g+8
  for (int t = 0; t < n_tiles; ++t) {
    const int st = t & 1;
    if (t + 1 < n_tiles) {
      const int n1 = (t + 1) * kBN;
      load_rows<D, kBN, kThr>(sk + (st ^ 1) * kBN * kStride, kg, ldkv, n1, kv_end - n1);
      load_rows<D, kBN, kThr>(sv + (st ^ 1) * kBN * kStride, vg, ldkv, n1, kv_end - n1);
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
    qk_tile<D, kBN / 8>(s, qf, sk + st * kBN * kStride, 0);
    const int n0 = t * kBN;
    if (n0 + kBN - 1 > past + m0) {  // diagonal or tail tile: causal / length mask
#pragma unroll
      for (int j = 0; j < kBN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int qi = m0 + warp * 16 + row_in_warp0 + 8 * (e >> 1);
          const int key = n0 + j * 8 + 2 * (lane % 4) + (e & 1);
          if (key > past + qi || key >= kv_end) s[j][e] = -INFINITY;
        }
    }
    float alpha[2];
    online_softmax<kBN / 8>(s, m, l, alpha, scale_log2);
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) {
      acc[dn][0] *= alpha[0];
      acc[dn][1] *= alpha[0];
      acc[dn][2] *= alpha[1];
      acc[dn][3] *= alpha[1];
    }
    pv_tile<D, kBN / 16>(acc, s, sv + st * kBN * kStride, 0);
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
    const int qi = m0 + warp * 16 + row_in_warp0 + 8 * r;
    if (qi >= T) continue;
    bf16* orow = o + qi * ldq + h * D + 2 * (lane % 4);
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn)
      *reinterpret_cast<__nv_bfloat162*>(orow + dn * 8) =
          __floats2bfloat162_rn(acc[dn][2 * r] * inv[r], acc[dn][2 * r + 1] * inv[r]);
  }
}

// ---------------------------------------------------------------------------------------------------
// 3a. Decode v1: one block per (head, sequence), no splits. Scores go to a global scratch row
//     [capacity] fp32; pass 1 scores + block max, pass 2 exp + block sum, pass 3 one thread per dim.
//     The head dim d is a run-time argument, 1 <= d <= kMaxD (the shared q row is sized for kMaxD).
// ---------------------------------------------------------------------------------------------------
template <int kMaxD>  // a template so that the header can be included by several TUs
__global__ void decode_v1_kernel(const bf16* __restrict__ q, const bf16* __restrict__ kc, const bf16* __restrict__ vc,
                                 const int* __restrict__ lens, bf16* __restrict__ o, float* __restrict__ scratch,
                                 int n_h, int n_kv, int d, int capacity, float scale) {
  MM_SHARED(float, sq, [kMaxD]);
  MM_SHARED(float, red, [32]);
  const int h = blockIdx.x, b = blockIdx.y, g = h / (n_h / n_kv);
  const int len = lens[b];
  const size_t ldq = static_cast<size_t>(n_h) * d, ldkv = static_cast<size_t>(n_kv) * d;
  const bf16* kb = kc + static_cast<size_t>(b) * capacity * ldkv + g * d;
  const bf16* vb = vc + static_cast<size_t>(b) * capacity * ldkv + g * d;
  float* sc = scratch + (static_cast<size_t>(b) * n_h + h) * capacity;
  for (int e = threadIdx.x; e < d; e += blockDim.x) sq[e] = bf(q[b * ldq + h * d + e]);
  __syncthreads();
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    float s = 0.0f;
    for (int e = 0; e < d; ++e) s += sq[e] * bf(kb[j * ldkv + e]);
    s *= scale;
    sc[j] = s;
    mx = fmaxf(mx, s);
  }
  mx = block_reduce<true>(mx, red);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    const float p = expf(sc[j] - mx);
    sc[j] = p;
    sum += p;
  }
  sum = block_reduce<false>(sum, red);  // its barriers also publish sc[] to the block
  for (int e = threadIdx.x; e < d; e += blockDim.x) {
    float a = 0.0f;
    for (int j = 0; j < len; ++j) a += sc[j] * bf(vb[j * ldkv + e]);
    o[b * ldq + h * d + e] = __float2bfloat16_rn(a / sum);
  }
}

// ---------------------------------------------------------------------------------------------------
// 3b. Decode v2: split-KV (flash-decoding) on tensor cores. Block = (split, kv head, sequence): the
//     group's G = n_h/n_kv query heads (G <= 16) are the 16 rows of one mma A tile, so K/V are read
//     once per group. K/V tiles of 64 keys (cp.async double buffered); warp w takes keys 16w..16w+15 of
//     every tile with its own online-softmax state; the 4 warp states are merged in shared memory and
//     the block writes one partial (o normalised, lse in log2 units) per (sequence, head, split).
//     decode_combine_kernel merges the splits. P V uses the split-P (hi + lo bf16) MMA: decode is
//     bandwidth-bound, so the extra MMAs are free and P's bf16 rounding disappears. Dynamic shared memory: (16 + 4*64) * (D+8) * 2 bytes.
// ---------------------------------------------------------------------------------------------------
template <int D>
struct DecodeSplit {
  static constexpr int kBN = Fa::kBN, kStride = D + Fa::kPad, kRows = 16;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kRows + 4 * kBN) * kStride * sizeof(bf16);
  static_assert(4 * 16 * (D + 1) * sizeof(float) + 2 * 4 * 16 * sizeof(float) <= kSmemBytes, "merge area");
};

template <int D>
__global__ void __launch_bounds__(Fa::kThreads)
    decode_split_kernel(const bf16* __restrict__ q, const bf16* __restrict__ kc, const bf16* __restrict__ vc,
                        const int* __restrict__ lens, float* __restrict__ part_o, float* __restrict__ part_lse,
                        int n_h, int n_kv, int capacity, int split_size, int max_splits, float scale_log2) {
  using C = DecodeSplit<D>;
  constexpr int kBN = C::kBN, kStride = C::kStride;
  MM_SHARED_DYN(bf16, smem);
  bf16* sq = smem;
  bf16* sk = sq + C::kRows * kStride;
  bf16* sv = sk + 2 * kBN * kStride;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sp = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int G = n_h / n_kv;
  const int len = lens[b];
  const int k0 = sp * split_size;
  if (k0 >= len) return;  // the whole block: this sequence is shorter
  const int k1 = min(len, k0 + split_size), n_keys = k1 - k0;
  const int n_tiles = (n_keys + kBN - 1) / kBN;
  const size_t ldq = static_cast<size_t>(n_h) * D, ldkv = static_cast<size_t>(n_kv) * D;
  const bf16* kg = kc + (static_cast<size_t>(b) * capacity + k0) * ldkv + kvh * D;
  const bf16* vg = vc + (static_cast<size_t>(b) * capacity + k0) * ldkv + kvh * D;

  load_rows<D, C::kRows>(sq, q + b * ldq + kvh * G * D, D, 0, G);
  load_rows<D, kBN>(sk, kg, ldkv, 0, n_keys);
  load_rows<D, kBN>(sv, vg, ldkv, 0, n_keys);
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
      load_rows<D, kBN>(sk + (st ^ 1) * kBN * kStride, kg, ldkv, n1, n_keys - n1);
      load_rows<D, kBN>(sv + (st ^ 1) * kBN * kStride, vg, ldkv, n1, n_keys - n1);
    }
    mm::gpu::cp_async_commit();
    mm::gpu::cp_async_wait<1>();
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks)
        mm::gpu::ldmatrix_x4(qf[ks], sq + (lane % 16) * kStride + ks * 16 + lane / 16 * 8);
    }
    float s[2][4];
    qk_tile<D, 2>(s, qf, sk + st * kBN * kStride, warp * 16);
    const int n0 = t * kBN + warp * 16;
    if (n0 + 16 > n_keys) {
#pragma unroll
      for (int j = 0; j < 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (n0 + j * 8 + 2 * (lane % 4) + (e & 1) >= n_keys) s[j][e] = -INFINITY;
    }
    float alpha[2];
    online_softmax<2>(s, m, l, alpha, scale_log2);
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) {
      acc[dn][0] *= alpha[0];
      acc[dn][1] *= alpha[0];
      acc[dn][2] *= alpha[1];
      acc[dn][3] *= alpha[1];
    }
    pv_tile<D, 1, true>(acc, s, sv + st * kBN * kStride, warp * 16);
    __syncthreads();
  }
  // Merge the 4 warps' states (the K/V area is free now: every warp passed the last barrier).
  float* cm = reinterpret_cast<float*>(smem);  // [4][16]
  float* cl = cm + 4 * 16;                      // [4][16]
  float* co = cl + 4 * 16;                      // [4][16][D+1]
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float ls = l[r];
    ls += __shfl_xor_sync(0xffffffffu, ls, 1);
    ls += __shfl_xor_sync(0xffffffffu, ls, 2);
    const int row = lane / 4 + 8 * r;
    if (lane % 4 == 0) {
      cm[warp * 16 + row] = m[r];
      cl[warp * 16 + row] = ls;
    }
#pragma unroll
    for (int dn = 0; dn < D / 8; ++dn) {
      co[(warp * 16 + row) * (D + 1) + dn * 8 + 2 * (lane % 4)] = acc[dn][2 * r];
      co[(warp * 16 + row) * (D + 1) + dn * 8 + 2 * (lane % 4) + 1] = acc[dn][2 * r + 1];
    }
  }
  __syncthreads();
  const int n_splits_total = max_splits;
  for (int idx = threadIdx.x; idx < G * D; idx += blockDim.x) {
    const int row = idx / D, col = idx % D;
    float M = -INFINITY;
    for (int w = 0; w < 4; ++w) M = fmaxf(M, cm[w * 16 + row]);
    float L = 0.0f, O = 0.0f;
    for (int w = 0; w < 4; ++w) {
      const float f = exp2f(cm[w * 16 + row] - M);  // -inf (a warp without keys) -> 0
      L += f * cl[w * 16 + row];
      O += f * co[(w * 16 + row) * (D + 1) + col];
    }
    const size_t slot = (static_cast<size_t>(b) * n_h + kvh * G + row) * n_splits_total + sp;
    part_o[slot * D + col] = O / L;
    if (col == 0) part_lse[slot] = M + log2f(L);
  }
}

// Merges the ceil(len/split_size) partials of each (sequence, head). Block = D threads.
template <int D>
__global__ void decode_combine_kernel(const float* __restrict__ part_o, const float* __restrict__ part_lse,
                                      const int* __restrict__ lens, bf16* __restrict__ o, int n_h, int split_size,
                                      int max_splits) {
  const int h = blockIdx.x, b = blockIdx.y, e = threadIdx.x;
  const int ns = (lens[b] + split_size - 1) / split_size;
  const size_t base = (static_cast<size_t>(b) * n_h + h) * max_splits;
  float M = -INFINITY;
  for (int s = 0; s < ns; ++s) M = fmaxf(M, part_lse[base + s]);
  float L = 0.0f, O = 0.0f;
  for (int s = 0; s < ns; ++s) {
    const float f = exp2f(part_lse[base + s] - M);
    L += f;
    O += f * part_o[(base + s) * D + e];
  }
  o[(static_cast<size_t>(b) * n_h + h) * D + e] = __float2bfloat16_rn(O / L);
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::softmax_attention
