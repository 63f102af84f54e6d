// The next-token selection parameters and their one check, shared by the reference sampler
// (reference/sampling.h), the sampling kernels' runner (optimized/sampling) and the CUDA model.
// Header-only and free of host-library includes so nvcc-compiled code can use it too.
#pragma once
#include <cmath>

#include "core/error.h"

namespace mm {

struct SamplingParams {
  double temperature = 0.0;  // 0 = greedy (argmax, ties to the lowest id)
  int top_k = 0;             // 0 = off
  double top_p = 1.0;        // 1 = off
};

// mm::Error for parameters no sampler accepts (checked before any random draw, so a refused request
// consumes nothing of the seeded stream).
inline void check_sampling_params(double temperature, int top_k, double top_p) {
  require(temperature >= 0 && std::isfinite(temperature), "sample: temperature must be >= 0");
  require(top_k >= 0, "sample: top_k must be >= 0");
  require(top_p > 0 && top_p <= 1, "sample: top_p must be in (0, 1]");
}
inline void check_sampling_params(const SamplingParams& p) { check_sampling_params(p.temperature, p.top_k, p.top_p); }

}  // namespace mm
