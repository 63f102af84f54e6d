// The memory a run needs at its peak, predicted before anything is loaded (docs/memory.md#the-run):
// `info --backend B --prompt-len S --decode-tokens N` prints it, and forward / generate refuse a run that
// would not fit this machine with that figure.
//
// The prediction follows what the run keeps alive, phase by phase, for the reference backends (the
// resident or streamed weights, the caches, the captured tensors in the backend's scalar and in doubles,
// the logits) and for the kernels (their bf16 weights, host copy consumed as it is uploaded). It counts
// the process itself as `baseline` (the resident memory of the calling process when it is asked, the
// program and its libraries mapped), so info's figure and the run's measured peak (ru_maxrss) can be
// compared directly; docs/perf/realshape.md records such comparisons.
#pragma once
#include <cstdint>
#include <string>

#include "core/config.h"

namespace mm::harness {

struct RunMemoryRequest {
  std::string backend = "ref-f32";  // ref-f64 | ref-f32 | ref-bf16 | cuda | cuda-sim
  WeightResidency weights = WeightResidency::Auto;
  int64_t prompt = 1;      // S: prompt tokens (one prefill)
  int64_t decode = 0;      // N: decode steps after it (context S + N)
  bool all_logits = true;  // forward: every prompt row's logits [S, V]; generate: the last row only
  bool capture = true;     // forward captures every layer's output of the prefill (its dump's hidden_states)
};

struct RunMemory {
  WeightResidency residency = WeightResidency::Resident;  // the request's Auto resolved as the backend will
  // Host bytes at the peak, by part:
  uint64_t baseline = 0;     // the process before loading (program, libraries) + its GEMM and allocator workspace
  uint64_t weights = 0;      // weights held for the whole run (resident matrices, or the 1-D weights)
  uint64_t state = 0;        // lightning state + KV cache at the full context
  uint64_t transient = 0;    // the largest phase on top: working set, activations, logits, captures
  const char* peak_phase = "";  // which phase that is ("layer", "head", "step end", "decode")
  uint64_t host = 0;         // baseline + weights + state + transient
  uint64_t device = 0;       // cuda: weights + caches + activations on the GPU; 0 for the others
};

// Throws mm::Error for a backend run_memory_known refuses or a non-positive prompt.
RunMemory estimate_run_memory(const ModelConfig& c, const RunMemoryRequest& r);
// The built-in backends: ref-f64, ref-f32, ref-bf16, cuda, cuda-sim.
bool run_memory_known(const std::string& backend);

// The resident set of this process now (VmRSS), 0 where it cannot be read.
uint64_t current_resident_bytes();

}  // namespace mm::harness
