// The bf16 GEMV of the weights held in bf16 (weight.h, WeightResidency::Bf16):
//   y [S, N] = x [S, K] W^T,  x fp32 row-major, W [N, K] bf16 bits row-major, y fp32 row-major,
// each y[s, n] accumulated in fp32 in the kernel's own order (two 8-lane partial sums over alternate
// 8-wide steps of k, added lane by lane, the lanes summed, then the k % 8 tail): equal to a GEMM up to
// rounding, not bit for bit. A decode step is one row and reads every weight once, so its time is the
// bytes of W: 2 a weight here against 4 for an fp32 copy.
// The rows of W are split over a team of blas_threads() threads (reference/blas_cpu.h: the same count as
// the reference's GEMMs; reference/team.h: at most its helpers plus the caller); each
// y[s, n] is computed by one thread in the same order whatever the count, so the result does not depend
// on the thread count. AVX2 + FMA when the CPU has them (gemv_bf16_avx2.cpp),
// else a portable loop.
#pragma once
#include <cstdint>

namespace mm::ref {

void gemv_bf16(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, float* y);
// out[i] = the fp32 value of the bf16 bits in[i] (exact), i < n.
void bf16_to_f32(const uint16_t* in, int64_t n, float* out);

namespace gemv_detail {
// Rows [n0, n1) of W into the columns [n0, n1) of y, every row of x. One per ISA.
using RowsFn = void (*)(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, int64_t n0, int64_t n1,
                        float* y);
void gemv_bf16_rows_portable(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, int64_t n0,
                             int64_t n1, float* y);
void gemv_bf16_rows_avx2(const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N, int64_t n0, int64_t n1,
                         float* y);
// The kernel gemv_bf16 runs on this CPU ("avx2" or "portable").
const char* gemv_bf16_isa();
// Below this many weights a product runs on the caller alone (the router: E x H).
inline constexpr int64_t kParallelMinWeights = int64_t{1} << 15;
// Part `part` of a team of `parts` over N rows: contiguous, multiples of 4 rows but the last; returns
// the count (0 for a part past the end) and its first row in *n0.
int64_t gemv_team_rows(int part, int parts, int64_t N, int64_t* n0);
// gemv_bf16 with kernel `fn` on a team of `parts` threads (capped at the helpers + 1 and at one part per
// 4 rows; 1: the caller alone). gemv_bf16 is this with the CPU's kernel and blas_threads() parts for a
// product of at least kParallelMinWeights weights.
void gemv_bf16_team(RowsFn fn, int parts, const float* x, int64_t S, int64_t K, const uint16_t* w, int64_t N,
                    float* y);
}  // namespace gemv_detail

}  // namespace mm::ref
