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
#pragma once
#include "optimized/common/device.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace patch_embed {

__device__ __forceinline__ float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }

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
    out[i] = __float2bfloat16(__fadd_rn(bf(cls[j]), bf(pos[j])));
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
  out[i] = __float2bfloat16(__fadd_rn(rbf(acc), bf(pos[static_cast<size_t>(q) * D + j])));
}

// ---- v2: im2col -----------------------------------------------------------------------------------------
// One thread per (crop, patch t, ch, ky) of crops * N * C * p: writes patches[crop * N + t, (ch p + ky) p
// + kx] = bf16(pixel) for kx < p. Consecutive threads cover consecutive p-value segments of an im2col row.
__global__ void patch_embed_v2_im2col_kernel(const float* __restrict__ pixels, __nv_bfloat16* __restrict__ patches,
                                             size_t total, int C, int S, int p) {
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
  __nv_bfloat16* dst = patches + i * static_cast<size_t>(p);  // = prow * K + (ch * p + ky) * p
  for (int kx = 0; kx < p; ++kx) dst[kx] = __float2bfloat16(src[kx]);
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
  const float base = q == 0 ? bf(cls[j]) : rbf(conv[(crop * N + static_cast<size_t>(q - 1)) * D + j]);
  out[i] = __float2bfloat16(__fadd_rn(base, bf(pos[static_cast<size_t>(q) * D + j])));
}

}  // namespace patch_embed
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
