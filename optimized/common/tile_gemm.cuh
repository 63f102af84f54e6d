// The tensor-core main loop of one GEMM tile, written once for every kernel that keeps its accumulators
// in registers and writes its own epilogue: the MoE grouped GEMM (moe/moe.cuh) and the vision Linear with
// its epilogue fused (vision_mlp/vision_mlp.cuh).
//   acc[BM, BN] (fp32, mma fragments) = A[m0 : m0 + BM, 0 : K] * B[0 : BN, 0 : K]^T
// A row-major [rows, K] (rows at or past `rows` read as zeros), B given row by row through a functor
// b_row(r) -> a pointer to the K elements of tile row r, or nullptr (a row past the end: zeros), so that a
// kernel can interleave two weight matrices (the MoE's w1/w3 for the fused SwiGLU) or walk one plainly.
// mma.sync m16n8k16 bf16 -> fp32, ldmatrix from padded shared rows (80 bytes: conflict-free ldmatrix),
// a cp.async pipeline of kStages K-tiles of 32. Needs K % 8 == 0 and 16-byte aligned rows (every row
// pointer is a multiple of 16 bytes); K past the end and missing rows are zero-filled by cp.async.
#pragma once
#include <cstdint>

#include "optimized/common/device.cuh"
#include "optimized/common/layouts.h"
#include "optimized/common/ptx.cuh"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

// BM x BN block tile, WM x WN warps, each with a (BM / WM) x (BN / WN) warp tile of kMI x kNI mma tiles.
// 64x64 warp tiles keep the shared-memory traffic per mma low (8 ldmatrix.x4 per 32 mma); small tiles
// (BM <= 32, decode: the weight stream is the limit) keep more stages in flight.
template <int BM, int BN, int WM, int WN>
struct GemmTile {
  static constexpr int kBM = BM, kBN = BN, kBK = 32, kPad = 8, kStride = kBK + kPad;  // 80-B rows
  static constexpr int kWM = WM, kWN = WN, kThreads = 32 * kWM * kWN;
  static constexpr int kWarpM = kBM / kWM, kWarpN = kBN / kWN;
  static constexpr int kMI = kWarpM / 16, kNI = kWarpN / 8;
  static constexpr int kStages = BM <= 32 ? 8 : 4;
  static constexpr int kMinBlocks = 2;  // two CTAs per SM: <= 128 registers at 256 threads, 255 at 128
  static constexpr int kStageElems = (kBM + kBN) * kStride;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kStages) * kStageElems * 2;
  static_assert(kWarpM % 16 == 0 && kNI % 2 == 0, "warp tile");
  // The first tile row / column of warp `warp`'s warp tile.
  __device__ static int warp_row(int warp) { return (warp / kWN) * kWarpM; }
  __device__ static int warp_col(int warp) { return (warp % kWN) * kWarpN; }
};

