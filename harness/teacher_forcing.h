// Layer-by-layer checking with teacher-forced hidden states (Polygraphy's per-layer comparison,
// anchors.md): after every decoder layer the backend's own output is recorded, then replaced by the
// reference's output of that layer, so layer l+1 runs on exactly the reference's input. Each layer is then
// judged on its own error: a kernel bug shows up in the layer that has it, and a rounding-level router
// flip in layer l (one token sent to another expert: an O(1) change of that token's MoE output) cannot
// spread through the attention of later layers into other tokens, where no elementwise bound could tell
// it from a bug. The free-running end-to-end run is judged separately (check.h, "e2e." tensors).
//
// Step order seen by the hook: the prefill call (rows = prompt length, reference "layers.L.output"),
// then one call per decode step (rows = 1, row j of "decode.layers.L.output").
#pragma once
#include <memory>
#include <string>

#include "harness/backend.h"

namespace mm::harness {

struct ForcingRecord {
  // The backend's own layer outputs, under the capture names ("layers.L.output", "decode.layers.L.output"),
  // as they were before the reference's values replaced them (after `inner`, e.g. a perturbation).
  TensorMap own;
};

// The hook: runs `inner` (may be empty) on the backend's output, records it into `rec`, then writes the
// reference's output of that layer and step. For a "bf16" backend the forced values are rounded to bf16,
// the dtype its hidden state has; f32/f64 backends convert on their side. A missing or mis-shaped
// reference output is an mm::Error naming the tensor. `first_layer`: the first layer the run goes through
// (ModelConfig::first_layer), whose call starts each step.
LayerHook forcing_hook(const TensorMap& ref, Precision precision, LayerHook inner,
                       std::shared_ptr<ForcingRecord> rec, int first_layer = 0);

// The vision tower's hook (MiniMax-VL-01): the same for vision layer L of crop c: runs `inner`, records
// the backend's own rows under "vision.layers.L.output" (crops appended in order), then writes rows
// [c * rows, (c + 1) * rows) of the reference's "vision.layers.L.output" (bf16-rounded for a bf16
// backend). A missing or mis-shaped reference tensor is an mm::Error naming it.
VisionLayerHook vision_forcing_hook(const TensorMap& ref, Precision precision, VisionLayerHook inner,
                                    std::shared_ptr<ForcingRecord> rec);

// Puts the recorded own outputs back into a captured run (whose layers.L.output are the forced values);
// a VL run's vision.features (the last vision layer's rows without CLS) is rebuilt from the own outputs.
void restore_own_outputs(TensorMap& run, const ForcingRecord& rec);

}  // namespace mm::harness
