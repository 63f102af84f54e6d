// Fragment maps (optimized/common/layouts.h) against the PTX ISA, transcribed independently:
//  (1) the formulas of "Matrix Fragments for mma.m16n8k16 with floating point type", written in the
//      PTX text's own case form (conditions on the element index), and
//  (2) individual cells of the fragment-layout figures, and of the ldmatrix section's figure and
//      address table ("Warp-level matrix load instruction: ldmatrix").
// The emulator takes its maps from layouts.h and the kernels are written to the same maps, so a
// consistent-but-wrong map would pass every other test; this file is the check against the specification.
#include <gtest/gtest.h>

#include <set>

#include "optimized/common/layouts.h"

namespace {

namespace L = mm::gpu::layout;

// ---- (1) PTX ISA case formulas, lane -> (row, col) ----------------------------------------------
int group_id(int lane) { return lane >> 2; }
int thread_id_in_group(int lane) { return lane % 4; }

L::RowCol ptx_a(int lane, int i) {  // a0..a7, .f16/.bf16
  const int row = ((0 <= i && i < 2) || (4 <= i && i < 6)) ? group_id(lane) : group_id(lane) + 8;
  const int col = i < 4 ? thread_id_in_group(lane) * 2 + (i & 0x1) : thread_id_in_group(lane) * 2 + (i & 0x1) + 8;
  return {row, col};
}
L::RowCol ptx_b(int lane, int i) {  // b0..b3
  const int row = i < 2 ? thread_id_in_group(lane) * 2 + (i & 0x1) : thread_id_in_group(lane) * 2 + (i & 0x1) + 8;
  return {row, group_id(lane)};
}
L::RowCol ptx_c(int lane, int i) {  // c0..c3, .f32
  const int row = i < 2 ? group_id(lane) : group_id(lane) + 8;
  return {row, thread_id_in_group(lane) * 2 + (i & 0x1)};
}

TEST(SimtLayouts, MmaM16n8k16MatchesPtxFormulas) {
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(L::mma_m16n8k16_a(lane, i).row, ptx_a(lane, i).row) << lane << " a" << i;
      EXPECT_EQ(L::mma_m16n8k16_a(lane, i).col, ptx_a(lane, i).col) << lane << " a" << i;
    }
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(L::mma_m16n8k16_b(lane, i).row, ptx_b(lane, i).row) << lane << " b" << i;
      EXPECT_EQ(L::mma_m16n8k16_b(lane, i).col, ptx_b(lane, i).col) << lane << " b" << i;
      EXPECT_EQ(L::mma_m16n8k16_c(lane, i).row, ptx_c(lane, i).row) << lane << " c" << i;
      EXPECT_EQ(L::mma_m16n8k16_c(lane, i).col, ptx_c(lane, i).col) << lane << " c" << i;
    }
  }
}

// ---- (2) cells of the PTX figures: {lane, element, row, col} ------------------------------------
struct Cell {
  int lane, elem, row, col;
};

TEST(SimtLayouts, MmaM16n8k16MatchesPtxFigures) {
  // Figure "MMA .m16n8k16 fragment layout for matrix A with .f16/.bf16 type".
  const Cell a[] = {{0, 0, 0, 0}, {0, 1, 0, 1}, {1, 0, 0, 2}, {3, 1, 0, 7}, {4, 0, 1, 0},
                    {0, 2, 8, 0}, {0, 3, 8, 1}, {0, 4, 0, 8}, {0, 5, 0, 9}, {0, 6, 8, 8},
                    {0, 7, 8, 9}, {31, 0, 7, 6}, {31, 1, 7, 7}, {31, 2, 15, 6}, {31, 5, 7, 15},
                    {31, 6, 15, 14}, {31, 7, 15, 15}, {13, 4, 3, 10}};
  for (const Cell& c : a) {
    EXPECT_EQ(L::mma_m16n8k16_a(c.lane, c.elem).row, c.row) << "A T" << c.lane << " a" << c.elem;
    EXPECT_EQ(L::mma_m16n8k16_a(c.lane, c.elem).col, c.col) << "A T" << c.lane << " a" << c.elem;
  }
  // Figure "... layout for matrix B with .f16/.bf16 type": rows are K, columns N.
  const Cell b[] = {{0, 0, 0, 0}, {0, 1, 1, 0}, {0, 2, 8, 0}, {0, 3, 9, 0}, {1, 0, 2, 0},
                    {3, 1, 7, 0}, {4, 0, 0, 1}, {31, 0, 6, 7}, {31, 3, 15, 7}, {18, 2, 12, 4}};
  for (const Cell& c : b) {
    EXPECT_EQ(L::mma_m16n8k16_b(c.lane, c.elem).row, c.row) << "B T" << c.lane << " b" << c.elem;
    EXPECT_EQ(L::mma_m16n8k16_b(c.lane, c.elem).col, c.col) << "B T" << c.lane << " b" << c.elem;
  }
  // Figure "... layout for accumulator matrix C/D" (.f32).
  const Cell cd[] = {{0, 0, 0, 0}, {0, 1, 0, 1}, {0, 2, 8, 0}, {0, 3, 8, 1}, {1, 0, 0, 2},
                     {5, 1, 1, 3}, {31, 0, 7, 6}, {31, 3, 15, 7}};
  for (const Cell& c : cd) {
    EXPECT_EQ(L::mma_m16n8k16_c(c.lane, c.elem).row, c.row) << "C T" << c.lane << " c" << c.elem;
    EXPECT_EQ(L::mma_m16n8k16_c(c.lane, c.elem).col, c.col) << "C T" << c.lane << " c" << c.elem;
  }
}