// One block's tile: acc = A[m0.., :] B^T as above. a_rows: A's row 0 (rows rows, K columns, row stride K);
// zfill_src: any valid 16-byte aligned global address (the source operand of a zero-byte cp.async); smem: the dynamic
// shared memory, Tl::kSmemBytes. Every thread of the block calls it (it synchronises the block).
// Fragment ownership of acc[i][j][q]: row warp_row + 16 i + mma_m16n8k16_c(lane, q).row, column
// warp_col + 8 j + mma_m16n8k16_c(lane, q).col (layouts.h). m16 fragments wholly at or past `rows`
// are skipped (their accumulators stay 0).
template <class Tl, class BRow>
__device__ __forceinline__ void tile_gemm_mainloop(const __nv_bfloat16* a_rows, int rows, int m0, const BRow& b_row,
                                                   int K, const __nv_bfloat16* zfill_src, __nv_bfloat16* smem,
                                                   float (&acc)[Tl::kMI][Tl::kNI][4]) {
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int wm = Tl::warp_row(warp), wn = Tl::warp_col(warp);
  const int k_tiles = (K + Tl::kBK - 1) / Tl::kBK;

  // Per-thread copy plan, fixed for the whole K loop: every thread copies the 16-byte chunk `col` of
  // rows tid/4, tid/4 + threads/4, ... of the A and B tiles; nullptr marks a missing row (zero-filled).
  constexpr int kChunksPerRow = Tl::kBK / 8, kRowsPerPass = Tl::kThreads / kChunksPerRow;
  static_assert((Tl::kBM % kRowsPerPass == 0 || kRowsPerPass % Tl::kBM == 0) && Tl::kBN % kRowsPerPass == 0,
                "copy plan");
  constexpr int kAIters = (Tl::kBM + kRowsPerPass - 1) / kRowsPerPass, kBIters = Tl::kBN / kRowsPerPass;
  const bool a_copier = Tl::kBM >= kRowsPerPass || tid / kChunksPerRow < Tl::kBM;  // small tiles: some threads idle
  const int cp_col = tid % kChunksPerRow * 8, cp_row = tid / kChunksPerRow;
  const __nv_bfloat16* a_src[kAIters];
  const __nv_bfloat16* b_src[kBIters];
#pragma unroll
  for (int it = 0; it < kAIters; ++it) {
    const int r = cp_row + it * kRowsPerPass;
    a_src[it] = m0 + r < rows ? a_rows + static_cast<size_t>(m0 + r) * K + cp_col : nullptr;
  }
#pragma unroll
  for (int it = 0; it < kBIters; ++it) {
    const __nv_bfloat16* row = b_row(cp_row + it * kRowsPerPass);
    b_src[it] = row != nullptr ? row + cp_col : nullptr;
  }
  auto load_stage = [&](int stage, int kt) {
    __nv_bfloat16* as = smem + stage * Tl::kStageElems + cp_row * Tl::kStride + cp_col;
    __nv_bfloat16* bs = smem + stage * Tl::kStageElems + (Tl::kBM + cp_row) * Tl::kStride + cp_col;
    const int k0 = kt * Tl::kBK;
    const bool k_ok = k0 + cp_col < K;
#pragma unroll
    for (int it = 0; it < kAIters; ++it) {
      if (!a_copier) break;
      const bool ok = k_ok && a_src[it] != nullptr;
      mm::gpu::cp_async_16_zfill(as + it * kRowsPerPass * Tl::kStride, ok ? a_src[it] + k0 : zfill_src, ok ? 16u : 0u);
    }
#pragma unroll
    for (int it = 0; it < kBIters; ++it) {
      const bool ok = k_ok && b_src[it] != nullptr;
      mm::gpu::cp_async_16_zfill(bs + it * kRowsPerPass * Tl::kStride, ok ? b_src[it] + k0 : zfill_src, ok ? 16u : 0u);
    }
  };

#pragma unroll
  for (int i = 0; i < Tl::kMI; ++i)
#pragma unroll
    for (int j = 0; j < Tl::kNI; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;

#pragma unroll
  for (int s = 0; s < Tl::kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s, s);
    mm::gpu::cp_async_commit();
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    mm::gpu::cp_async_wait<Tl::kStages - 2>();  // tile kt has landed for this thread...
    __syncthreads();                            // ...for all; and stage (kt-1)%S is no longer read
    {
      const int pf = kt + Tl::kStages - 1;
      if (pf < k_tiles) load_stage(pf % Tl::kStages, pf);
      mm::gpu::cp_async_commit();  // possibly empty: one group per iteration
    }
    const __nv_bfloat16* as = smem + (kt % Tl::kStages) * Tl::kStageElems;
    const __nv_bfloat16* bs = as + Tl::kBM * Tl::kStride;
#pragma unroll
    for (int ks = 0; ks < Tl::kBK; ks += 16) {
      uint32_t af[Tl::kMI][4], bf[Tl::kNI][2];
#pragma unroll
      for (int i = 0; i < Tl::kMI; ++i)
        if (m0 + wm + i * 16 < rows)  // warp-uniform: m16 fragments wholly past the rows are skipped
          mm::gpu::ldmatrix_x4(af[i], as + (wm + i * 16 + lane % 16) * Tl::kStride + ks + lane / 16 * 8);
#pragma unroll
      for (int j = 0; j < Tl::kNI; j += 2) {
        uint32_t r4[4];
        mm::gpu::ldmatrix_x4(r4, bs + (wn + j * 8 + lane % 8 + lane / 16 * 8) * Tl::kStride + ks + (lane / 8) % 2 * 8);
        bf[j][0] = r4[0];
        bf[j][1] = r4[1];
        bf[j + 1][0] = r4[2];
        bf[j + 1][1] = r4[3];
      }
#pragma unroll
      for (int i = 0; i < Tl::kMI; ++i)
        if (m0 + wm + i * 16 < rows)
#pragma unroll
          for (int j = 0; j < Tl::kNI; ++j) mm::gpu::mma_m16n8k16_bf16(acc[i][j], af[i], bf[j], acc[i][j]);
    }
  }
}

// The epilogue walk over a thread's accumulators of tile_gemm_mainloop: f(row, col, v0, v1) for every
// pair of adjacent columns (col, col + 1) of one row it holds (mma C fragment elements (0,1) and (2,3)),
// row and col relative to the block tile. The caller adds its tile origin and checks the bounds.
template <class Tl, class F>
__device__ __forceinline__ void tile_gemm_for_each_pair(const float (&acc)[Tl::kMI][Tl::kNI][4], F&& f) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int wm = Tl::warp_row(warp), wn = Tl::warp_col(warp);
#pragma unroll
  for (int i = 0; i < Tl::kMI; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const mm::gpu::layout::RowCol p = mm::gpu::layout::mma_m16n8k16_c(lane, 2 * h);
#pragma unroll
      for (int j = 0; j < Tl::kNI; ++j) f(wm + i * 16 + p.row, wn + j * 8 + p.col, acc[i][j][2 * h], acc[i][j][2 * h + 1]);
    }
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
