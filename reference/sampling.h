// Next-token selection from a logits row: greedy (temperature 0) or seeded sampling with temperature,
// then top-k, then top-p (nucleus) filtering, in that order (the order HF's generate applies them).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/sampling_params.h"

namespace mm::ref {

using mm::SamplingParams;

int64_t sample_token(const std::vector<double>& logits, const SamplingParams& p, Rng& rng);

}  // namespace mm::ref
