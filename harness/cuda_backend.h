// The `cuda` and `cuda-sim` backends: the whole model on the optimized kernels (optimized/model/), on the
// GPU or through the SIMT layer on the CPU. Only built with the SIMT layer (MM_SIMT).
#pragma once
#include <memory>
#include <string>

#include "harness/backend.h"

namespace mm::harness {

std::string cuda_unavailable_reason(const std::string& name);  // "" when it can run here
std::unique_ptr<Backend> make_cuda_backend(const std::string& name, const LoadedModel& m);

}  // namespace mm::harness
