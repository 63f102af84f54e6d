// Row-wise RMSNorm kernels (docs/semantics/text-01-numerics.md#rmsnorm) in three modes, shared with the
// lightning output path (optimized/lightning_norm_gate):
//   kPlain:    n = bf16(w * bf16(x * inv))                         inv = 1/sqrt(mean(x^2) + eps)
//   kResidual: y = bf16(bf16(r*alpha) + bf16(a*beta)); n = RMSNorm(y)   (text-01-numerics.md#deepnorm-residual)
//              the caller passes r = the previous norm output (postnorm) or the raw input (prenorm)
//              and alpha/beta as fp32 (the official opmath: fl32(3.5565588200778455)).
//   kGate:     out = bf16(bf16(sigmoid(g)) * RMSNorm(o))            (text-01-numerics.md#lightning-output)
// Statistics in fp32; 1/sqrtf (IEEE sqrt and division, as the reference) rather than rsqrtf.
// Versions:
//   v1: one thread per row, a direct port of the reference loops (two passes over the row).
//   v2: one block per row; 16-byte loads (8 bf16) cached in registers (packed bf16) when the row fits
//       (kVecs vectors per thread), warp-shuffle + shared-memory reduction; rows whose width is not a
//       multiple of 8 take a scalar strided path.
//   v3: one warp per row for small rows (H % 8 == 0, H <= 32 * 8 * kMaxV3Vecs = 2048): 16-byte loads
//       cached in registers, warp-shuffle reduction only (no shared memory, no block barrier), 8 rows
//       per 256-thread block; wider rows use v2.
#pragma once
#include "optimized/common/bf16x8.cuh"
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace rownorm {

enum Mode : int { kPlain = 0, kResidual = 1, kGate = 2 };

__device__ __forceinline__ float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }
__device__ __forceinline__ float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }

// The pre-norm value y of one element (x = r or o, b = a or unused).
template <int kMode>
__device__ __forceinline__ float pre(float x, float b, float alpha, float beta) {
  if constexpr (kMode == kResidual) return rbf(rbf(x * alpha) + rbf(b * beta));
  else return x;
}
// The stored output of one element given y, the row's inv, weight w and the gate input g.
template <int kMode>
__device__ __forceinline__ float post(float y, float inv, float w, float g) {
  const float n = rbf(w * rbf(y * inv));
  if constexpr (kMode == kGate) return rbf(rbf(sigmoid_f(g)) * n);
  else return n;
}

// ---- v1: one thread per row ----------------------------------------------------------------------
// x: r (kResidual), x (kPlain), o (kGate); b: a (kResidual), g (kGate), unused (kPlain).
// y_out: the residual sum (kResidual only); n_out: the normed (and gated) output.
template <int kMode>
__global__ void rownorm_v1_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ b,
                                  const __nv_bfloat16* __restrict__ w, __nv_bfloat16* __restrict__ y_out,
                                  __nv_bfloat16* __restrict__ n_out, int rows, int H, float alpha, float beta,
                                  float eps) {
  const int row = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (row >= rows) return;
  const size_t base = static_cast<size_t>(row) * H;
  float ss = 0.0f;
  for (int j = 0; j < H; ++j) {
    const float y = pre<kMode>(bf(x[base + j]), kMode == kPlain ? 0.0f : bf(b[base + j]), alpha, beta);
    if constexpr (kMode == kResidual) y_out[base + j] = __float2bfloat16(y);
    ss += y * y;
  }
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(H) + eps);
  for (int j = 0; j < H; ++j) {
    const float y = pre<kMode>(bf(x[base + j]), kMode == kPlain ? 0.0f : bf(b[base + j]), alpha, beta);
    const float g = kMode == kGate ? bf(b[base + j]) : 0.0f;
    n_out[base + j] = __float2bfloat16(post<kMode>(y, inv, bf(w[j]), g));
  }
}

// ---- v2: one block per row -----------------------------------------------------------------------
template <int kThreads>
__device__ __forceinline__ float block_sum(float v) {
  constexpr int kWarps = kThreads / 32;
  MM_SHARED(float, partials, [kWarps]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) partials[warp] = v;
  __syncthreads();
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) s += partials[i];  // same order in every thread: identical bits
  return s;
}

using bf16x8::pack2;  // optimized/common/bf16x8.cuh
using bf16x8::pack8;
using bf16x8::unpack8;

