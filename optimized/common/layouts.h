// Fragment layouts of the warp-level tensor-core instructions, written once. The CPU emulation of mma and
// ldmatrix (ptx.cuh) is built on them; of the kernels, the shared GEMM tile (tile_gemm.cuh: the MoE grouped
// GEMM, the fused vision Linear and patch_embed v3) and the proof GEMM (proof/gemm_bf16.cuh) use
// mma_m16n8k16_c to place accumulators in their epilogues, and the other tensor-core kernels load
// fragments with ldmatrix and index accumulators inline. They are tested against entries transcribed from
// the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point type", "Warp-level matrix load
// instruction: ldmatrix") in tests/simt/layouts_test.cpp.
//
// Notation as in the PTX ISA: groupID g = lane >> 2, threadID_in_group t = lane % 4.
#pragma once

#if defined(__CUDACC__)
#define MM_HD __host__ __device__
#else
#define MM_HD
#endif

namespace mm::gpu::layout {

struct RowCol {
  int row, col;
};

// mma.m16n8k16, A (16x16, .row), .f16/.bf16: four .b32 registers hold elements a0..a7; element e
// is in register e / 2, low half if e is even.
constexpr MM_HD RowCol mma_m16n8k16_a(int lane, int e) {
  const int g = lane >> 2, t = lane & 3;
  return {g + 8 * ((e >> 1) & 1), 2 * t + (e & 1) + 8 * (e >> 2)};
}

// mma.m16n8k16, B (16x8 = K x N, .col): two .b32 registers hold b0..b3; returns {k, n}.
constexpr MM_HD RowCol mma_m16n8k16_b(int lane, int e) {
  const int g = lane >> 2, t = lane & 3;
  return {2 * t + (e & 1) + 8 * (e >> 1), g};
}

// mma.m16n8k16, C and D (16x8) with .f32: four registers c0..c3.
constexpr MM_HD RowCol mma_m16n8k16_c(int lane, int e) {
  const int g = lane >> 2, t = lane & 3;
  return {g + 8 * (e >> 1), 2 * t + (e & 1)};
}

// ldmatrix .m8n8 .b16: in matrix j, lane `lane` receives two elements, `half` 0 (low 16 bits) and 1.
// Returns {row, col} of the 8x8 matrix as it sits in shared memory (rows at the supplied addresses).
constexpr MM_HD RowCol ldmatrix_m8n8(int lane, int half, bool trans) {
  return trans ? RowCol{2 * (lane & 3) + half, lane >> 2} : RowCol{lane >> 2, 2 * (lane & 3) + half};
}

// ldmatrix: the lane whose address gives row `row` of matrix `j` (.x1 uses lanes 0-7, .x2 0-15,
// .x4 all 32).
constexpr MM_HD int ldmatrix_row_lane(int j, int row) { return 8 * j + row; }

}  // namespace mm::gpu::layout