TEST(SimtLayouts, LdmatrixMatchesPtx) {
  // Figure "ldmatrix fragment for one 8x8 matrix": row r is held by threads 4r..4r+3, each thread two
  // consecutive b16 elements; T0 {row 0, cols 0,1}, T1 {row 0, cols 2,3}, T7 {row 1, cols 6,7} ...
  const Cell m[] = {{0, 0, 0, 0}, {0, 1, 0, 1}, {1, 0, 0, 2}, {3, 1, 0, 7}, {7, 0, 1, 6}, {31, 1, 7, 7}};
  for (const Cell& c : m) {
    EXPECT_EQ(L::ldmatrix_m8n8(c.lane, c.elem, false).row, c.row);
    EXPECT_EQ(L::ldmatrix_m8n8(c.lane, c.elem, false).col, c.col);
    // .trans: the thread receives the element of the transposed matrix at that position.
    EXPECT_EQ(L::ldmatrix_m8n8(c.lane, c.elem, true).row, c.col);
    EXPECT_EQ(L::ldmatrix_m8n8(c.lane, c.elem, true).col, c.row);
  }
  // Address table: .x1 threads 0-7 give rows 0-7 of matrix 0; .x2 adds threads 8-15 for matrix 1;
  // .x4 adds 16-23 (matrix 2) and 24-31 (matrix 3).
  for (int j = 0; j < 4; ++j)
    for (int r = 0; r < 8; ++r) EXPECT_EQ(L::ldmatrix_row_lane(j, r), 8 * j + r);
}

// Every fragment covers its matrix exactly once (as CUTLASS's TV-layout tests check).
TEST(SimtLayouts, FragmentsCoverEachElementOnce) {
  std::set<std::pair<int, int>> a, b, c, m;
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 8; ++i) a.insert({L::mma_m16n8k16_a(lane, i).row, L::mma_m16n8k16_a(lane, i).col});
    for (int i = 0; i < 4; ++i) b.insert({L::mma_m16n8k16_b(lane, i).row, L::mma_m16n8k16_b(lane, i).col});
    for (int i = 0; i < 4; ++i) c.insert({L::mma_m16n8k16_c(lane, i).row, L::mma_m16n8k16_c(lane, i).col});
    for (int h = 0; h < 2; ++h) m.insert({L::ldmatrix_m8n8(lane, h, false).row, L::ldmatrix_m8n8(lane, h, false).col});
  }
  EXPECT_EQ(a.size(), 256u);
  EXPECT_EQ(b.size(), 128u);
  EXPECT_EQ(c.size(), 128u);
  EXPECT_EQ(m.size(), 64u);
  for (auto [r, col] : a) EXPECT_TRUE(r < 16 && col < 16);
  for (auto [r, col] : b) EXPECT_TRUE(r < 16 && col < 8);
  for (auto [r, col] : c) EXPECT_TRUE(r < 16 && col < 8);
}

// The maps are usable at compile time (the kernels rely on it for index arithmetic).
static_assert(L::mma_m16n8k16_a(5, 7).row == 9 && L::mma_m16n8k16_a(5, 7).col == 11);
static_assert(L::mma_m16n8k16_c(31, 3).row == 15 && L::mma_m16n8k16_c(31, 3).col == 7);

}  // namespace