// kVecs > 0: H % 8 == 0 and H / 8 <= kThreads * kVecs, 16-byte aligned rows; values stay in registers.
// kVecs == 0: any H, scalar strided loads, the second pass re-reads the inputs.
template <int kMode, int kThreads, int kVecs>
__global__ void __launch_bounds__(kThreads)
    rownorm_v2_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ b,
                      const __nv_bfloat16* __restrict__ w, __nv_bfloat16* __restrict__ y_out,
                      __nv_bfloat16* __restrict__ n_out, int H, float alpha, float beta, float eps) {
  const size_t base = static_cast<size_t>(blockIdx.x) * H;
  const int tid = static_cast<int>(threadIdx.x);
  float ss = 0.0f;
  if constexpr (kVecs > 0) {
    const int nv = H / 8;
    const uint4* xv = reinterpret_cast<const uint4*>(x + base);
    const uint4* bv = reinterpret_cast<const uint4*>(b + base);
    const uint4* wv = reinterpret_cast<const uint4*>(w);
    // y is bf16-exact in every mode (the input itself, or the rounded residual sum), so the row is
    // cached packed: 4 registers per 8 values.
    uint4 ycache[kVecs] = {};
    uint4 graw[kVecs] = {};
#pragma unroll
    for (int k = 0; k < kVecs; ++k) {
      const int i = tid + k * kThreads;
      if (i < nv) {
        const uint4 xr = xv[i];
        if constexpr (kMode == kResidual) {
          float xf[8], bfv[8], y[8];
          unpack8(xr, xf);
          unpack8(bv[i], bfv);
#pragma unroll
          for (int e = 0; e < 8; ++e) {
            y[e] = pre<kMode>(xf[e], bfv[e], alpha, beta);
            ss += y[e] * y[e];
          }
          ycache[k] = pack8(y);
          reinterpret_cast<uint4*>(y_out + base)[i] = ycache[k];
        } else {
          if constexpr (kMode == kGate) graw[k] = bv[i];
          float y[8];
          unpack8(xr, y);
#pragma unroll
          for (int e = 0; e < 8; ++e) ss += y[e] * y[e];
          ycache[k] = xr;
        }
      }
    }
    const float inv = 1.0f / sqrtf(block_sum<kThreads>(ss) / static_cast<float>(H) + eps);
#pragma unroll
    for (int k = 0; k < kVecs; ++k) {
      const int i = tid + k * kThreads;
      if (i < nv) {
        float y[8], wf[8], gf[8], o[8];
        unpack8(ycache[k], y);
        unpack8(wv[i], wf);
        if constexpr (kMode == kGate) unpack8(graw[k], gf);
#pragma unroll
        for (int e = 0; e < 8; ++e) o[e] = post<kMode>(y[e], inv, wf[e], kMode == kGate ? gf[e] : 0.0f);
        reinterpret_cast<uint4*>(n_out + base)[i] = pack8(o);
      }
    }
  } else {
    for (int j = tid; j < H; j += kThreads) {
      const float y = pre<kMode>(bf(x[base + j]), kMode == kResidual ? bf(b[base + j]) : 0.0f, alpha, beta);
      if constexpr (kMode == kResidual) y_out[base + j] = __float2bfloat16(y);
      ss += y * y;
    }
    const float inv = 1.0f / sqrtf(block_sum<kThreads>(ss) / static_cast<float>(H) + eps);
    for (int j = tid; j < H; j += kThreads) {
      const float y = pre<kMode>(bf(x[base + j]), kMode == kResidual ? bf(b[base + j]) : 0.0f, alpha, beta);
      const float g = kMode == kGate ? bf(b[base + j]) : 0.0f;
      n_out[base + j] = __float2bfloat16(post<kMode>(y, inv, bf(w[j]), g));
    }
  }
}

// ---- v3: one warp per row (small H) ---------------------------------------------------------------
constexpr int kMaxV3Vecs = 8;

template <int kMode, int kVecs>
__global__ void __launch_bounds__(256)
    rownorm_v3_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ b,
                      const __nv_bfloat16* __restrict__ w, __nv_bfloat16* __restrict__ y_out,
                      __nv_bfloat16* __restrict__ n_out, int rows, int H, float alpha, float beta, float eps) {
  const int row = static_cast<int>(blockIdx.x) * (static_cast<int>(blockDim.x) / 32) + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;  // the whole warp leaves together
  const size_t base = static_cast<size_t>(row) * H;
  const int nv = H / 8;
  const uint4* xv = reinterpret_cast<const uint4*>(x + base);
  const uint4* bv = reinterpret_cast<const uint4*>(b + base);
  const uint4* wv = reinterpret_cast<const uint4*>(w);
  uint4 ycache[kVecs] = {};
  uint4 graw[kVecs] = {};
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < kVecs; ++k) {
    const int i = lane + 32 * k;
    if (i < nv) {
      const uint4 xr = xv[i];
      float y[8];
      if constexpr (kMode == kResidual) {
        float xf[8], bfv[8];
        unpack8(xr, xf);
        unpack8(bv[i], bfv);
#pragma unroll
        for (int e = 0; e < 8; ++e) y[e] = pre<kMode>(xf[e], bfv[e], alpha, beta);
        ycache[k] = pack8(y);
        reinterpret_cast<uint4*>(y_out + base)[i] = ycache[k];
      } else {
        if constexpr (kMode == kGate) graw[k] = bv[i];
        unpack8(xr, y);
        ycache[k] = xr;
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) ss += y[e] * y[e];
    }
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(H) + eps);
#pragma unroll
  for (int k = 0; k < kVecs; ++k) {
    const int i = lane + 32 * k;
    if (i < nv) {
      float y[8], wf[8], gf[8], o[8];
      unpack8(ycache[k], y);
      unpack8(wv[i], wf);
      if constexpr (kMode == kGate) unpack8(graw[k], gf);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = post<kMode>(y[e], inv, wf[e], kMode == kGate ? gf[e] : 0.0f);
      reinterpret_cast<uint4*>(n_out + base)[i] = pack8(o);
    }
  }
}

}  // namespace rownorm
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
