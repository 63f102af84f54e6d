// Row-wise LayerNorm with weight and bias (docs/semantics/vl-01-vision.md#layernorm, #layer-norms) of the
// MiniMax-VL-01 vision tower, in two modes:
//   kPlain:    n = LayerNorm_{w,b}(x)                         (pre_layrnorm, layer_norm1 of the first layer)
//   kResidual: y = bf16(r + a);  n = LayerNorm_{w,b}(y)       (#residual-adds: fp32 sum, one rounding,
//              fused with the next layer's norm: h' = h + Attn(..) then LN2(h'), or out = h' + MLP(..)
//              then the next layer's LN1)
// over rows of width H, every tensor bf16 ([rows, H]; w, b [H]). The ref-bf16 arithmetic
// (ref::layer_norm<BF16>, reference/vision_encoder.cpp), all in fp32:
//   mean = fl(sum_j y_j) / H                    a plain sum first,
//   ss   = sum_j (y_j - mean) * (y_j - mean)    then the squared deviations (two passes, not E[y^2] - mean^2,
//                                               which cancels catastrophically on rows with a large mean)
//   rstd = 1 / sqrt(ss / H + eps)               IEEE sqrt and division (not rsqrtf)
//   n_j  = bf16( w_j * (rstd * (y_j - mean)) + b_j )   torch's association, one rounding at the end
// Each product and sum is rounded separately (__fmul_rn / __fadd_rn: nvcc would otherwise contract
// w * t + b and ss + d * d into FMAs, which round once and give other bits than the reference). The
// host build of the same code runs with -ffp-contract=off, so both builds do the reference's operations.
// Versions:
//   v1: one thread per row, a direct port of the reference loops (three sequential passes over the row):
//       the reference's summation order as well, so its outputs are the ref-bf16 bits.
//   v2: 16-byte loads (8 bf16) cached in registers (the row is bf16-exact: packed, 4 registers per 8
//       values), two reductions (sum, then squared deviations from the cached values) in a fixed tree
//       order: per-thread sequential, xor-butterfly within the warp (commutative adds: every lane gets
//       the same bits), then the warp partials in index order. One warp per row (8 rows per 256-thread
//       block, shuffles only) when H % 8 == 0 and H <= 32 * 8 * kMaxWarpVecs = 1024 (the ViT width);
//       one 256-thread block per row for H % 8 == 0 up to 256 * 8 * kMaxBlockVecs = 8192; a scalar
//       strided block-per-row path otherwise (any H, unaligned pointers). The fp32 sums run in another
//       order than the reference's, so outputs may differ from ref-bf16 where a value lies within the
//       sums' rounding error of a bf16 rounding boundary (tests/optimized/layer_norm_test.cpp bounds it).
#pragma once
#include "optimized/common/bf16x8.cuh"
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace layer_norm {

enum Mode : int { kPlain = 0, kResidual = 1 };

constexpr int kMaxWarpVecs = 4;   // warp per row: up to 4 vectors (32 values) per lane, H <= 1024
constexpr int kMaxBlockVecs = 4;  // block per row (256 threads): H <= 8192 cached in registers

__device__ __forceinline__ float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }

// The value normed: the input itself (kPlain), or the residual sum bf16(r + a) (kResidual; x = r, b = a).
template <int kMode>
__device__ __forceinline__ float pre(float x, float a) {
  if constexpr (kMode == kResidual) return rbf(__fadd_rn(x, a));
  else return x;
}
// The squared deviation (y - mean)^2, both operations rounded (no FMA into the running sum).
__device__ __forceinline__ float sqdev(float y, float mean) {
  const float d = __fadd_rn(y, -mean);
  return __fmul_rn(d, d);
}
// The stored output w * (rstd * (y - mean)) + b in fp32, each operation rounded, before the bf16 store.
__device__ __forceinline__ float post(float y, float mean, float rstd, float w, float b) {
  return __fadd_rn(__fmul_rn(w, __fmul_rn(rstd, __fadd_rn(y, -mean))), b);
}
__device__ __forceinline__ float rstd_of(float ss, int H, float eps) {
  return 1.0f / sqrtf(ss / static_cast<float>(H) + eps);
}

