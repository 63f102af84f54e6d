// Rows rerouted by rounding-level router flips, left out of the value comparisons they would swamp.
//
// A token whose top-k expert set differs from the reference's has an MoE output that differs by O(1) on
// that row: the outputs of different experts, not a rounding error. Whether such a flip is allowed is
// judged on `router_experts` alone (verdict.h: only where the reference margin is within twice the
// probability error). The rows it moves are then left out of the elementwise comparisons of the tensors
// the flip feeds, separately for the two runs:
//   rows the checked backend rerouted: out of the backend's comparison;
//   rows the ref-bf16 budget rerouted: out of the budget's error statistics only (they would widen the
//     tolerance for every other row); the backend is still compared on them.
// Which tensors, per mode:
//   teacher-forced (per layer): rows flipped at layer l, phase p, in layers.l.{moe_out, output} of that
//     phase only (the next layer gets the reference's input again);
//   end to end (free running): rows flipped at any layer, in final_norm / logits of that phase (prefill
//     rows, or decode steps).
// The backend's own flips are bounded (RowMask::max_fraction) so that it cannot pass by rerouting many
// tokens; the bound applies from min_rows_for_cap rows on (with fewer, one explained flip is already
// over a quarter, and the router_experts verdict remains the guard).
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
  static constexpr double max_fraction = 0.25;  // of the rows considered, at most this many the backend's
  static constexpr int64_t min_rows_for_cap = 16;
  std::map<std::string, std::vector<bool>> got, budget;  // tensor name -> rows to leave out of each run
  int64_t rows_considered = 0;                          // every (layer, row) or (phase, row) counted
  int64_t rows_got = 0, rows_budget = 0;                // of those, rerouted by the backend / the budget
  bool over_cap() const {
    return rows_considered >= min_rows_for_cap &&
           static_cast<double>(rows_got) > max_fraction * static_cast<double>(rows_considered);
  }
};

// Teacher-forced runs: per layer of [first_layer, end_layer) (the run's; a slice starts past 0), rows
// flipped in `got` and in `budget` (each against `ref`).
RowMask layerwise_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t first_layer,
                       int64_t end_layer);
// Free-running runs: rows flipped at any layer, applied to the end-to-end tensors of their phase. The
// keys are the unprefixed names ("final_norm", "logits", "decode.final_norm", "decode_logits", and the last
// layer's output, "layers.L.output" / "decode.layers.L.output", end to end for a slice without the head).
RowMask end_to_end_mask(const TensorMap& got, const TensorMap& budget, const TensorMap& ref, int64_t first_layer,
                        int64_t end_layer);

// The rows of `t` (dim 0) whose `drop` entry is false; `t` itself when `drop` does not match dim 0.
Tensor keep_rows(const Tensor& t, const std::vector<bool>& drop);

}  // namespace mm::harness
