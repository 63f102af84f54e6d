// Rows rerouted by rounding-level router flips, left out of the value comparisons they would swamp.
//
// A token whose top-k expert set differs from the reference's (in the checked backend or in the ref-bf16
// budget) has an MoE output that differs by O(1) on that row: the outputs of different experts, not a
// rounding error. Whether such a flip is allowed is judged on `router_experts` alone (verdict.h: only
// where the reference margin is within twice the probability error); the rows it moves are then left out
// of the elementwise comparisons of the tensors the flip feeds, in both the backend and the budget (a
// budget row with a flip would otherwise widen the tolerance for every other row).
//   teacher-forced (per layer): rows flipped at layer l, phase p, are left out of layers.l.{moe_out,
//     router_weights, output} of that phase only (the next layer gets the reference's input again);
//   end to end (free running): rows flipped at any layer are left out of final_norm / logits of that
//     phase (prefill rows, or decode steps).
// The count is bounded (RowMask::max_fraction): a backend cannot pass by rerouting many tokens.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "harness/tensor.h"

namespace mm::harness {

// Per row of a [T, k] expert-id tensor: true where the set of ids differs from the reference's. Shapes
// that differ give no flips (the router_experts verdict fails that tensor on its own).
std::vector<bool> flipped_rows(const Tensor& ids, const Tensor& ref_ids);

struct RowMask {
  static constexpr double max_fraction = 0.25;  // of the rows considered, at most this many left out
  std::map<std::string, std::vector<bool>> drop;  // tensor name -> rows to leave out
  int64_t rows_considered = 0, rows_dropped = 0;   // over every (layer, row) or (phase, row) counted
};

// Teacher-forced runs: per layer, rows flipped in `got` or `budget` (against `ref`).
RowMask layerwise_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t layers);
// Free-running runs: rows flipped at any layer, applied to the end-to-end tensors of their phase. The
// keys are the unprefixed names ("final_norm", "logits", "decode.final_norm", "decode_logits").
RowMask end_to_end_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t layers);

// The rows of `t` (dim 0) whose `drop` entry is false; `t` itself when `drop` does not match dim 0.
Tensor keep_rows(const Tensor& t, const std::vector<bool>& drop);

}  // namespace mm::harness
