// Epilogues of the MiniMax-VL-01 vision tower's and projector's linear layers (docs/semantics/vl-01-vision.md,
// "BF16 rounding points": "Linear layers", "GELU", "Residual adds"). The GEMM (optimized/common/gemm.h:
// cuBLAS on the GPU, a host loop in the SIMT build) leaves C = x W^T in fp32, [m, n]; these kernels turn it
// into the stored bf16 tensors, in three modes (b [n] bf16, h and every output [m, n] bf16):
//   kBias:         y = bf16(C + b)                                 q/k/v_proj, linear_2 (ref::linear_bias)
//   kBiasGelu:     t = bf16(C + b);                                fc1, linear_1, then the exact GELU on the
//                  y = bf16((t * 0.5) * (1 + erf(t * fl32(1/sqrt(2)))))   stored linear output (gelu_erf_stored)
//   kBiasResidual: m = bf16(C + b);  y = bf16(h + m)               fc2, out_proj, then the encoder layer's
//                                                                  residual add of the rounded sub-layer output
// All arithmetic in fp32, each operation rounded separately (__fadd_rn / __fmul_rn: nvcc would otherwise
// contract (t * 0.5) * (1 + e) into an FMA, which rounds once and gives other bits than the reference);
// the host build runs with -ffp-contract=off. The only function call is erff: CUDA's (2 ulp) on the GPU,
// the host's (glibc, 1 ulp) in the SIMT build; the reference uses SLEEF's (1 ulp), so a GELU output may be
// the neighbouring bf16 value where the fp32 product lies within the erf difference of a bf16 rounding
// boundary (tests/optimized/vision_mlp_test.cpp measures and bounds it). kBias and kBiasResidual are the
// ref-bf16 bits exactly.
// Versions of the epilogue alone (memory-bound: 4 bytes of C read and 2 (4, 6 in kBiasResidual) bytes
// written per element):
//   v1: one thread per element.
//   v2: one thread per 8 elements of a row: two 16-byte fp32 loads of C, one 16-byte load of b (and h),
//       one 16-byte bf16 store of y (and m), when n % 8 == 0 and every pointer is 16-byte aligned; a
//       scalar loop over 8 consecutive elements otherwise.
// Versions of the whole Linear (x [m, k], W [n, k] -> y, m_out):
//   v1: the shared GEMM (cuBLAS) into the fp32 C workspace, then the preferred epilogue version above.
//   v2: one tensor-core kernel (vision_linear_mma_kernel below): the shared tile main loop
//       (optimized/common/tile_gemm.cuh) and the same epilogue<kMode> applied to the accumulators in
//       registers, so C never goes to memory (fc1 at 19 crops: 10963 x 4096 fp32 = 180 MB written and read
//       back by v1). Needs k % 8 == 0, n % 8 == 0, 16-byte aligned x and W, and 4-byte aligned b, h, y
//       and m_out (bf16 pairs).
// Both Linear versions accumulate in fp32 in their own order; the epilogue rounds the same way.
#pragma once
#include "optimized/common/bf16x8.cuh"
#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/tile_gemm.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {
namespace vision_mlp {

enum Mode : int { kBias = 0, kBiasGelu = 1, kBiasResidual = 2 };

// fl32(1/sqrt(2)): the python float constant in fp32 opmath (reference: constant<BF16>(0.7071...)).
constexpr float kRsqrt2 = 0.70710678118654752440f;

__device__ __forceinline__ float bf(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }

// The exact GELU of a stored (bf16-exact) value t, in PyTorch's operation order, before the bf16 store.
__device__ __forceinline__ float gelu_erf(float t) {
  const float e = erff(__fmul_rn(t, kRsqrt2));
  return __fmul_rn(__fmul_rn(t, 0.5f), __fadd_rn(1.0f, e));
}

// One element: c the fp32 GEMM output, b the bias, h the residual (kBiasResidual only). Returns y (fp32,
// bf16-exact); in kBiasResidual `m` receives the rounded linear output.
template <int kMode>
__device__ __forceinline__ float epilogue(float c, float b, float h, float& m) {
  const float t = rbf(__fadd_rn(c, b));  // the linear layer's one rounding
  if constexpr (kMode == kBiasGelu) {
    return rbf(gelu_erf(t));
  } else if constexpr (kMode == kBiasResidual) {
    m = t;
    return rbf(__fadd_rn(h, t));
  } else {
    return t;
  }
}

// ---- v1: one thread per element ----------------------------------------------------------------------
// c [m, n] fp32; bias [n]; h, m_out (kBiasResidual only), y [m, n]; total = m * n.
template <int kMode>
__global__ void vision_mlp_v1_kernel(const float* __restrict__ c, const __nv_bfloat16* __restrict__ bias,
                                     const __nv_bfloat16* __restrict__ h, __nv_bfloat16* __restrict__ y,
                                     __nv_bfloat16* __restrict__ m_out, size_t total, int n) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int col = static_cast<int>(i % static_cast<size_t>(n));
  float m = 0.0f;
  const float out = epilogue<kMode>(c[i], bf(bias[col]), kMode == kBiasResidual ? bf(h[i]) : 0.0f, m);
  y[i] = __float2bfloat16(out);
  if constexpr (kMode == kBiasResidual) m_out[i] = __float2bfloat16(m);
}

using bf16x8::pack2;  // optimized/common/bf16x8.cuh
using bf16x8::pack8;
using bf16x8::unpack8;

