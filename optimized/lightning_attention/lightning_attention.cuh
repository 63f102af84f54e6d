// Lightning attention kernels (docs/semantics/text-01-model.md#lightning-attention): per head with decay
// rate s (lambda = exp(-s)),
//   S_t = lambda S_{t-1} + k_t^T v_t,  o_t = q_t S_t   (S: rows = key dim, cols = value dim, fp32)
// Layouts and the host interface: lightning_attention_runner.h. Every decay exp(-s*n) is computed
// directly (never a ratio or a power of a rounded lambda, except the per-step lambda of the recurrence).
//   v1 (prefill + decode)  one thread per (sequence, head, value column): the exact token recurrence, the
//                          column S[:, c] in registers/local memory. fp32 throughout.
//   v2 (prefill)           the block algorithm (text-01-model.md#block-prefill) in shared-memory tiles,
//                          fp32 SIMT math; one CTA
//                          per (sequence, head, 32-column value slice) walks the blocks in order.
//   v3 (prefill)           the block algorithm on tensor cores: lightning_attention_mma.cuh (4- and 8-warp variants)
//   decode v2              one CTA per (sequence, head, column slice): float4 columns, rows split over the 8
//                          warps; every state element is read once and written once; partial dot products
//                          reduced in smem; the column split (1, 2 or 4 CTAs per head) fills the GPU at small batch.
// Numerics (v1, v2, decode): fp32 products and accumulation, no intermediate bf16 rounding (Q K^T, the KV update
// and the decode state stay fp32; more accurate than the official bf16 points); only o is stored as bf16.
// v3 rounds P and the decayed V to bf16 once each (see lightning_attention_mma.cuh).
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/lightning_attention/lightning_attention_runner.h"

