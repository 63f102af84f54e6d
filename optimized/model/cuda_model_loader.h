// Loading the model path (cuda_model.h) from a checkpoint, and backend selection for the CLI and the
// harness: "cuda-sim" (the kernels on the CPU through the SIMT layer) or "cuda" (nvcc build on a GPU).
// Host compiler only (uses core/).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "core/sampling_params.h"
#include "core/vl_config.h"
#include "optimized/model/cuda_model.h"

namespace mm::cuda_model {

// Every tensor rounded to bf16 (what loading the official model in bf16 does), through the one
// checkpoint-name mapping (core/text_weights.h), as ref::load_weights.
HostWeights load_host_weights(const ModelConfig& cfg, const Checkpoint& ck);
// MiniMax-VL-01's vision tower, projector and image_newline rounded to bf16, through the one vision
// name mapping (core/vision_weights.h), as ref::load_vl_weights.
VisionHostWeights load_vision_host_weights(const VlConfig& cfg, const Checkpoint& ck);
// The kernels' vision sizes of a VL config (the dims load_vision_host_weights fills in).
VisionDims vision_dims_of(const VlConfig& cfg);
// Empty when `backend` ("cuda" or "cuda-sim") can run here, else why not (e.g. "no CUDA device").
std::string unavailable_reason(const std::string& backend);
// The GPU the `cuda` backend would run on (cuda_device_name); empty without the nvcc build or a device.
std::string gpu_description();
// Loads the weights onto the backend's device; mm::Error when unavailable. With `vl` (a MiniMax-VL-01
// checkpoint; cfg is then vl->text) the vision tower and projector too, so steps may carry images.
// `weights` (--weights): Resident holds every weight on the device; Streamed keeps the decoder layers'
// large matrices in pinned host memory and streams them (ModelOptions::stream_weights); Auto is
// resolve_kernel_residency's choice.
std::unique_ptr<Model> open_model(const std::string& backend, const ModelConfig& cfg, const std::string& dir,
                                  const VlConfig* vl = nullptr, WeightResidency weights = WeightResidency::Auto);
// Auto resolved for a kernel backend: `cuda` streams when its bf16 weights and an fp32 state
// (estimate_model_bytes(cfg, 2, 4)) plus 10% for activations, scratch and caches would not fit the
// device memory free now; `cuda-sim`, whose device memory is this host's, never streams unless asked.
WeightResidency resolve_kernel_residency(const std::string& backend, const ModelConfig& cfg, WeightResidency weights);
// Model::sample with the uniform drawn from `rng` as ref::sample_token draws it: none when greedy, one
// rng.uniform() otherwise, after the parameter checks. So a generation seeded like the reference's
// consumes the same stream and, for equal logits, picks the same tokens. (NaN logits: the reference
// throws before its draw, this after it; either way the generation ends with the error.)
int64_t sample_next(Model& m, const SamplingParams& p, Rng& rng);

}  // namespace mm::cuda_model