// ---- v2, vectorised (n % 8 == 0, 16-byte aligned pointers) ---------------------------------------------
// Thread g handles elements [8 g, 8 g + 8) of the flat [m, n] array, all in one row (n % 8 == 0), columns
// 8 (g % (n / 8)) onward. vecs = m * n / 8.
template <int kMode>
__global__ void __launch_bounds__(256)
    vision_mlp_v2_vec_kernel(const float* __restrict__ c, const __nv_bfloat16* __restrict__ bias,
                             const __nv_bfloat16* __restrict__ h, __nv_bfloat16* __restrict__ y,
                             __nv_bfloat16* __restrict__ m_out, size_t vecs, int n) {
  const size_t g = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= vecs) return;
  const int cv = static_cast<int>(g % static_cast<size_t>(n / 8));  // the column vector
  const float4 c0 = reinterpret_cast<const float4*>(c)[2 * g];
  const float4 c1 = reinterpret_cast<const float4*>(c)[2 * g + 1];
  const float cf[8] = {c0.x, c0.y, c0.z, c0.w, c1.x, c1.y, c1.z, c1.w};
  float bf8[8], hf[8] = {}, out[8], mv[8] = {};
  unpack8(reinterpret_cast<const uint4*>(bias)[cv], bf8);
  if constexpr (kMode == kBiasResidual) unpack8(reinterpret_cast<const uint4*>(h)[g], hf);
#pragma unroll
  for (int e = 0; e < 8; ++e) out[e] = epilogue<kMode>(cf[e], bf8[e], hf[e], mv[e]);
  reinterpret_cast<uint4*>(y)[g] = pack8(out);
  if constexpr (kMode == kBiasResidual) reinterpret_cast<uint4*>(m_out)[g] = pack8(mv);
}

// ---- v2, scalar (any n, any alignment) -----------------------------------------------------------------
// Thread g handles the flat elements [8 g, min(8 g + 8, total)) one at a time (they may span two rows).
template <int kMode>
__global__ void __launch_bounds__(256)
    vision_mlp_v2_scalar_kernel(const float* __restrict__ c, const __nv_bfloat16* __restrict__ bias,
                                const __nv_bfloat16* __restrict__ h, __nv_bfloat16* __restrict__ y,
                                __nv_bfloat16* __restrict__ m_out, size_t total, int n) {
  const size_t first = 8 * (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x);
  if (first >= total) return;
  const size_t end = first + 8 < total ? first + 8 : total;
  int col = static_cast<int>(first % static_cast<size_t>(n));
  for (size_t i = first; i < end; ++i) {
    float m = 0.0f;
    const float out = epilogue<kMode>(c[i], bf(bias[col]), kMode == kBiasResidual ? bf(h[i]) : 0.0f, m);
    y[i] = __float2bfloat16(out);
    if constexpr (kMode == kBiasResidual) m_out[i] = __float2bfloat16(m);
    if (++col == n) col = 0;
  }
}

// ---- Linear v2: the GEMM with the epilogue fused -----------------------------------------------------------
// x [M, K], w [N, K] (PyTorch Linear layout), bias [N]; h, m_out (kBiasResidual) and y [M, N]; all bf16.
// Grid (row tiles, column tiles): blockIdx.x runs over the row tiles, so the blocks that share one weight
// column tile are launched together and read it from L2. Needs K % 8 == 0 and N % 8 == 0 (16-byte rows
// for cp.async; a fragment's column pair (col, col + 1) then never straddles N).
template <class Tl, int kMode>
__global__ void __launch_bounds__(Tl::kThreads, Tl::kMinBlocks)
    vision_linear_mma_kernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                             const __nv_bfloat16* __restrict__ bias, const __nv_bfloat16* __restrict__ h,
                             __nv_bfloat16* __restrict__ y, __nv_bfloat16* __restrict__ m_out, int M, int N, int K) {
  const int m0 = static_cast<int>(blockIdx.x) * Tl::kBM, n0 = static_cast<int>(blockIdx.y) * Tl::kBN;
  MM_SHARED_DYN(__nv_bfloat16, smem);
  auto b_row = [&](int r) -> const __nv_bfloat16* {
    return n0 + r < N ? w + static_cast<size_t>(n0 + r) * K : nullptr;
  };
  float acc[Tl::kMI][Tl::kNI][4];
  mm::gpu::tile_gemm_mainloop<Tl>(x, M, m0, b_row, K, x, smem, acc);

  // Epilogue: bf16x2 loads and stores of column pairs (N % 8 == 0: a pair never straddles N).
  mm::gpu::tile_gemm_for_each_pair<Tl>(acc, [&](int r, int cc, float c0, float c1) {
    const int row = m0 + r, col = n0 + cc;
    if (row >= M || col >= N) return;
    const size_t at = static_cast<size_t>(row) * N + col;
    const __nv_bfloat162 b2 = *reinterpret_cast<const __nv_bfloat162*>(bias + col);
    __nv_bfloat162 h2 = b2;  // read in kBiasResidual only
    if constexpr (kMode == kBiasResidual) h2 = *reinterpret_cast<const __nv_bfloat162*>(h + at);
    float m0v = 0.0f, m1v = 0.0f;
    __nv_bfloat162 out;
    out.x = __float2bfloat16(epilogue<kMode>(c0, bf(b2.x), bf(h2.x), m0v));
    out.y = __float2bfloat16(epilogue<kMode>(c1, bf(b2.y), bf(h2.y), m1v));
    *reinterpret_cast<__nv_bfloat162*>(y + at) = out;
    if constexpr (kMode == kBiasResidual) {
      __nv_bfloat162 mv;
      mv.x = __float2bfloat16(m0v);
      mv.y = __float2bfloat16(m1v);
      *reinterpret_cast<__nv_bfloat162*>(m_out + at) = mv;
    }
  });
}

}  // namespace vision_mlp
}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