// ---- v1: one thread per row ----------------------------------------------------------------------
// x: r (kResidual) or x (kPlain); a: the sub-layer output (kResidual only). y_out: the residual sum
// (kResidual only); n_out: the normed output. w, bias: [H].
template <int kMode>
__global__ void layer_norm_v1_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ a,
                                     const __nv_bfloat16* __restrict__ w, const __nv_bfloat16* __restrict__ bias,
                                     __nv_bfloat16* __restrict__ y_out, __nv_bfloat16* __restrict__ n_out, int rows,
                                     int H, float eps) {
  const int row = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (row >= rows) return;
  const size_t base = static_cast<size_t>(row) * H;
  auto y_at = [&](int j) { return pre<kMode>(bf(x[base + j]), kMode == kResidual ? bf(a[base + j]) : 0.0f); };
  float sum = 0.0f;
  for (int j = 0; j < H; ++j) {
    const float y = y_at(j);
    if constexpr (kMode == kResidual) y_out[base + j] = __float2bfloat16(y);
    sum += y;
  }
  const float mean = sum / static_cast<float>(H);
  float ss = 0.0f;
  for (int j = 0; j < H; ++j) ss = __fadd_rn(ss, sqdev(y_at(j), mean));
  const float rstd = rstd_of(ss, H, eps);
  for (int j = 0; j < H; ++j) n_out[base + j] = __float2bfloat16(post(y_at(j), mean, rstd, bf(w[j]), bf(bias[j])));
}

using bf16x8::pack2;  // optimized/common/bf16x8.cuh
using bf16x8::pack8;
using bf16x8::unpack8;

// Sum over the 32 lanes by an xor butterfly: lane i and lane i ^ o add the same two values (in either
// order: fp32 addition is commutative), so every lane ends with identical bits.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// Sum over the block: warp sums, then the kThreads / 32 partials in index order in every thread.
// `partials` is one shared array per reduction (the two reductions of a row do not share one, so no
// barrier is needed between the last read of one and the first write of the next).
template <int kThreads>
__device__ __forceinline__ float block_sum(float v, float* partials) {
  constexpr int kWarps = kThreads / 32;
  v = warp_sum(v);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) partials[warp] = v;
  __syncthreads();
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) s += partials[i];
  return s;
}

// Loads vector i of the row (8 values), computes the values normed (the residual sum stored to y_out in
// kResidual) and adds them to `sum` in element order; returns them packed (bf16-exact).
template <int kMode>
__device__ __forceinline__ uint4 load_row_vec(const __nv_bfloat16* x, const __nv_bfloat16* a, __nv_bfloat16* y_out,
                                              size_t base, int i, float& sum) {
  const uint4 xr = reinterpret_cast<const uint4*>(x + base)[i];
  float y[8];
  uint4 packed = xr;
  if constexpr (kMode == kResidual) {
    float xf[8], af[8];
    unpack8(xr, xf);
    unpack8(reinterpret_cast<const uint4*>(a + base)[i], af);
#pragma unroll
    for (int e = 0; e < 8; ++e) y[e] = pre<kMode>(xf[e], af[e]);
    packed = pack8(y);
    reinterpret_cast<uint4*>(y_out + base)[i] = packed;
  } else {
    unpack8(xr, y);
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) sum += y[e];
  return packed;
}
__device__ __forceinline__ void add_sqdev(const uint4& packed, float mean, float& ss) {
  float y[8];
  unpack8(packed, y);
#pragma unroll
  for (int e = 0; e < 8; ++e) ss = __fadd_rn(ss, sqdev(y[e], mean));
}
__device__ __forceinline__ void store_out_vec(const uint4& packed, const __nv_bfloat16* w, const __nv_bfloat16* bias,
                                              __nv_bfloat16* n_out, size_t base, int i, float mean, float rstd) {
  float y[8], wf[8], bfv[8], o[8];
  unpack8(packed, y);
  unpack8(reinterpret_cast<const uint4*>(w)[i], wf);
  unpack8(reinterpret_cast<const uint4*>(bias)[i], bfv);
#pragma unroll
  for (int e = 0; e < 8; ++e) o[e] = post(y[e], mean, rstd, wf[e], bfv[e]);
  reinterpret_cast<uint4*>(n_out + base)[i] = pack8(o);
}