namespace mm::lightning {
inline namespace MM_BACKEND_NS {

constexpr int kMaxD = 128;    // the block and tensor-core versions
constexpr int kMaxDV1 = 256;  // v1 (prefill and decode): one value column's state per thread, 1 KiB at 256

__device__ __forceinline__ float ld_bf16(const uint16_t* p) { return __bfloat162float(__ushort_as_bfloat16(*p)); }
__device__ __forceinline__ uint16_t to_bf16_bits(float x) { return __bfloat16_as_ushort(__float2bfloat16(x)); }

// ---- v1: token recurrence, one thread per value column ---------------------------------------------------
// grid (n_h, nb), block d threads.
__global__ void recurrent_v1_kernel(Args a) {
  const int h = blockIdx.x, n = blockIdx.y, c = threadIdx.x, d = a.d;
  const uint16_t* base = a.qkv + n * a.seq_stride_qkv + static_cast<long long>(h) * 3 * d;
  uint16_t* obase = a.o + n * a.seq_stride_o + static_cast<long long>(h) * d + c;
  float* st = a.state + (static_cast<long long>(n) * a.n_h + h) * d * d + c;
  float S[kMaxDV1];
  for (int i = 0; i < d; ++i) S[i] = st[static_cast<long long>(i) * d];
  const float lam = expf(-a.s[h]);
  for (int t = 0; t < a.T; ++t) {
    const uint16_t* row = base + t * a.ld_qkv;
    const float v = ld_bf16(row + 2 * d + c);
    float acc = 0.0f;
    for (int i = 0; i < d; ++i) {
      S[i] = lam * S[i] + ld_bf16(row + d + i) * v;
      acc += ld_bf16(row + i) * S[i];
    }
    obase[t * a.ld_o] = to_bf16_bits(acc);
  }
  for (int i = 0; i < d; ++i) st[static_cast<long long>(i) * d] = S[i];
}

// ---- v2: block algorithm, SIMT fp32 ----------------------------------------------------------------------
struct V2 {
  static constexpr int kThreads = 256;
  static constexpr int kDV = 32;     // value columns per CTA
  static constexpr int kChunk = 16;  // query rows per inner step
  // dynamic shared memory: K [B][d] bf16, V [B][32] bf16, S [d][32] f32, Q [16][d] f32, P [16][B] f32, E [B+1] f32
  static size_t smem_bytes(int d, int B) {
    return size_t(B) * d * 2 + size_t(B) * kDV * 2 + size_t(d) * kDV * 4 + size_t(kChunk) * d * 4 +
           size_t(kChunk) * B * 4 + size_t(B + 1) * 4 + 16;
  }
};

// grid (d/32, n_h, nb), block 256.
__global__ void __launch_bounds__(V2::kThreads) block_v2_kernel(Args a) {
  MM_SHARED_DYN(unsigned char, smem);
  const int d = a.d, B = a.block, h = blockIdx.y, n = blockIdx.z, c0 = blockIdx.x * V2::kDV;
  const int tid = threadIdx.x;
  constexpr int DV = V2::kDV, C = V2::kChunk, NT = V2::kThreads;
  float* S = reinterpret_cast<float*>(smem);  // [d][DV]
  float* Q = S + d * DV;                      // [C][d]
  float* P = Q + C * d;                       // [C][B]
  float* E = P + C * B;                       // [B+1]: E[n] = exp(-s n)
  uint16_t* K = reinterpret_cast<uint16_t*>(E + B + 1);  // [B][d]
  uint16_t* V = K + B * d;                                // [B][DV]

  const uint16_t* base = a.qkv + n * a.seq_stride_qkv + static_cast<long long>(h) * 3 * d;
  uint16_t* obase = a.o + n * a.seq_stride_o + static_cast<long long>(h) * d + c0;
  float* st = a.state + (static_cast<long long>(n) * a.n_h + h) * d * d + c0;
  const float s = a.s[h];
  for (int idx = tid; idx < d * DV; idx += NT) S[idx] = st[static_cast<long long>(idx / DV) * d + idx % DV];
  for (int j = tid; j <= B; j += NT) E[j] = expf(-s * static_cast<float>(j));

  for (int si = 0; si < a.T; si += B) {
    const int m = min(B, a.T - si);
    __syncthreads();  // the previous block's state update has read K and V
    for (int idx = tid; idx < m * d; idx += NT) K[idx] = base[(si + idx / d) * a.ld_qkv + d + idx % d];
    for (int idx = tid; idx < m * DV; idx += NT) V[idx] = base[(si + idx / DV) * a.ld_qkv + 2 * d + c0 + idx % DV];
    for (int a0 = 0; a0 < m; a0 += C) {
      const int ca = min(C, m - a0), nk = a0 + ca;
      for (int idx = tid; idx < ca * d; idx += NT) Q[idx] = ld_bf16(base + (si + a0 + idx / d) * a.ld_qkv + idx % d);
      __syncthreads();  // Q (and, on the first chunk, K and V) are in place
      // P[r][b] = (q_{a0+r} . k_b) exp(-s (a0+r-b)) for b <= a0+r: intra-block scores, fp32
      for (int idx = tid; idx < ca * nk; idx += NT) {
        const int r = idx / nk, b = idx % nk, ga = a0 + r;
        float p = 0.0f;
        if (b <= ga) {
          for (int i = 0; i < d; ++i) p += Q[r * d + i] * ld_bf16(K + b * d + i);
          p *= E[ga - b];
        }
        P[r * B + b] = p;
      }
      __syncthreads();
      for (int idx = tid; idx < ca * DV; idx += NT) {
        const int r = idx / DV, c = idx % DV, ga = a0 + r;
        float inter = 0.0f, intra = 0.0f;
        for (int i = 0; i < d; ++i) inter += Q[r * d + i] * S[i * DV + c];
        for (int b = 0; b <= ga; ++b) intra += P[r * B + b] * ld_bf16(V + b * DV + c);
        obase[(si + ga) * a.ld_o + c] = to_bf16_bits(E[ga + 1] * inter + intra);
      }
      __syncthreads();  // Q, P and the old S are no longer read
    }
    // KV <- exp(-s m) KV + (K * exp(-s (m-1-b)))^T V, fp32
    for (int idx = tid; idx < d * DV; idx += NT) {
      const int i = idx / DV, c = idx % DV;
      float u = 0.0f;
      for (int b = 0; b < m; ++b) u += E[m - 1 - b] * ld_bf16(K + b * d + i) * ld_bf16(V + b * DV + c);
      S[idx] = E[m] * S[idx] + u;
    }
  }
  __syncthreads();
  for (int idx = tid; idx < d * DV; idx += NT) st[static_cast<long long>(idx / DV) * d + idx % DV] = S[idx];
}

// ---- decode v2: float4 columns, rows split over the CTA, optional column split over CTAs -------------
// grid (n_h, nb, kSplit), block 256; CTA z owns value columns [z D/kSplit, (z+1) D/kSplit) (o_c needs only
// column c of the state, so column slices need no cross-CTA reduction). D in {32, 64, 128}, kSplit <= D/32.
// Every state element is read once and written once; all of a thread's loads are issued before any use.
template <int D, int kSplit>
__global__ void __launch_bounds__(256) decode_v2_kernel(Args a) {
  constexpr int kColsCta = D / kSplit;
  constexpr int kCols = kColsCta / 4;      // threads per row (float4 each)
  constexpr int kGroups = 256 / kCols;     // row groups
  constexpr int kRows = D / kGroups;       // rows per thread
  static_assert(kRows >= 1 && D % kGroups == 0, "decode v2: unsupported split");
  MM_SHARED(float, part, [kGroups][kColsCta]);
  MM_SHARED(float, qk, [2][D]);
  const int h = blockIdx.x, n = blockIdx.y, c0 = blockIdx.z * kColsCta, tid = threadIdx.x;
  const int cq = tid % kCols, g = tid / kCols;
  const uint16_t* row = a.qkv + n * a.seq_stride_qkv + static_cast<long long>(h) * 3 * D;
  float* st = a.state + (static_cast<long long>(n) * a.n_h + h) * D * D + c0;
  if (tid < D) {
    qk[0][tid] = ld_bf16(row + tid);
    qk[1][tid] = ld_bf16(row + D + tid);
  }
  float v[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) v[e] = ld_bf16(row + 2 * D + c0 + 4 * cq + e);
  const float lam = expf(-a.s[h]);
  float4 x[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r)  // all loads first: kRows independent 16-byte loads in flight
    x[r] = reinterpret_cast<const float4*>(st + static_cast<long long>(g * kRows + r) * D)[cq];
  __syncthreads();  // q, k in smem
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int i = g * kRows + r;
    const float ki = qk[1][i], qi = qk[0][i];
    x[r].x = lam * x[r].x + ki * v[0];
    x[r].y = lam * x[r].y + ki * v[1];
    x[r].z = lam * x[r].z + ki * v[2];
    x[r].w = lam * x[r].w + ki * v[3];
    acc[0] += qi * x[r].x;
    acc[1] += qi * x[r].y;
    acc[2] += qi * x[r].z;
    acc[3] += qi * x[r].w;
    reinterpret_cast<float4*>(st + static_cast<long long>(i) * D)[cq] = x[r];
  }
#pragma unroll
  for (int e = 0; e < 4; ++e) part[g][4 * cq + e] = acc[e];
  __syncthreads();
  if (tid < kColsCta) {
    float o = 0.0f;
    for (int j = 0; j < kGroups; ++j) o += part[j][tid];
    a.o[n * a.seq_stride_o + static_cast<long long>(h) * D + c0 + tid] = to_bf16_bits(o);
  }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::lightning
