// The Eigen reference as a harness backend: ref-f64 (the oracle), ref-f32, ref-bf16 (official bf16
// rounding, the "naive low-precision" error budget of the verdict).
#pragma once
#include <memory>

#include "harness/backend.h"

namespace mm::harness {

std::unique_ptr<Backend> make_ref_backend(Precision precision, const LoadedModel& m);

}  // namespace mm::harness
