// Proof kernel 2: tiled bf16 GEMM on tensor cores, C[M,N] (f32) = A[M,K] * B[N,K]^T, all row-major
// (B in the PyTorch Linear weight layout). 64x64x32 block tiles, 4 warps of 32x32, cp.async double
// buffering, ldmatrix.x4 fragments, mma.sync.m16n8k16. M, N multiples of 64 and K of 32 (the host
// runner checks); a proof of the emulator, not a production GEMM.
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/ptx.cuh"

namespace mm::proof {
inline namespace MM_BACKEND_NS {

struct GemmTile {
  static constexpr int kM = 64, kN = 64, kK = 32;
  static constexpr int kPad = 8;  // row stride 40 elements = 80 B: rows stay 16-B aligned for ldmatrix
  static constexpr int kStride = kK + kPad;
  static constexpr int kThreads = 128;
};

// Issues this thread's cp.async copies of one 64x32 tile (rows of 4 x 16-byte chunks).
__device__ __forceinline__ void gemm_load_tile(__nv_bfloat16 (*dst)[GemmTile::kStride], const __nv_bfloat16* src,
                                               int ld) {
  constexpr int kChunks = GemmTile::kM * GemmTile::kK / 8;
#pragma unroll
  for (int c = threadIdx.x; c < kChunks; c += GemmTile::kThreads) {
    const int row = c / (GemmTile::kK / 8), col = c % (GemmTile::kK / 8) * 8;
    mm::gpu::cp_async_16(&dst[row][col], src + static_cast<size_t>(row) * ld + col);
  }
}

__global__ void __launch_bounds__(GemmTile::kThreads)
    gemm_bf16_kernel(const __nv_bfloat16* __restrict__ a, const __nv_bfloat16* __restrict__ b, float* __restrict__ c,
                     [[maybe_unused]] int m, int n, int k) {
  using T = GemmTile;
  MM_SHARED(__nv_bfloat16, a_tile, [2][T::kM][T::kStride]);
  MM_SHARED(__nv_bfloat16, b_tile, [2][T::kN][T::kStride]);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int warp_m = (warp / 2) * 32, warp_n = (warp % 2) * 32;
  const int m0 = blockIdx.y * T::kM, n0 = blockIdx.x * T::kN;
  const __nv_bfloat16* a_blk = a + static_cast<size_t>(m0) * k;
  const __nv_bfloat16* b_blk = b + static_cast<size_t>(n0) * k;

  float acc[2][4][4] = {};
  const int k_tiles = k / T::kK;
  gemm_load_tile(a_tile[0], a_blk, k);
  gemm_load_tile(b_tile[0], b_blk, k);
  mm::gpu::cp_async_commit();
  for (int kt = 0; kt < k_tiles; ++kt) {
    const int stage = kt & 1;
    if (kt + 1 < k_tiles) {  // prefetch the next tile into the other stage
      gemm_load_tile(a_tile[stage ^ 1], a_blk + (kt + 1) * T::kK, k);
      gemm_load_tile(b_tile[stage ^ 1], b_blk + (kt + 1) * T::kK, k);
    }
    mm::gpu::cp_async_commit();     // possibly empty: keeps "one group per iteration"
    mm::gpu::cp_async_wait<1>();    // this thread's copies of tile kt have landed...
    __syncthreads();                // ...and everyone's
#pragma unroll
    for (int ks = 0; ks < T::kK; ks += 16) {
      uint32_t af[2][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i)  // A 16x16: matrices (rows 0-7|8-15) x (cols 0-7|8-15) from lanes 0-31
        mm::gpu::ldmatrix_x4(af[i], &a_tile[stage][warp_m + i * 16 + lane % 16][ks + lane / 16 * 8]);
#pragma unroll
      for (int j = 0; j < 4; j += 2) {  // B: two n8 tiles per ldmatrix.x4, k halves in matrices 0/1 and 2/3
        uint32_t r[4];
        mm::gpu::ldmatrix_x4(r, &b_tile[stage][warp_n + j * 8 + lane % 8 + lane / 16 * 8][ks + (lane / 8) % 2 * 8]);
        bf[j][0] = r[0];
        bf[j][1] = r[1];
        bf[j + 1][0] = r[2];
        bf[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) mm::gpu::mma_m16n8k16_bf16(acc[i][j], af[i], bf[j], acc[i][j]);
    }
    __syncthreads();  // the stage is overwritten by the prefetch of the next iteration
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const mm::gpu::layout::RowCol p = mm::gpu::layout::mma_m16n8k16_c(lane, e);
        c[static_cast<size_t>(m0 + warp_m + i * 16 + p.row) * n + n0 + warp_n + j * 8 + p.col] = acc[i][j][e];
      }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::proof
