// Next-token selection from a logits row: greedy (temperature 0) or seeded sampling with temperature,
// then top-k, then top-p (nucleus) filtering, in that order (the order HF's generate applies them).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace mm::ref {

struct SamplingParams {
  double temperature = 0.0;  // 0 = greedy (argmax, ties to the lowest id)
  int top_k = 0;             // 0 = off
  double top_p = 1.0;        // 1 = off
};

int64_t sample_token(const std::vector<double>& logits, const SamplingParams& p, Rng& rng);

}  // namespace mm::ref
