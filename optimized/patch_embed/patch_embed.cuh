// Patch embedding of the MiniMax-VL-01 vision tower (docs/semantics/vl-01-vision.md, "Patch embedding" and
// "BF16 rounding points: Pixels and patch embedding"), for `crops` crops at once. Per crop, with
// side = S / p, N = side^2 patches, K = C p^2, patch t = r * side + c:
//   x     = bf16(pixels)                          [C, S, S]   the model card's cast of pixel_values
//   X[t]  = x[:, r p : r p + p, c p : c p + p]    [N, K]      im2col, columns in (ch, ky, kx) order
//   conv  = bf16(X W^T)                           [N, D]      fp32 accumulation, one bf16 rounding
//   E[0]     = bf16(cls + pos[0])                 [N + 1, D]  fp32 add, one rounding
//   E[1 + t] = bf16(conv[t] + pos[1 + t])
// (ref::patch_embed<BF16>, reference/vision_encoder.cpp). Each product x * w of two bf16 values is exact in
// fp32 (8 + 8 significant bits), so an FMA into the running sum rounds as the separate multiply and add
// do; the sums are still written __fadd_rn / __fmul_rn so that no build contracts anything else.
// The reference's conv is an Eigen fp32 GEMM whose summation order is Eigen's; no kernel reproduces it, so
// conv may be the neighbouring bf16 value where X W^T lies within the summation error of a rounding
// boundary (tests/optimized/patch_embed_test.cpp bounds every output by the error of any fp32 order).
// Versions:
//   v1: a direct convolution, one thread per output element of [crops * (N + 1), D]: the CLS row, or a
//       sequential fp32 sum over (ch, ky, kx) straight from the NCHW pixels.
//   v2: im2col (one thread per (patch, ch, ky): p bf16 values, contiguous in both the pixel row and the
//       im2col row), the shared GEMM (optimized/common/gemm.h: cuBLAS on the GPU, fp32 accumulation) into
//       fp32 conv [crops * N, D], and an epilogue (one thread per output element: the CLS row, or
//       bf16(bf16(conv) + pos)).
//   v3: the same im2col into rows padded to Kp = K rounded up to a multiple of 8 (zeros past K: 588 -> 592
//       at the released geometry, so every row is 16-byte aligned for cp.async), the weight copied once per
//       call into [D, Kp] likewise, then one tensor-core GEMM (the shared tile main loop,
//       optimized/common/tile_gemm.cuh) whose epilogue writes bf16(bf16(acc) + pos) straight into the
//       patch rows of `out` (row crop * (N + 1) + 1 + t) and whose first row of blocks writes the CLS rows:
//       conv never goes to memory. The zero columns add exact zeros to every sum. Needs D % 8 == 0.
#pragma once
#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/tile_gemm.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace patch_embed {

__device__ __forceinline__ float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }

// The two stored values, written once for every version: a CLS row bf16(cls + pos[0]) (fp32 add, one
// rounding), a patch row bf16(bf16(conv) + pos[1 + t]) (the conv's own rounding, then the add's).
__device__ __forceinline__ __nv_bfloat16 cls_value(float cls, float pos) { return __float2bfloat16(__fadd_rn(cls, pos)); }
__device__ __forceinline__ __nv_bfloat16 patch_value(float conv, float pos) {
  return __float2bfloat16(__fadd_rn(rbf(conv), pos));
}

// ---- v1: direct convolution, one thread per output element --------------------------------------------
// pixels [crops, C, S, S] fp32; w [D, K]; cls [D]; pos [N + 1, D]; out [crops * (N + 1), D].
__global__ void patch_embed_v1_kernel(const float* __restrict__ pixels, const __nv_bfloat16* __restrict__ w,
                                      const __nv_bfloat16* __restrict__ cls, const __nv_bfloat16* __restrict__ pos,
                                      __nv_bfloat16* __restrict__ out, size_t total, int C, int S, int p, int D) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int side = S / p, N = side * side, K = C * p * p;
  const size_t row = i / static_cast<size_t>(D);
  const int j = static_cast<int>(i % static_cast<size_t>(D));
  const size_t crop = row / static_cast<size_t>(N + 1);
  const int q = static_cast<int>(row % static_cast<size_t>(N + 1));  // position within the crop
  if (q == 0) {
    out[i] = cls_value(bf(cls[j]), bf(pos[j]));
    return;
  }
  const int t = q - 1, r = t / side, c = t % side;
  const float* img = pixels + crop * static_cast<size_t>(C) * S * S;
  const __nv_bfloat16* wj = w + static_cast<size_t>(j) * K;
  float acc = 0.0f;
  for (int ch = 0; ch < C; ++ch)
    for (int ky = 0; ky < p; ++ky) {
      const float* src = img + (static_cast<size_t>(ch) * S + static_cast<size_t>(r * p + ky)) * S + c * p;
      const __nv_bfloat16* wk = wj + (ch * p + ky) * p;
      for (int kx = 0; kx < p; ++kx) acc = __fadd_rn(acc, __fmul_rn(rbf(src[kx]), bf(wk[kx])));
    }
  out[i] = patch_value(acc, bf(pos[static_cast<size_t>(q) * D + j]));
}

