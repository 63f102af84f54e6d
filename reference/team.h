// A team of threads for the reference's own loops: part 0 runs on the caller, parts 1.. on a shared pool
// of helper threads, and run_team returns when every part has finished.
//
// The pool (Eigen's ThreadPool, a dependency already) is made at the first parallel call with as many
// helpers as the BLAS thread count of that moment less one, and at least 3 (so that the tests' teams of
// up to 4 run as asked). Its workers spin briefly after a task, then sleep, so back-to-back teams (a
// decode step's GEMVs, a vision layer's passes) do not pay a wake-up each; a helper never given work only
// sleeps.
//
// Who uses it: the bf16 GEMV (gemv_bf16.h: rows of W), the vision tower (vision_encoder.h/.cpp: column
// blocks of every GEMM, heads of the attention core, rows of LayerNorm, GELU and the residual adds). A
// part's result never depends on the team's size: every output is written by one part, in the same order
// whatever the count.
#pragma once
#include <cstdint>
#include <functional>

namespace mm::ref {

// The helpers in the pool (made on the first call).
int team_helpers();

// Runs fn(part, n) for part = 0 .. n-1, part 0 on the caller, where n is `parts` capped at
// team_helpers() + 1 (every part gets the n actually run, to split its work by; the pool's size is fixed
// at its first use, so a BLAS count raised later gets no more parts). parts <= 1 runs fn(0, 1) on the
// caller alone, without touching the pool. An exception in a part is thrown again once every part has
// finished (the first one). fn must not start a team itself (a part waiting for parts queued behind the
// busy helpers would wait forever).
void run_team(int parts, const std::function<void(int part, int parts)>& fn);

// Part `part` of `parts` over n items, in contiguous blocks that are multiples of `align` but the last:
// returns the count (0 for a part past the end) and its first item in *first.
int64_t team_block(int part, int parts, int64_t n, int64_t align, int64_t* first);

// fn(i0, i1) over contiguous blocks [i0, i1) of n items (multiples of `align` but the last) that cover
// them all, on a team of blas_team_threads() parts (reference/blas_cpu.h) when `work` (values or
// multiply-adds) is at least kTeamMinWork, else on the caller alone. Each item is computed by one part,
// so for work that is local to an item (a row of LayerNorm, GELU, a bias or residual add; a column block
// of a GEMM) the result is the same either way.
inline constexpr int64_t kTeamMinWork = int64_t{1} << 15;
void team_for(int64_t n, int64_t align, int64_t work, const std::function<void(int64_t i0, int64_t i1)>& fn);

// team_for over the rows of a [rows, cols] pass.
inline void team_rows(int64_t rows, int64_t cols, const std::function<void(int64_t r0, int64_t r1)>& fn) {
  team_for(rows, 1, rows * cols, fn);
}

}  // namespace mm::ref