// ---- v2, one warp per row (H % 8 == 0, H / 8 <= 32 * kVecs, 16-byte aligned rows) --------------------
// 8 rows per 256-thread block; lane l holds vectors l, l + 32, ... of its row.
template <int kMode, int kVecs>
__global__ void __launch_bounds__(256)
    layer_norm_v2_warp_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ a,
                              const __nv_bfloat16* __restrict__ w, const __nv_bfloat16* __restrict__ bias,
                              __nv_bfloat16* __restrict__ y_out, __nv_bfloat16* __restrict__ n_out, int rows, int H,
                              float eps) {
  const int row = static_cast<int>(blockIdx.x) * (static_cast<int>(blockDim.x) / 32) + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;  // the whole warp leaves together
  const size_t base = static_cast<size_t>(row) * H;
  const int nv = H / 8;
  uint4 cache[kVecs] = {};
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < kVecs; ++k)
    if (lane + 32 * k < nv) cache[k] = load_row_vec<kMode>(x, a, y_out, base, lane + 32 * k, sum);
  const float mean = warp_sum(sum) / static_cast<float>(H);
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < kVecs; ++k)
    if (lane + 32 * k < nv) add_sqdev(cache[k], mean, ss);
  const float rstd = rstd_of(warp_sum(ss), H, eps);
#pragma unroll
  for (int k = 0; k < kVecs; ++k)
    if (lane + 32 * k < nv) store_out_vec(cache[k], w, bias, n_out, base, lane + 32 * k, mean, rstd);
}

// ---- v2, one block per row -------------------------------------------------------------------------
// kVecs > 0: H % 8 == 0, H / 8 <= kThreads * kVecs, 16-byte aligned rows; the row stays in registers.
// kVecs == 0: any H, scalar strided loads; each pass re-reads (kResidual: recomputes) the values.
template <int kMode, int kThreads, int kVecs>
__global__ void __launch_bounds__(kThreads)
    layer_norm_v2_block_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ a,
                               const __nv_bfloat16* __restrict__ w, const __nv_bfloat16* __restrict__ bias,
                               __nv_bfloat16* __restrict__ y_out, __nv_bfloat16* __restrict__ n_out, int H, float eps) {
  MM_SHARED(float, sum_partials, [kThreads / 32]);
  MM_SHARED(float, ss_partials, [kThreads / 32]);
  const size_t base = static_cast<size_t>(blockIdx.x) * H;
  const int tid = static_cast<int>(threadIdx.x);
  float sum = 0.0f, ss = 0.0f;
  if constexpr (kVecs > 0) {
    const int nv = H / 8;
    uint4 cache[kVecs] = {};
#pragma unroll
    for (int k = 0; k < kVecs; ++k)
      if (tid + k * kThreads < nv) cache[k] = load_row_vec<kMode>(x, a, y_out, base, tid + k * kThreads, sum);
    const float mean = block_sum<kThreads>(sum, sum_partials) / static_cast<float>(H);
#pragma unroll
    for (int k = 0; k < kVecs; ++k)
      if (tid + k * kThreads < nv) add_sqdev(cache[k], mean, ss);
    const float rstd = rstd_of(block_sum<kThreads>(ss, ss_partials), H, eps);
#pragma unroll
    for (int k = 0; k < kVecs; ++k)
      if (tid + k * kThreads < nv) store_out_vec(cache[k], w, bias, n_out, base, tid + k * kThreads, mean, rstd);
  } else {
    auto y_at = [&](int j) { return pre<kMode>(bf(x[base + j]), kMode == kResidual ? bf(a[base + j]) : 0.0f); };
    for (int j = tid; j < H; j += kThreads) {
      const float y = y_at(j);
      if constexpr (kMode == kResidual) y_out[base + j] = __float2bfloat16(y);
      sum += y;
    }
    const float mean = block_sum<kThreads>(sum, sum_partials) / static_cast<float>(H);
    for (int j = tid; j < H; j += kThreads) ss = __fadd_rn(ss, sqdev(y_at(j), mean));
    const float rstd = rstd_of(block_sum<kThreads>(ss, ss_partials), H, eps);
    for (int j = tid; j < H; j += kThreads)
      n_out[base + j] = __float2bfloat16(post(y_at(j), mean, rstd, bf(w[j]), bf(bias[j])));
  }
}

}  // namespace layer_norm
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