// ---- v2 and v3: im2col -----------------------------------------------------------------------------------
// One thread per (crop, patch t, ch, ky) of crops * N * C * p: writes patches[crop * N + t, (ch p + ky) p
// + kx] = bf16(pixel) for kx < p, rows `ld` elements apart (ld >= K = C p p); the thread of the last
// (ch, ky) segment of a row also zeroes its pad columns [K, ld). Consecutive threads cover consecutive
// p-value segments of an im2col row.
__global__ void patch_embed_im2col_kernel(const float* __restrict__ pixels, __nv_bfloat16* __restrict__ patches,
                                          size_t total, int C, int S, int p, int ld) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int side = S / p, N = side * side;
  const int ky = static_cast<int>(i % static_cast<size_t>(p));
  const size_t rest = i / static_cast<size_t>(p);
  const int ch = static_cast<int>(rest % static_cast<size_t>(C));
  const size_t prow = rest / static_cast<size_t>(C);  // crop * N + t
  const size_t crop = prow / static_cast<size_t>(N);
  const int t = static_cast<int>(prow % static_cast<size_t>(N)), r = t / side, c = t % side;
  const float* src =
      pixels + ((crop * C + static_cast<size_t>(ch)) * S + static_cast<size_t>(r * p + ky)) * S + c * p;
  __nv_bfloat16* row = patches + prow * static_cast<size_t>(ld);
  __nv_bfloat16* dst = row + (ch * p + ky) * p;
  for (int kx = 0; kx < p; ++kx) dst[kx] = __float2bfloat16(src[kx]);
  if (ch == C - 1 && ky == p - 1)
    for (int k = C * p * p; k < ld; ++k) row[k] = __float2bfloat16(0.0f);
}

// ---- v2: epilogue ---------------------------------------------------------------------------------------
// One thread per output element of [crops * (N + 1), D]; conv [crops * N, D] fp32 from the GEMM.
__global__ void patch_embed_v2_epilogue_kernel(const float* __restrict__ conv, const __nv_bfloat16* __restrict__ cls,
                                               const __nv_bfloat16* __restrict__ pos, __nv_bfloat16* __restrict__ out,
                                               size_t total, int N, int D) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const size_t row = i / static_cast<size_t>(D);
  const int j = static_cast<int>(i % static_cast<size_t>(D));
  const size_t crop = row / static_cast<size_t>(N + 1);
  const int q = static_cast<int>(row % static_cast<size_t>(N + 1));
  const float p = bf(pos[static_cast<size_t>(q) * D + j]);
  out[i] = q == 0 ? cls_value(bf(cls[j]), p) : patch_value(conv[(crop * N + static_cast<size_t>(q - 1)) * D + j], p);
}

// ---- v3: the weight padded to Kp, one thread per element of [D, Kp] --------------------------------------
__global__ void patch_embed_v3_pad_weight_kernel(const __nv_bfloat16* __restrict__ w, __nv_bfloat16* __restrict__ w_pad,
                                                 size_t total, int K, int Kp) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const size_t j = i / static_cast<size_t>(Kp);
  const int k = static_cast<int>(i % static_cast<size_t>(Kp));
  w_pad[i] = k < K ? w[j * static_cast<size_t>(K) + k] : __float2bfloat16(0.0f);
}

// ---- v3: the GEMM with the CLS / position epilogue fused -----------------------------------------------
// patches [crops * N, Kp] and w_pad [D, Kp] (im2col and pad kernels above); cls [D]; pos [N + 1, D];
// out [crops * (N + 1), D]. Grid (row tiles of the crops * N patch rows, column tiles of D).
template <class Tl>
__global__ void __launch_bounds__(Tl::kThreads, Tl::kMinBlocks)
    patch_embed_v3_mma_kernel(const __nv_bfloat16* __restrict__ patches, const __nv_bfloat16* __restrict__ w_pad,
                              const __nv_bfloat16* __restrict__ cls, const __nv_bfloat16* __restrict__ pos,
                              __nv_bfloat16* __restrict__ out, int crops, int N, int D, int Kp) {
  const int M = crops * N;
  const int m0 = static_cast<int>(blockIdx.x) * Tl::kBM, n0 = static_cast<int>(blockIdx.y) * Tl::kBN;
  if (blockIdx.x == 0) {  // the CLS row of every crop, this block's columns: bf16(cls + pos[0])
    for (int e = threadIdx.x; e < crops * Tl::kBN; e += blockDim.x) {
      const int crop = e / Tl::kBN, j = n0 + e % Tl::kBN;
      if (j < D)
        out[static_cast<size_t>(crop) * (N + 1) * D + j] = cls_value(bf(cls[j]), bf(pos[j]));
    }
  }
  MM_SHARED_DYN(__nv_bfloat16, smem);
  auto b_row = [&](int r) -> const __nv_bfloat16* {
    return n0 + r < D ? w_pad + static_cast<size_t>(n0 + r) * Kp : nullptr;
  };
  float acc[Tl::kMI][Tl::kNI][4];
  mm::gpu::tile_gemm_mainloop<Tl>(patches, M, m0, b_row, Kp, patches, smem, acc);

  // Epilogue: patch row r = crop * N + t goes to output row crop * (N + 1) + 1 + t = r + crop + 1;
  // bf16x2 column pairs (D % 8 == 0: a pair never straddles D).
  mm::gpu::tile_gemm_for_each_pair<Tl>(acc, [&](int rr, int cc, float c0, float c1) {
    const int r = m0 + rr, col = n0 + cc;
    if (r >= M || col >= D) return;
    const int crop = r / N, t = r - crop * N;
    const __nv_bfloat162 p2 = *reinterpret_cast<const __nv_bfloat162*>(pos + static_cast<size_t>(t + 1) * D + col);
    __nv_bfloat162 v;
    v.x = patch_value(c0, bf(p2.x));
    v.y = patch_value(c1, bf(p2.y));
    *reinterpret_cast<__nv_bfloat162*>(out + static_cast<size_t>(r + crop + 1) * D + col) = v;
  });
}

}  // namespace patch_embed
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
